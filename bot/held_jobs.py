"""The outbox jobs one process holds, and the heartbeat that keeps their leases alive.

A claimed job is leased for a short time (``OOR_JOB_LEASE_SECONDS``, 15 s by default). While
the process holds it — waiting for a thread, running, however long it runs (a Slack call
waiting out ``Retry-After``, a slow upload) — a heartbeat renews the leases of all its jobs in
one UPDATE every third of the lease. A process that dies stops renewing, so its work is free
again within one lease of its last beat; a live one never loses a job to another replica
unless it cannot reach the database for a whole lease.

Stopping gives work back instead of letting leases run out: jobs not started are released
at once, jobs still running when the grace period ends are released then.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import structlog

from bot.domain.clock import Clock
from bot.storage import jobs
from bot.storage.db import Database
from bot.storage.jobs import ClaimedJob

log = structlog.get_logger(__name__)

QUEUED, RUNNING, FINISHING = "queued", "running", "finishing"


@dataclass
class _Held:
    job: ClaimedJob
    state: str = QUEUED


class HeldJobs:
    """Which jobs this process holds and how far each has got. Thread-safe."""

    def __init__(self, db: Database, clock: Clock, owner: str, lease: timedelta) -> None:
        self._db = db
        self._clock = clock
        self._owner = owner
        self._lease = lease
        self._changed = threading.Condition()
        self._held: dict[int, _Held] = {}
        self._released: set[int] = set()
        self._closed = False
        self._waiting_over = False

    # -- bookkeeping -------------------------------------------------------------------------
    def add(self, claimed: list[ClaimedJob]) -> list[ClaimedJob] | None:
        """Hold newly claimed jobs; returns those to run, or None when closed (the caller
        gives them back).

        A job this process already holds is not run a second time: its lease ran out
        while it ran (renewals failed for a whole lease, or a test's clock jumped) and the
        poller claimed it again. The running attempt goes on, now with a fresh lease.
        """
        fresh: list[ClaimedJob] = []
        with self._changed:
            if self._closed:
                return None
            for job in claimed:
                if job.id in self._held:
                    log.warning("outbox_held_job_claimed_again", job=job.id, kind=job.kind)
                    continue
                self._held[job.id] = _Held(job)
                fresh.append(job)
        return fresh

    def start(self, job_id: int) -> bool:
        """A thread is about to run the job; False if it was given back meanwhile."""
        with self._changed:
            held = self._held.get(job_id)
            if self._closed or held is None:
                return False
            held.state = RUNNING
            return True

    def finishing(self, job_id: int) -> None:
        """The job's outcome is being written: from now on the finishing statement, not the
        heartbeat, tells whether the lease was still ours."""
        with self._changed:
            held = self._held.get(job_id)
            if held is not None:
                held.state = FINISHING

    def finished(self, job_id: int) -> None:
        with self._changed:
            self._held.pop(job_id, None)
            self._changed.notify_all()

    def was_released(self, job_id: int) -> bool:
        with self._changed:
            return job_id in self._released

    def counts(self) -> tuple[int, int]:
        """(held, of which waiting for a thread)."""
        with self._changed:
            queued = sum(1 for h in self._held.values() if h.state == QUEUED)
            return len(self._held), queued

    def close(self) -> list[ClaimedJob]:
        """Take no more work; returns the jobs not started, no longer held (to release)."""
        with self._changed:
            self._closed = True
            waiting = [i for i, h in self._held.items() if h.state == QUEUED]
            return [self._drop(i) for i in waiting]

    def wait_running(self, timeout: float) -> bool:
        """Wait until no job runs, at most ``timeout`` seconds or until :meth:`stop_waiting`.
        True when none runs."""
        with self._changed:
            return (
                self._changed.wait_for(
                    lambda: not self._held or self._waiting_over, timeout=max(0.0, timeout)
                )
                and not self._held
            )

    def stop_waiting(self) -> None:
        with self._changed:
            self._waiting_over = True
            self._changed.notify_all()

    def take_all(self) -> list[ClaimedJob]:
        """Everything still held (running past the grace period), no longer held."""
        with self._changed:
            return [self._drop(i) for i in list(self._held)]

    def _drop(self, job_id: int) -> ClaimedJob:
        self._released.add(job_id)
        return self._held.pop(job_id).job

    # -- the database --------------------------------------------------------------------------
    def renew(self) -> list[ClaimedJob]:
        """One heartbeat: extend the leases of every job held. Returns the jobs found lost
        (another worker took them over), which are no longer held."""
        with self._changed:
            ids = [i for i, h in self._held.items() if h.state != FINISHING]
        if not ids:
            return []
        with self._db.engine.begin() as conn:
            renewed = jobs.renew_leases(
                conn, ids, owner=self._owner, now=self._clock.now(), lease=self._lease
            )
        lost: list[ClaimedJob] = []
        with self._changed:
            for job_id in set(ids) - renewed:
                held = self._held.get(job_id)
                # Finished, finishing or released since: its own statement decided.
                if held is not None and held.state != FINISHING and job_id not in self._released:
                    lost.append(self._held.pop(job_id).job)
            self._changed.notify_all()
        for job in lost:
            log.error(
                "outbox_lease_lost",
                job=job.id,
                kind=job.kind,
                owner=self._owner,
                detail="another worker took the job over; this attempt's outcome will be discarded",
            )
        return lost

    def release(self, claimed: list[ClaimedJob], *, started: bool) -> int:
        """Give jobs back so any worker can claim them at once."""
        if not claimed:
            return 0
        with self._db.engine.begin() as conn:
            released = jobs.release(
                conn, [j.id for j in claimed], owner=self._owner, started=started
            )
        log.info(
            "outbox_jobs_released",
            count=len(released),
            jobs=released,
            started=started,
            kinds=sorted({j.kind for j in claimed}),
        )
        return len(released)


class Heartbeat:
    """Renews the held jobs' leases every ``interval`` seconds; after a failure (database
    unreachable) it tries again every ``retry`` seconds, saying so now and then."""

    def __init__(self, beat: Callable[[], object], interval: float, retry: float = 1.0) -> None:
        self._beat = beat
        self._interval = interval
        self._retry = min(retry, interval)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="outbox-heartbeat", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        failures = 0
        wait = self._interval
        while not self._stop.wait(wait):
            try:
                self._beat()
            except Exception as exc:
                if failures % 10 == 0:
                    log.warning(
                        "outbox_heartbeat_failed",
                        error=f"{type(exc).__name__}: {exc}",
                        failures=failures + 1,
                    )
                failures += 1
                wait = self._retry
                continue
            if failures:
                log.info("outbox_heartbeat_recovered", failures=failures)
            failures = 0
            wait = self._interval
