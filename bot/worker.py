"""The outbox worker: runs committed side effects (Slack calls) with leases and retries.

Each process runs one worker. Jobs are claimed with a lease, so several replicas on one
PostgreSQL never run the same job at once, and a job whose process died is picked up
again when its lease runs out. How an attempt ends decides what happens next:

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
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import structlog

from bot.domain.clock import Clock
from bot.metrics import Metrics
from bot.slack.gateway import SlackPermanent, SlackRateLimited, SlackTransient
from bot.storage import jobs
from bot.storage.db import Database
from bot.storage.jobs import ClaimedJob

log = structlog.get_logger(__name__)

JobHandler = Callable[[ClaimedJob], None]

MAX_BACKOFF = timedelta(minutes=5)
PERMANENT_HOLD = timedelta(hours=1)


class NotReady(Exception):
    """The job depends on work not done yet; look again in ``delay_seconds``."""

    def __init__(self, reason: str, delay_seconds: float = 2.0) -> None:
        super().__init__(reason)
        self.delay_seconds = delay_seconds


@dataclass
class WorkerOptions:
    threads: int = 4
    lease: timedelta = timedelta(seconds=120)
    poll_interval: float = 0.5
    batch: int = 16


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
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None

    # -- lifecycle -------------------------------------------------------------
    def start(self) -> None:
        try:
            with self._db.session() as session:
                released = jobs.release_attention_holds(session, now=self._clock.now())
            if released:
                log.info("outbox_parked_jobs_released", count=released)
        except Exception as exc:  # the database may not be up yet; /readyz says so
            log.warning("outbox_start_without_database", error=type(exc).__name__)
        self._pool = ThreadPoolExecutor(self._options.threads, thread_name_prefix="outbox")
        self._thread = threading.Thread(target=self._loop, name="outbox-poller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=10)
        if self._pool:
            self._pool.shutdown(wait=True, cancel_futures=False)

    def wake(self) -> None:
        """New work was committed: don't wait for the next poll."""
        self._wake.set()

    # -- running -----------------------------------------------------------------
    def _loop(self) -> None:
        assert self._pool is not None
        failures = 0
        while not self._stop.is_set():
            try:
                claimed = self._claim()
                failures = 0
            except Exception as exc:
                # Database down or not migrated: say so once in a while, not every poll.
                if failures % 20 == 0:
                    log.warning("outbox_claim_failed", error=f"{type(exc).__name__}: {exc}")
                failures += 1
                claimed = []
            if claimed:
                list(self._pool.map(self.run_job, claimed))
                continue  # more may be due right away
            self._wake.wait(min(5.0, self._options.poll_interval * (1 + failures)))
            self._wake.clear()

    # The outbox's own statements run on plain connections: they are single Core UPDATEs,
    # and an ORM session per job would cost more than the statement.
    def _claim(self) -> list[ClaimedJob]:
        with self._db.engine.begin() as conn:
            return jobs.claim_due(
                conn,
                now=self._clock.now(),
                owner=self.owner,
                lease=self._options.lease,
                limit=self._options.batch,
            )

    def run_due_jobs(self, max_rounds: int = 50) -> int:
        """Run everything due now in the calling thread (tests, CLI). Returns jobs run."""
        ran = 0
        for _ in range(max_rounds):
            claimed = self._claim()
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
                raise SlackPermanent(job.kind, "no handler for this job kind")
            handler(job)
        except NotReady as exc:
            result = "not_ready"
            self._reschedule(job, exc.delay_seconds, str(exc), count_attempt=False)
        except SlackRateLimited as exc:
            result = "rate_limited"
            self._reschedule(job, exc.retry_after, str(exc), count_attempt=False)
        except SlackPermanent as exc:
            result = "permanent_error"
            log.error(
                "outbox_job_parked", job=job.id, kind=job.kind, method=exc.method, error=exc.error
            )
            self._reschedule(job, PERMANENT_HOLD.total_seconds(), str(exc), attention=True)
        except (SlackTransient, Exception) as exc:
            result = "transient_error" if isinstance(exc, SlackTransient) else "error"
            if result == "error":
                log.exception("outbox_job_failed", job=job.id, kind=job.kind)
            else:
                log.warning("outbox_job_retry", job=job.id, kind=job.kind, error=str(exc))
            delay = backoff_for(job.attempts).total_seconds()
            self._reschedule(job, delay, f"{type(exc).__name__}: {exc}")
        else:
            with self._db.engine.begin() as conn:
                jobs.complete(conn, job.id, owner=self.owner, now=self._clock.now())
        self._metrics.jobs_finished.labels(kind=job.kind, result=result).inc()

    def _reschedule(
        self,
        job: ClaimedJob,
        delay_seconds: float,
        error: str,
        *,
        count_attempt: bool = True,
        attention: bool = False,
    ) -> None:
        now = self._clock.now()
        with self._db.engine.begin() as conn:
            jobs.retry_later(
                conn,
                job.id,
                owner=self.owner,
                run_after=now + timedelta(seconds=delay_seconds),
                error=error,
                needs_attention=attention,
                count_attempt=count_attempt,
            )
