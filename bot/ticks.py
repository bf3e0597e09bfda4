"""The process's periodic ticks (the reminder scan and sweep, the digest check) on one
APScheduler ``BackgroundScheduler``.

A tick only asks the database what is due and claims it there (a row or an outbox job
in one transaction), so every replica may tick at once and each piece of work is still
done once; the scheduler holds no state worth keeping. Each tick runs at most once at a
time (a slow one is not overtaken) and ticks missed while busy run once, not in a burst.
A tick's exception is logged and the next tick tries again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

import structlog
from apscheduler.schedulers.background import BackgroundScheduler

log = structlog.get_logger(__name__)


class DuplicateTick(ValueError):
    """Two ticks under one name: the second would silently replace the first."""


@dataclass(eq=False)
class Tick:
    """One registered tick; :meth:`cancel` and :meth:`resume` stop and restart it alone
    (tests that drive a scan by hand cancel the scheduled one)."""

    name: str
    every_seconds: float
    fn: Callable[[], None]
    # Seconds from start to the first run: ``every_seconds`` unless given (0: at start).
    first_in: float | None
    # Told when the tick is cancelled or the process stops, so a long run can end early.
    on_stop: Callable[[], None] | None
    _owner: Ticks = field(repr=False)
    # Held while the tick runs: cancelling waits for a run under way.
    _running: threading.Lock = field(default_factory=threading.Lock, repr=False)
    cancelled: bool = False

    def run(self) -> None:
        with self._running:
            try:
                self.fn()
            except Exception as exc:  # the next tick tries again
                log.warning("tick_failed", tick=self.name, error=f"{type(exc).__name__}: {exc}")

    def cancel(self) -> None:
        self._owner.cancel(self)

    def resume(self) -> None:
        self._owner.resume(self)

    @property
    def running(self) -> bool:
        """Scheduled on a started scheduler."""
        return not self.cancelled and self._owner.running


class TickHost(Protocol):
    """Where a feature registers its ticks: the :class:`~bot.wiring.Wiring` or a
    :class:`Ticks` of its own."""

    def add_tick(
        self,
        name: str,
        every_seconds: float,
        fn: Callable[[], None],
        *,
        first_in: float | None = None,
        on_stop: Callable[[], None] | None = None,
    ) -> Tick: ...


class Ticks:
    def __init__(self) -> None:
        self._ticks: dict[str, Tick] = {}
        self._scheduler: BackgroundScheduler | None = None
        self._lock = threading.Lock()

    def add_tick(
        self,
        name: str,
        every_seconds: float,
        fn: Callable[[], None],
        *,
        first_in: float | None = None,
        on_stop: Callable[[], None] | None = None,
    ) -> Tick:
        if every_seconds <= 0:
            raise ValueError(f"tick {name!r}: the interval must be positive")
        with self._lock:
            if name in self._ticks:
                raise DuplicateTick(f"a tick named {name!r} is already registered")
            tick = Tick(name, every_seconds, fn, first_in, on_stop, self)
            self._ticks[name] = tick
            if self._scheduler is not None:
                self._schedule(self._scheduler, tick)
        return tick

    def names(self) -> list[str]:
        return list(self._ticks)

    def start(self) -> None:
        with self._lock:
            if self._scheduler is not None:
                return
            scheduler = BackgroundScheduler(timezone=UTC)
            for tick in self._ticks.values():
                if not tick.cancelled:
                    self._schedule(scheduler, tick)
            scheduler.start()
            self._scheduler = scheduler

    def stop(self) -> None:
        """Tell every tick to end, then wait for those under way."""
        with self._lock:
            scheduler, self._scheduler = self._scheduler, None
        if scheduler is None:
            return
        for tick in self._ticks.values():
            if tick.on_stop is not None:
                tick.on_stop()
        scheduler.shutdown(wait=True)

    @property
    def running(self) -> bool:
        return self._scheduler is not None

    def cancel(self, tick: Tick) -> None:
        with self._lock:
            tick.cancelled = True
            scheduler = self._scheduler
            if scheduler is not None and scheduler.get_job(tick.name) is not None:
                scheduler.remove_job(tick.name)
        if tick.on_stop is not None:
            tick.on_stop()
        with tick._running:  # a run under way finishes before cancel returns
            pass

    def resume(self, tick: Tick) -> None:
        with self._lock:
            if not tick.cancelled:
                return
            tick.cancelled = False
            if self._scheduler is not None:
                self._schedule(self._scheduler, tick)

    @staticmethod
    def _schedule(scheduler: BackgroundScheduler, tick: Tick) -> None:
        first_in = tick.every_seconds if tick.first_in is None else tick.first_in
        scheduler.add_job(
            tick.run,
            "interval",
            seconds=tick.every_seconds,
            id=tick.name,
            max_instances=1,  # a slow tick is not overtaken by the next one
            coalesce=True,  # ticks missed while busy run once, not in a burst
            misfire_grace_time=max(1, int(tick.every_seconds)),
            next_run_time=datetime.now(UTC) + timedelta(seconds=first_in),
        )
