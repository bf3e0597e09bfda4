"""The weekly review digest: figures of the previous ISO week, posted to the plan's review
channel on the plan's schedule (default Monday 09:00, plan time zone), exactly once.

Every process ticks (on the app's scheduler, :mod:`bot.ticks`: every 60 s, and once at
start-up) asks: has the most recent scheduled time passed without a ``digest_run`` row
for its week? If so it claims the week (row + outbox job, one transaction; see
:mod:`bot.digest.schedule`) and the outbox worker posts it. A digest claimed more than
10 minutes after its time — the bot was down — is marked "posted late"; times scheduled
before the bot was installed are never claimed (see :mod:`bot.digest.schedule`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

import structlog

from bot.digest.schedule import (
    DEFAULT_LATE_AFTER,
    DIGEST_JOB,
    DueDigest,
    check_and_claim,
    installed_at,
)
from bot.ticks import TickHost, Ticks

if TYPE_CHECKING:
    from bot.domain.clock import Clock
    from bot.domain.plan import Plan
    from bot.storage.db import Database
    from bot.wiring import Wiring

log = structlog.get_logger(__name__)

DEFAULT_TICK_SECONDS = 60.0
TICK_NAME = "digest.check"
__all__ = ["DIGEST_JOB", "DigestScheduler", "install"]


class DigestScheduler:
    """The per-process tick that claims due digests; :meth:`check` is one tick."""

    def __init__(
        self,
        db: Database,
        plan: Plan,
        clock: Clock,
        *,
        owner: str,
        on_claimed: Callable[[], None] | None = None,
        tick_seconds: float = DEFAULT_TICK_SECONDS,
        late_after: timedelta = DEFAULT_LATE_AFTER,
        ticks: TickHost | None = None,
    ) -> None:
        self._db = db
        self._plan = plan
        self._clock = clock
        self._owner = owner
        self._on_claimed = on_claimed
        self.tick_seconds = tick_seconds
        self._late_after = late_after
        self._own_ticks = Ticks() if ticks is None else None
        host: TickHost = ticks if ticks is not None else self._own_ticks  # type: ignore[assignment]
        self._tick = host.add_tick(TICK_NAME, tick_seconds, self.check_quietly)
        if ticks is not None:
            # Until start(): the app starts its ticks whether or not a digest is due.
            self._tick.cancel()

    def check_quietly(self) -> None:
        self.check()

    def check(self) -> DueDigest | None:
        """Claim the most recent scheduled digest if nobody has; never raises."""
        try:
            claimed = check_and_claim(
                self._db,
                self._plan.digest,
                self._plan.tz,
                now=self._clock.now(),
                owner=self._owner,
                late_after=self._late_after,
            )
        except Exception as exc:  # database down: the next tick tries again
            log.warning("digest_check_failed", error=f"{type(exc).__name__}: {exc}")
            return None
        if claimed is not None and self._on_claimed is not None:
            self._on_claimed()
        return claimed

    def start(self) -> None:
        """The start-up check (a digest missed while the bot was down), then the ticks
        (the app's scheduler starts them; standing alone, a scheduler of its own)."""
        self.check()
        self._tick.resume()
        if self._own_ticks is not None:
            self._own_ticks.start()

    def stop(self) -> None:
        self._tick.cancel()
        if self._own_ticks is not None:
            self._own_ticks.stop()

    @property
    def running(self) -> bool:
        return self._tick.running


def install(wiring: Wiring) -> None:
    """Register the posting job and, with a review channel in the plan, the scheduler."""
    from bot.digest.post import DIGEST_MESSAGE, DigestPoster
    from bot.digest.views import digest_renderer

    poster = DigestPoster(wiring.db, wiring.plan, wiring.platform, wiring.clock)
    wiring.add_job_handler(DIGEST_JOB, poster.handle)
    wiring.renderers.register(DIGEST_MESSAGE, digest_renderer(wiring.plan))
    scheduler = DigestScheduler(
        wiring.db,
        wiring.plan,
        wiring.clock,
        owner=wiring.worker.owner,
        on_claimed=wiring.worker.wake,
        tick_seconds=wiring.settings.digest_tick_seconds,
        ticks=wiring,
    )
    wiring.exposed["digest.scheduler"] = scheduler
    wiring.exposed["digest.poster"] = poster
    wiring.on_start.append(lambda: _record_installation(wiring.db, wiring.clock))
    if wiring.plan.review_channel:
        # The start-up check, and the tick resumed (it starts and stops with the app's).
        wiring.on_start.append(scheduler.start)


def _record_installation(db: Database, clock: Clock) -> None:
    """At every start, so that the installation time is the first start's even while the
    plan has no review channel yet (the digest then counts from there, not from when it
    was turned on). A failure is logged; the digest's next check records it."""
    try:
        installed_at(db, clock.now())
    except Exception as exc:
        log.warning("installation_not_recorded", error=f"{type(exc).__name__}: {exc}")
