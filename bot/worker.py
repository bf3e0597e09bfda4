"""The outbox worker: runs committed side effects (Slack calls) with leases and retries.

Each process runs one worker. Jobs are claimed with a short lease that a heartbeat renews
while the process holds them (:mod:`bot.held_jobs`), so several replicas on one PostgreSQL
never run the same job at once, and a job whose process died is picked up again within
about one lease. Stopping (SIGTERM) claims nothing more, gives back the jobs not started,
lets running ones finish within a grace period and gives back the rest. How an attempt
ends decides what happens next:

- success: the job is done;
- rate limited: try again after ``Retry-After`` (not counted as a failed attempt);
- transient failure (5xx, timeout): exponential backoff, capped, forever;
- permanent failure (``invalid_auth``, ``missing_scope``): parked until a restart, logged
  with the method; never dropped;
- :class:`NotReady` (e.g. the channel does not exist yet): look again shortly.

Jobs run ``threads`` at once so that their waits on Slack overlap, but only one of them
runs Python at a time (:class:`OutboxTurn`). The webhook and slash-command paths share the
process, and with them the GIL: each of their many short waits (a database round trip, a
thread hand-off) ends by asking for the GIL back, and with four CPU-bound outbox threads
it was always held. Measured at 300 grouped webhooks/s with Slack answering in ~1 ms, the
webhook p99 was 220 ms with four outbox threads running Python freely, 35 ms with one.
"""

from __future__ import annotations

import os
import queue
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import structlog

from bot.domain.clock import Clock
from bot.held_jobs import Heartbeat, HeldJobs
from bot.metrics import Metrics
from bot.outbox.outcomes import NotReady, Permanent, RetryAfter, Transient
from bot.outbox.pauses import KindPauses
from bot.storage import jobs
from bot.storage.db import Database
from bot.storage.jobs import ClaimedJob

log = structlog.get_logger(__name__)

JobHandler = Callable[[ClaimedJob], None]

MAX_BACKOFF = timedelta(minutes=5)
PERMANENT_HOLD = timedelta(hours=1)


DEFAULT_LEASE = timedelta(seconds=15)
DEFAULT_GRACE_SECONDS = 25.0


@dataclass
class WorkerOptions:
    threads: int = 4
    # Renewed every third of it while the job is held (bot/held_jobs.py).
    lease: timedelta = DEFAULT_LEASE
    poll_interval: float = 0.5
    # Most jobs one claim takes (run_due_jobs; the running worker claims at most
    # 2 x threads, see OutboxWorker._room).
    batch: int = 16
    # Once stopping, how long running jobs get to finish before they are given back.
    grace: float = DEFAULT_GRACE_SECONDS


def backoff_for(attempt: int) -> timedelta:
    return min(MAX_BACKOFF, timedelta(seconds=2 ** min(attempt, 10)))


class OutboxTurn:
    """One outbox job at a time runs Python; the others may be waiting on Slack.

    A job takes the turn for its whole run and lends it out while it waits on the network
    (the Slack gateway calls :meth:`lent` around each request). Outside a job — a slash
    command's handler calling Slack — lending is a no-op.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._mine = threading.local()

    @contextmanager
    def taken(self) -> Iterator[None]:
        with self._lock:
            self._mine.held = True
            try:
                yield
            finally:
                self._mine.held = False

    @contextmanager
    def lent(self) -> Iterator[None]:
        if not getattr(self._mine, "held", False):
            yield
            return
        self._mine.held = False
        self._lock.release()
        try:
            yield
        finally:
            self._lock.acquire()
            self._mine.held = True


class OutboxWorker:
    def __init__(
        self,
        db: Database,
        handlers: dict[str, JobHandler],
        clock: Clock,
        metrics: Metrics,
        options: WorkerOptions | None = None,
        turn: OutboxTurn | None = None,
    ) -> None:
        self._db = db
        self._handlers = handlers
        self._clock = clock
        self._metrics = metrics
        self._options = options or WorkerOptions()
        self.turn = turn or OutboxTurn()
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.held = HeldJobs(db, clock, self.owner, self._options.lease)
        self.pauses = KindPauses()
        self._heartbeat = Heartbeat(self.heartbeat, self._options.lease.total_seconds() / 3)
        self._queue: queue.SimpleQueue[ClaimedJob | None] = queue.SimpleQueue()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        # Plain attributes, so that a signal handler may set them (see stop_claiming).
        self._claiming = True
        self._stop_asked_at: float | None = None
        self._stop_lock = threading.Lock()
        self._deadline = 0.0
        self._stopped = False
        self._poller: threading.Thread | None = None
        self._runners: list[threading.Thread] = []

    # -- lifecycle -------------------------------------------------------------
    def start(self) -> None:
        try:
            with self._db.session() as session:
                released = jobs.release_attention_holds(session, now=self._clock.now())
            if released:
                log.info("outbox_parked_jobs_released", count=released)
        except Exception as exc:  # the database may not be up yet; /readyz says so
            log.warning("outbox_start_without_database", error=type(exc).__name__)
        # Daemon threads, not a ThreadPoolExecutor: the interpreter joins an executor's
        # threads at exit, so a job stuck in a Slack call past the grace period would keep
        # the process alive after its lease was released.
        self._runners = [
            threading.Thread(target=self._run_queued, name=f"outbox-{n}", daemon=True)
            for n in range(self._options.threads)
        ]
        for runner in self._runners:
            runner.start()
        self._heartbeat.start()
        self._poller = threading.Thread(target=self._loop, name="outbox-poller", daemon=True)
        self._poller.start()

    def stop_claiming(self) -> None:
        """Claim nothing from now on. Safe in a signal handler: it only assigns attributes
        (a handler that takes a lock the interrupted thread holds would never return)."""
        if self._stop_asked_at is None:
            self._stop_asked_at = time.monotonic()
        self._claiming = False

    def begin_stop(self) -> None:
        """Claim nothing more; running jobs have the grace period from the stop request to
        finish, jobs not started are given back at once. Returns at once (the server calls
        it as soon as SIGTERM arrives; :meth:`stop` does the rest)."""
        self.stop_claiming()
        with self._stop_lock:
            if self._stopping.is_set():
                return
            assert self._stop_asked_at is not None
            self._deadline = self._stop_asked_at + self._options.grace
            self._stopping.set()
        self._wake.set()

    def end_grace(self) -> None:
        """Stop waiting for running jobs (a second Ctrl+C)."""
        self.begin_stop()
        self.held.stop_waiting()

    def stop(self) -> None:
        """Wait for running jobs until the grace period ends, then give back every job
        still held, so another replica takes it at once instead of waiting its lease out."""
        self.begin_stop()
        with self._stop_lock:
            if self._stopped:
                return
            self._stopped = True
        if self._poller is not None:
            self._poller.join(timeout=max(1.0, self._deadline - time.monotonic()))
        self._give_back(self.held.close(), started=False)  # if the poller could not
        if not self.held.wait_running(self._deadline - time.monotonic()):
            running = self.held.take_all()
            log.warning(
                "outbox_grace_period_over",
                grace_seconds=self._options.grace,
                still_running=[j.id for j in running],
            )
            self._give_back(running, started=True)
        self._heartbeat.stop()
        for _ in self._runners:
            self._queue.put(None)

    def wake(self) -> None:
        """New work was committed (or a thread came free): don't wait for the next poll."""
        self._wake.set()

    def heartbeat(self) -> list[ClaimedJob]:
        """Renew the leases of every job held; returns those found lost. The heartbeat
        thread calls it every third of the lease."""
        return self.held.renew()

    # -- running -----------------------------------------------------------------
    def _loop(self) -> None:
        failures = 0
        while self._claiming:
            self._wake.clear()
            room = self._room()
            claimed: list[ClaimedJob] = []
            if room and self._claiming:
                try:
                    claimed = self._claim(room)
                    failures = 0
                except Exception as exc:
                    # Database down or not migrated: say so once in a while, not every poll.
                    if failures % 20 == 0:
                        log.warning("outbox_claim_failed", error=f"{type(exc).__name__}: {exc}")
                    failures += 1
            if claimed:
                fresh = self.held.add(claimed)
                if fresh is None:
                    self._give_back(claimed, started=False)
                    break
                for job in fresh:
                    self._queue.put(job)
                if len(claimed) == room:
                    continue  # more may be due right away
            self._wake.wait(min(5.0, self._options.poll_interval * (1 + failures)))
        self._give_back(self.held.close(), started=False)

    def _room(self) -> int:
        """How many jobs to claim now. The queue is refilled only once it is empty, with at
        most ``threads`` jobs beyond those running: claims stay batched (one statement for
        up to 2 x threads jobs), while a job waits for a thread only briefly — and a slow
        job holds up nothing but its own thread."""
        held, queued = self.held.counts()
        if queued:
            return 0
        return max(0, min(self._options.batch, 2 * self._options.threads - held))

    def _run_queued(self) -> None:
        while (job := self._queue.get()) is not None:
            if not self._claiming or not self.held.start(job.id):
                continue  # stopping: it is given back instead
            try:
                self.run_job(job)
            except Exception as exc:  # its outcome could not be written (database down)
                log.warning(
                    "outbox_job_outcome_not_recorded",
                    job=job.id,
                    kind=job.kind,
                    error=f"{type(exc).__name__}: {exc}",
                )
            finally:
                self.held.finished(job.id)  # unrenewed, the lease runs out: tried again
                self._wake.set()

    def _give_back(self, claimed: list[ClaimedJob], *, started: bool) -> None:
        try:
            self.held.release(claimed, started=started)
        except Exception as exc:  # their leases run out instead
            log.warning(
                "outbox_release_failed",
                jobs=[j.id for j in claimed],
                error=f"{type(exc).__name__}: {exc}",
            )

    # The outbox's own statements run on plain connections: they are single Core UPDATEs,
    # and an ORM session per job would cost more than the statement.
    def _claim(self, limit: int) -> list[ClaimedJob]:
        with self._db.engine.begin() as conn:
            return jobs.claim_due(
                conn,
                now=self._clock.now(),
                owner=self.owner,
                lease=self._options.lease,
                limit=limit,
                paused=self.pauses.paused(self._clock.now()),
            )

    def run_due_jobs(self, max_rounds: int = 50) -> int:
        """Run everything due now in the calling thread (tests, CLI). Returns jobs run."""
        ran = 0
        for _ in range(max_rounds):
            claimed = self._claim(self._options.batch)
            if not claimed:
                break
            for job in claimed:
                self.run_job(job)
                ran += 1
        return ran

    def run_job(self, job: ClaimedJob) -> None:
        with self.turn.taken():
            self._run_job(job)

    def _run_job(self, job: ClaimedJob) -> None:
        handler = self._handlers.get(job.kind)
        result = "done"
        try:
            if handler is None:
                raise Permanent(job.kind, "no handler for this job kind")
            handler(job)
        except NotReady as exc:
            result = "not_ready"
            kept = self._reschedule(job, exc.delay_seconds, str(exc), count_attempt=False)
        except RetryAfter as exc:
            result = "rate_limited"
            if exc.shared:
                now = self._clock.now()
                self.pauses.pause(job.kind, now + timedelta(seconds=exc.retry_after), now)
            kept = self._reschedule(job, exc.retry_after, str(exc), count_attempt=False)
        except Permanent as exc:
            result = "permanent_error"
            log.error(
                "outbox_job_parked", job=job.id, kind=job.kind, target=exc.target, error=exc.error
            )
            kept = self._reschedule(job, PERMANENT_HOLD.total_seconds(), str(exc), attention=True)
        except (Transient, Exception) as exc:
            result = "transient_error" if isinstance(exc, Transient) else "error"
            if result == "error":
                log.exception("outbox_job_failed", job=job.id, kind=job.kind)
            else:
                log.warning("outbox_job_retry", job=job.id, kind=job.kind, error=str(exc))
            delay = backoff_for(job.attempts).total_seconds()
            kept = self._reschedule(job, delay, f"{type(exc).__name__}: {exc}")
        else:
            self.held.finishing(job.id)
            with self._db.engine.begin() as conn:
                kept = jobs.complete(conn, job.id, owner=self.owner, now=self._clock.now())
        if not kept:
            result = self._outcome_refused(job, result)
        self._metrics.jobs_finished.labels(kind=job.kind, result=result).inc()

    def _outcome_refused(self, job: ClaimedJob, outcome: str) -> str:
        """The finishing UPDATE found the job no longer ours: the outcome is dropped and
        whoever holds the job now decides (it runs again, and finds its earlier post)."""
        if self.held.was_released(job.id):
            log.warning(
                "outbox_job_finished_after_release", job=job.id, kind=job.kind, outcome=outcome
            )
            return "released"
        log.error(
            "outbox_lease_lost",
            job=job.id,
            kind=job.kind,
            owner=self.owner,
            outcome=outcome,
            detail="the job's lease ran out and another worker took it over; "
            "this attempt's outcome is discarded",
        )
        return "lease_lost"

    def _reschedule(
        self,
        job: ClaimedJob,
        delay_seconds: float,
        error: str,
        *,
        count_attempt: bool = True,
        attention: bool = False,
    ) -> bool:
        self.held.finishing(job.id)
        now = self._clock.now()
        with self._db.engine.begin() as conn:
            return jobs.retry_later(
                conn,
                job.id,
                owner=self.owner,
                run_after=now + timedelta(seconds=delay_seconds),
                error=error,
                needs_attention=attention,
                count_attempt=count_attempt,
            )
