"""Holding outbox jobs: the heartbeat keeps a live worker's jobs its own however long they
run, a lost lease is said loudly, and stopping gives back what will not be finished.

On SQLite and PostgreSQL. Lease times come from a ManualClock; where the worker's own
threads run, the test waits on events the handler sets, never on the clock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import select
from structlog.testing import capture_logs

from bot.domain.clock import ManualClock
from bot.held_jobs import Heartbeat
from bot.metrics import Metrics
from bot.storage import jobs
from bot.storage.db import Database
from bot.storage.jobs import ClaimedJob
from bot.storage.models import JobRow
from bot.worker import DEFAULT_LEASE, JobHandler, OutboxWorker, WorkerOptions
from tests.support import wait_for
from tests.test_worker import START

LEASE = DEFAULT_LEASE
BEAT = LEASE / 3
WAIT = 10  # seconds an event may take before the test fails instead of hanging


def enqueue(db: Database, clock: ManualClock, *keys: str) -> None:
    with db.session() as session:
        for key in keys:
            jobs.enqueue(session, "post", now=clock.now(), dedup_key=key, payload={"key": key})


def job(db: Database, key: str) -> JobRow:
    with db.session() as session:
        return session.exec(select(JobRow).where(JobRow.dedup_key == key)).one()


def finished(metrics: Metrics, result: str) -> float:
    value = metrics.registry.get_sample_value(
        "oor_outbox_jobs_finished_total", {"kind": "post", "result": result}
    )
    return value or 0.0


def done(_job: ClaimedJob) -> None:
    pass


def worker(
    db: Database,
    clock: ManualClock,
    handler: JobHandler = done,
    metrics: Metrics | None = None,
    **options: Any,
) -> OutboxWorker:
    options.setdefault("poll_interval", 0.01)
    return OutboxWorker(
        db, {"post": handler}, clock, metrics or Metrics(), WorkerOptions(**options)
    )


def hold(w: OutboxWorker, db: Database, clock: ManualClock) -> list[ClaimedJob]:
    """What the worker's poller does: claim, and hold what it claimed."""
    with db.engine.begin() as conn:
        claimed = jobs.claim_due(conn, now=clock.now(), owner=w.owner, lease=LEASE, limit=10)
    assert w.held.add(claimed) == claimed
    return claimed


# -- the heartbeat ------------------------------------------------------------------------------
def test_a_held_job_stays_its_workers_however_long_it_runs(db: Database) -> None:
    clock = ManualClock(START)
    mine, other = worker(db, clock), worker(db, clock)
    enqueue(db, clock, "slow")
    hold(mine, db, clock)
    for _ in range(12):  # a minute's worth of beats: four leases
        clock.advance(seconds=BEAT.total_seconds())
        assert mine.heartbeat() == []
        assert other.run_due_jobs() == 0
    assert job(db, "slow").lease_until == clock.now() + LEASE
    assert job(db, "slow").lease_owner == mine.owner


def test_a_dead_workers_job_is_taken_over_one_lease_after_its_last_beat(db: Database) -> None:
    clock = ManualClock(START)
    dead, other = worker(db, clock), worker(db, clock)
    enqueue(db, clock, "orphan")
    hold(dead, db, clock)
    clock.advance(seconds=BEAT.total_seconds())
    dead.heartbeat()  # its last beat
    clock.advance(seconds=LEASE.total_seconds())
    assert other.run_due_jobs() == 0  # the lease runs to the end of this second
    clock.advance(seconds=1)
    assert other.run_due_jobs() == 1
    assert job(db, "orphan").state == "done"


def test_a_lost_lease_is_logged_and_the_late_outcome_discarded(db: Database) -> None:
    clock = ManualClock(START)
    metrics = Metrics()
    mine = worker(db, clock, metrics=metrics)
    enqueue(db, clock, "contested")
    (claimed,) = hold(mine, db, clock)
    # The worker could not reach the database for longer than a lease.
    clock.advance(seconds=LEASE.total_seconds() + 1)
    with db.engine.begin() as conn:
        jobs.claim_due(conn, now=clock.now(), owner="other", lease=LEASE, limit=1)
    with capture_logs() as logs:
        lost = mine.heartbeat()
        mine.run_job(claimed)  # the first attempt finally ends
    assert [j.id for j in lost] == [claimed.id]
    events = [e for e in logs if e["event"] == "outbox_lease_lost"]
    assert len(events) == 2 and all(e["job"] == claimed.id for e in events)
    assert all(e["log_level"] == "error" for e in events)
    assert finished(metrics, "lease_lost") == 1
    row = job(db, "contested")
    assert (row.state, row.lease_owner) == ("pending", "other")
    assert mine.held.counts() == (0, 0)


def test_the_heartbeat_keeps_trying_while_the_database_is_unreachable() -> None:
    calls: list[int] = []
    recovered = threading.Event()

    def beat() -> None:
        calls.append(1)
        if len(calls) <= 3:
            raise ConnectionError("database unreachable")
        recovered.set()

    heartbeat = Heartbeat(beat, interval=0.05, retry=0.01)
    with capture_logs() as logs:
        heartbeat.start()
        try:
            assert recovered.wait(WAIT)
        finally:
            heartbeat.stop()
    assert len(calls) >= 4
    failures = [e for e in logs if e["event"] == "outbox_heartbeat_failed"]
    assert failures and "database unreachable" in failures[0]["error"]
    assert any(e["event"] == "outbox_heartbeat_recovered" for e in logs)


# -- stopping ------------------------------------------------------------------------------------
class Blocking:
    """A handler whose first job runs until the test lets it finish."""

    def __init__(self) -> None:
        self.running = threading.Event()
        self.may_finish = threading.Event()
        self.ran: list[str] = []

    def __call__(self, job: ClaimedJob) -> None:
        self.ran.append(job.payload["key"])
        if len(self.ran) == 1:
            self.running.set()
            assert self.may_finish.wait(WAIT)


@pytest.fixture
def blocking() -> Iterator[Blocking]:
    handler = Blocking()
    yield handler
    handler.may_finish.set()  # never leave a thread blocked behind a failed test


def test_stopping_gives_back_waiting_jobs_at_once_and_lets_the_running_one_finish(
    db: Database, blocking: Blocking
) -> None:
    clock = ManualClock(START)
    w = worker(db, clock, blocking, threads=1, grace=WAIT)
    enqueue(db, clock, "running", "waiting")
    w.start()
    try:
        assert blocking.running.wait(WAIT)
        wait_for(lambda: w.held.counts() == (2, 1), what="one running, one waiting")
        w.begin_stop()
        wait_for(lambda: job(db, "waiting").lease_until is None, what="the waiting job given back")
        waiting = job(db, "waiting")
        assert (waiting.state, waiting.lease_owner, waiting.attempts) == ("pending", None, 0)
        assert job(db, "running").lease_owner == w.owner  # still its own, still running
        blocking.may_finish.set()
    finally:
        w.stop()
    assert (job(db, "running").state, job(db, "waiting").state) == ("done", "pending")
    assert blocking.ran == ["running"]


def test_a_job_still_running_when_the_grace_period_ends_is_given_back(
    db: Database, blocking: Blocking
) -> None:
    clock = ManualClock(START)
    metrics = Metrics()
    w = worker(db, clock, blocking, metrics, threads=1, grace=0)
    enqueue(db, clock, "stuck")
    w.start()
    assert blocking.running.wait(WAIT)
    with capture_logs() as logs:
        w.stop()
    row = job(db, "stuck")
    assert (row.state, row.lease_owner, row.lease_until, row.attempts) == ("pending", None, None, 1)
    assert any(e["event"] == "outbox_grace_period_over" for e in logs)
    # Another replica may take it at once; if it ends here after all, nothing is recorded.
    blocking.may_finish.set()
    wait_for(lambda: finished(metrics, "released") == 1, what="the late end counted as released")
    assert job(db, "stuck").state == "pending"


def test_a_stopping_worker_claims_nothing_more(db: Database, blocking: Blocking) -> None:
    clock = ManualClock(START)
    w = worker(db, clock, blocking, threads=1, grace=WAIT)
    enqueue(db, clock, "first")
    w.start()
    try:
        assert blocking.running.wait(WAIT)
        w.begin_stop()
        enqueue(db, clock, "later")
        w.wake()
        blocking.may_finish.set()
    finally:
        w.stop()
    later = job(db, "later")
    assert (later.state, later.lease_owner, later.attempts) == ("pending", None, 0)
    assert blocking.ran == ["first"]


def test_a_job_claimed_again_by_its_own_worker_is_not_run_twice(
    db: Database, blocking: Blocking
) -> None:
    clock = ManualClock(START)
    w = worker(db, clock, blocking, threads=2, grace=WAIT)
    enqueue(db, clock, "long")
    w.start()
    try:
        assert blocking.running.wait(WAIT)
        # Renewals failed for a whole lease (here: the clock jumps), so the lease ran out
        # and the worker's own poller claims the job again.
        clock.advance(seconds=LEASE.total_seconds() + 1)
        w.wake()
        wait_for(lambda: job(db, "long").lease_until == clock.now() + LEASE, what="claimed again")
        blocking.may_finish.set()
        wait_for(lambda: job(db, "long").state == "done", what="the first attempt's end")
    finally:
        w.stop()
    assert blocking.ran == ["long"]
