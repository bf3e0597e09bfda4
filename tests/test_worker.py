"""How the outbox worker ends each attempt: done, retried later, or parked for a person.
On SQLite and PostgreSQL; time is a ManualClock, nothing sleeps."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot.domain.clock import ManualClock
from bot.metrics import Metrics
from bot.outbox.outcomes import NotReady, Permanent, RetryAfter, Transient
from bot.storage import jobs
from bot.storage.db import Database
from bot.storage.jobs import ClaimedJob
from bot.storage.models import JobRow
from bot.worker import (
    MAX_BACKOFF,
    PERMANENT_HOLD,
    OutboxTurn,
    OutboxWorker,
    WorkerOptions,
    backoff_for,
)

START = datetime(2026, 11, 25, 4, 30, tzinfo=UTC)
LEASE = WorkerOptions().lease


class Handler:
    """Raises the given exceptions one call at a time, then succeeds."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.calls: list[ClaimedJob] = []

    def __call__(self, job: ClaimedJob) -> None:
        self.calls.append(job)
        if self.failures:
            raise self.failures.pop(0)


class Rig:
    def __init__(self, db: Database, handler: Callable[[ClaimedJob], None]) -> None:
        self.db = db
        self.clock = ManualClock(START)
        self.metrics = Metrics()
        self.worker = OutboxWorker(db, {"post": handler}, self.clock, self.metrics)

    def enqueue(self, kind: str = "post", key: str = "job-1") -> None:
        with self.db.session() as session:
            jobs.enqueue(session, kind, now=self.clock.now(), dedup_key=key, payload={"n": 1})

    def job(self, key: str = "job-1") -> JobRow:
        with self.db.session() as session:
            return session.exec(select(JobRow).where(JobRow.dedup_key == key)).one()

    def finished(self, result: str, kind: str = "post") -> float:
        value = self.metrics.registry.get_sample_value(
            "oor_outbox_jobs_finished_total", {"kind": kind, "result": result}
        )
        return value or 0.0


def test_a_successful_job_is_done(db: Database) -> None:
    handler = Handler()
    rig = Rig(db, handler)
    rig.enqueue()
    assert rig.worker.run_due_jobs() == 1
    (call,) = handler.calls
    assert (call.kind, call.payload, call.attempts) == ("post", {"n": 1}, 1)
    job = rig.job()
    assert (job.state, job.finished_at, job.lease_owner, job.last_error) == (
        "done",
        START,
        None,
        None,
    )
    assert rig.finished("done") == 1
    assert rig.worker.run_due_jobs() == 0


def test_not_ready_looks_again_shortly_without_counting_an_attempt(db: Database) -> None:
    handler = Handler(NotReady("channel not created yet", delay_seconds=3))
    rig = Rig(db, handler)
    rig.enqueue()
    assert rig.worker.run_due_jobs() == 1
    job = rig.job()
    assert (job.state, job.attempts, job.needs_attention) == ("pending", 0, False)
    assert job.run_after == START + timedelta(seconds=3)
    assert job.last_error == "channel not created yet" and job.lease_owner is None
    assert rig.finished("not_ready") == 1

    rig.clock.advance(seconds=2)
    assert rig.worker.run_due_jobs() == 0
    rig.clock.advance(seconds=1)
    assert rig.worker.run_due_jobs() == 1
    assert rig.job().state == "done" and len(handler.calls) == 2


def test_rate_limited_waits_for_retry_after_without_counting_an_attempt(db: Database) -> None:
    rig = Rig(db, Handler(RetryAfter("chat.postMessage", 30)))
    rig.enqueue()
    rig.worker.run_due_jobs()
    job = rig.job()
    assert (job.state, job.attempts, job.needs_attention) == ("pending", 0, False)
    assert job.run_after == START + timedelta(seconds=30)
    assert job.last_error == "chat.postMessage: rate limited, retry after 30s"
    assert rig.finished("rate_limited") == 1


@pytest.mark.parametrize(
    ("failure", "result", "error"),
    [
        (
            Transient("chat.update", "http_503"),
            "transient_error",
            "Transient: chat.update: http_503",
        ),
        (RuntimeError("boom"), "error", "RuntimeError: boom"),
    ],
)
def test_failures_back_off_exponentially(
    db: Database, failure: Exception, result: str, error: str
) -> None:
    rig = Rig(db, Handler(failure, failure, failure))
    rig.enqueue()
    expected_delays = [2, 4, 8]
    for attempt, delay in enumerate(expected_delays, start=1):
        assert rig.worker.run_due_jobs() == 1
        job = rig.job()
        assert (job.state, job.attempts, job.needs_attention) == ("pending", attempt, False)
        assert job.run_after == rig.clock.now() + timedelta(seconds=delay)
        assert job.last_error == error
        rig.clock.advance(seconds=delay - 1)
        assert rig.worker.run_due_jobs() == 0
        rig.clock.advance(seconds=1)
    assert rig.finished(result) == 3
    assert rig.worker.run_due_jobs() == 1
    assert rig.job().state == "done" and rig.job().last_error is None


def test_backoff_is_capped() -> None:
    assert [backoff_for(n).total_seconds() for n in (0, 1, 2, 5)] == [1, 2, 4, 32]
    assert backoff_for(9) == MAX_BACKOFF
    assert backoff_for(1000) == MAX_BACKOFF


def test_a_permanent_error_parks_the_job_until_a_restart(db: Database) -> None:
    handler = Handler(Permanent("chat.postMessage", "invalid_auth"))
    rig = Rig(db, handler)
    rig.enqueue()
    rig.worker.run_due_jobs()
    job = rig.job()
    assert (job.state, job.attempts, job.needs_attention) == ("pending", 1, True)
    assert job.run_after == START + PERMANENT_HOLD
    assert job.last_error == "chat.postMessage: invalid_auth"
    assert rig.finished("permanent_error") == 1

    rig.clock.advance(minutes=30)
    assert rig.worker.run_due_jobs() == 0  # parked, not dropped
    with db.session() as session:  # what start() does: someone fixed the token
        assert jobs.release_attention_holds(session, now=rig.clock.now()) == 1
    assert rig.worker.run_due_jobs() == 1
    job = rig.job()
    assert (job.state, job.needs_attention) == ("done", False)


def test_a_job_without_a_handler_is_parked_not_dropped(db: Database) -> None:
    rig = Rig(db, Handler())
    rig.enqueue(kind="unknown_kind")
    rig.worker.run_due_jobs()
    job = rig.job()
    assert (job.state, job.needs_attention) == ("pending", True)
    assert job.last_error is not None and "no handler" in job.last_error
    assert rig.finished("permanent_error", kind="unknown_kind") == 1


def test_run_due_jobs_also_runs_jobs_enqueued_by_handlers(db: Database) -> None:
    holder: list[Rig] = []

    def handler(job: ClaimedJob) -> None:
        if job.payload.get("n", 0) < 3:
            with db.session() as session:
                jobs.enqueue(
                    session,
                    "post",
                    now=holder[0].clock.now(),
                    dedup_key=f"job-{job.payload['n'] + 1}",
                    payload={"n": job.payload["n"] + 1},
                )

    rig = Rig(db, handler)
    holder.append(rig)
    rig.enqueue()
    assert rig.worker.run_due_jobs() == 3
    assert {rig.job(f"job-{n}").state for n in (1, 2, 3)} == {"done"}


def test_a_lease_lost_mid_job_leaves_the_outcome_to_the_new_owner(db: Database) -> None:
    rig = Rig(db, Handler(RuntimeError("slow and failing")))
    other = OutboxWorker(db, {"post": Handler()}, rig.clock, Metrics())
    rig.enqueue()
    with db.session() as session:
        (claimed,) = jobs.claim_due(
            session, now=rig.clock.now(), owner=rig.worker.owner, lease=LEASE, limit=1
        )
    rig.clock.advance(seconds=LEASE.total_seconds() + 1)
    assert other.run_due_jobs() == 1  # took the job over after the lease ran out
    rig.worker.run_job(claimed)  # the first attempt finally fails
    job = rig.job()
    assert (job.state, job.attempts, job.last_error) == ("done", 2, None)


# -- the turn: one job runs Python at a time, Slack waits overlap ------------------------------
# Event waits have generous limits only so that a broken turn fails instead of hanging.
def test_a_job_waiting_on_slack_lets_another_job_run() -> None:
    turn = OutboxTurn()
    a_waiting, b_ran = threading.Event(), threading.Event()

    def job_a() -> bool:
        with turn.taken(), turn.lent():  # as the gateway does around a Web API call
            a_waiting.set()
            return b_ran.wait(10)

    def job_b() -> None:
        assert a_waiting.wait(10)
        with turn.taken():
            b_ran.set()

    with ThreadPoolExecutor(2) as pool:
        a, b = pool.submit(job_a), pool.submit(job_b)
        assert a.result() is True
        b.result()


def test_jobs_take_turns_to_run_python() -> None:
    turn = OutboxTurn()
    order: list[str] = []
    a_inside, b_trying, a_may_leave = threading.Event(), threading.Event(), threading.Event()

    def job_a() -> None:
        with turn.taken():
            order.append("a in")
            a_inside.set()
            assert a_may_leave.wait(10)
            order.append("a out")

    b_in = threading.Event()

    def job_b() -> None:
        assert a_inside.wait(10)
        b_trying.set()
        with turn.taken():
            order.append("b in")
            b_in.set()

    with ThreadPoolExecutor(2) as pool:
        a, b = pool.submit(job_a), pool.submit(job_b)
        assert b_trying.wait(10)
        assert not b_in.wait(0.2)  # b waits while a holds the turn
        a_may_leave.set()
        a.result()
        b.result()
    assert order == ["a in", "a out", "b in"]


def test_lending_the_turn_outside_a_job_changes_nothing() -> None:
    turn = OutboxTurn()
    with turn.lent():  # a slash command's handler calling Slack
        pass
    with turn.taken(), turn.lent():
        pass
    with turn.taken():
        pass

    # The turn is free again: another thread takes it at once.
    def take_it() -> bool:
        with turn.taken():
            return True

    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(take_it).result(timeout=5)


def test_the_worker_runs_each_job_holding_the_turn(db: Database) -> None:
    held_during_the_job: list[bool] = []

    def handler(job: ClaimedJob) -> None:
        other_took_it = threading.Event()

        def other_job() -> None:
            with rig.worker.turn.taken():
                other_took_it.set()

        threading.Thread(target=other_job, daemon=True).start()
        held_during_the_job.append(not other_took_it.wait(0.2))

    rig = Rig(db, handler)
    rig.enqueue()
    assert rig.worker.run_due_jobs() == 1
    assert held_during_the_job == [True]
