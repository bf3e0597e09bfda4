"""The outbox repository on SQLite and PostgreSQL: dedup, coalescing, leases."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select

from bot.storage import jobs
from bot.storage.db import Database
from bot.storage.models import IncidentRow, JobRow

NOW = datetime(2026, 11, 25, 4, 30, tzinfo=UTC)
LEASE = timedelta(seconds=60)


@pytest.fixture
def incident_id(db: Database) -> int:
    with db.session() as session:
        row = IncidentRow(
            type="payment_failure",
            title="t",
            severity="sev2",
            source="native",
            opened_at=NOW,
            updated_at=NOW,
        )
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id


def add(db: Database, key: str, *, delay: timedelta = timedelta(0), kind: str = "k") -> bool:
    with db.session() as session:
        return jobs.enqueue(
            session, kind, now=NOW, dedup_key=key, payload={"key": key}, delay=delay
        )


def claim(
    db: Database, owner: str, *, at: datetime = NOW, limit: int = 10
) -> list[jobs.ClaimedJob]:
    with db.session() as session:
        return jobs.claim_due(session, now=at, owner=owner, lease=LEASE, limit=limit)


def row(db: Database, job_id: int) -> JobRow:
    with db.session() as session:
        found = session.get(JobRow, job_id)
        assert found is not None
        return found


def all_rows(db: Database) -> list[JobRow]:
    with db.session() as session:
        return list(session.exec(select(JobRow).order_by(col(JobRow.id))).all())


# -- enqueue ---------------------------------------------------------------------------------
def test_enqueue_adds_a_pending_job_once_per_dedup_key(db: Database) -> None:
    assert add(db, "a", delay=timedelta(seconds=5)) is True
    assert add(db, "a") is False
    assert add(db, "a", kind="other") is False
    (job,) = all_rows(db)
    assert (job.kind, job.dedup_key, job.payload, job.state, job.attempts) == (
        "k",
        "a",
        {"key": "a"},
        "pending",
        0,
    )
    assert job.run_after == NOW + timedelta(seconds=5) and job.created_at == NOW
    assert job.lease_owner is None and not job.needs_attention


def test_enqueue_twice_in_one_transaction_adds_once(db: Database) -> None:
    with db.session() as session:
        assert jobs.enqueue(session, "k", now=NOW, dedup_key="a")
        assert not jobs.enqueue(session, "k", now=NOW, dedup_key="a")
    assert len(all_rows(db)) == 1


def test_a_duplicate_enqueue_does_not_spoil_the_transaction(db: Database) -> None:
    add(db, "a")
    with db.session() as session:
        assert not jobs.enqueue(session, "k", now=NOW, dedup_key="a")
        assert jobs.enqueue(session, "k", now=NOW, dedup_key="b")
    assert [j.dedup_key for j in all_rows(db)] == ["a", "b"]


# -- enqueue_coalesced -------------------------------------------------------------------------
def coalesce(db: Database, incident_id: int) -> bool:
    with db.session() as session:
        return jobs.enqueue_coalesced(session, "refresh", now=NOW, incident_id=incident_id)


def test_coalesced_jobs_wait_as_one_until_one_is_leased(db: Database, incident_id: int) -> None:
    assert coalesce(db, incident_id) is True
    assert coalesce(db, incident_id) is False  # one is waiting: it will show both changes
    (claimed,) = claim(db, "w1")
    assert coalesce(db, incident_id) is True  # the leased one may have read the old state
    assert coalesce(db, incident_id) is False
    with db.session() as session:
        jobs.complete(session, claimed.id, owner="w1", now=NOW)
    assert coalesce(db, incident_id) is False  # the second one still waits
    assert [j.state for j in all_rows(db)] == ["done", "pending"]


def test_coalescing_is_per_incident_and_kind(db: Database, incident_id: int) -> None:
    with db.session() as session:
        other = IncidentRow(
            type="system_crash",
            title="t2",
            severity="sev1",
            source="native",
            opened_at=NOW,
            updated_at=NOW,
        )
        session.add(other)
        session.flush()
        assert other.id is not None
        other_id = other.id
    assert coalesce(db, incident_id)
    assert coalesce(db, other_id)
    with db.session() as session:
        assert jobs.enqueue_coalesced(session, "another", now=NOW, incident_id=incident_id)
    assert len(all_rows(db)) == 3


def test_a_job_put_back_for_retry_is_waiting_again(db: Database, incident_id: int) -> None:
    coalesce(db, incident_id)
    (claimed,) = claim(db, "w1")
    with db.session() as session:
        jobs.retry_later(
            session, claimed.id, owner="w1", run_after=NOW + timedelta(seconds=4), error="x"
        )
    assert coalesce(db, incident_id) is False


# -- claim_due --------------------------------------------------------------------------------
def test_claim_takes_due_jobs_in_order_with_a_lease(db: Database) -> None:
    add(db, "later", delay=timedelta(seconds=30))
    add(db, "now-1")
    add(db, "now-2")
    claimed = claim(db, "w1", limit=1)
    assert [c.payload["key"] for c in claimed] == ["now-1"]
    assert claimed[0].attempts == 1 and claimed[0].kind == "k"
    job = row(db, claimed[0].id)
    assert (job.lease_owner, job.lease_until, job.attempts) == ("w1", NOW + LEASE, 1)

    assert [c.payload["key"] for c in claim(db, "w1")] == ["now-2"]
    assert claim(db, "w1") == []  # "later" is not due yet
    assert claim(db, "w1", at=NOW + timedelta(seconds=29)) == []
    due = claim(db, "w1", at=NOW + timedelta(seconds=30))
    assert [c.payload["key"] for c in due] == ["later"]


def test_a_leased_job_is_taken_over_only_after_the_lease(db: Database) -> None:
    add(db, "a")
    (first,) = claim(db, "w1")
    assert claim(db, "w2", at=NOW + LEASE - timedelta(seconds=1)) == []
    assert claim(db, "w2", at=NOW + LEASE) == []  # lease_until is still "now"
    (again,) = claim(db, "w2", at=NOW + LEASE + timedelta(seconds=1))
    assert again.id == first.id and again.attempts == 2
    assert row(db, first.id).lease_owner == "w2"


def test_done_jobs_are_not_claimed(db: Database) -> None:
    add(db, "a")
    (claimed,) = claim(db, "w1")
    with db.session() as session:
        jobs.complete(session, claimed.id, owner="w1", now=NOW)
    assert claim(db, "w1", at=NOW + timedelta(hours=1)) == []


def test_concurrent_claimers_never_share_a_job(db: Database) -> None:
    with db.session() as session:
        for i in range(30):
            jobs.enqueue(session, "k", now=NOW, dedup_key=f"j{i}")
    owners = [f"w{i}" for i in range(4)]
    start = threading.Barrier(len(owners))

    def drain(owner: str) -> list[int]:
        start.wait()
        got: list[int] = []
        while batch := claim(db, owner, limit=3):
            got.extend(c.id for c in batch)
        return got

    with ThreadPoolExecutor(len(owners)) as pool:
        results = dict(zip(owners, pool.map(drain, owners), strict=True))

    claimed = [job_id for ids in results.values() for job_id in ids]
    assert len(claimed) == 30 and len(set(claimed)) == 30
    for owner, ids in results.items():
        assert all(row(db, job_id).lease_owner == owner for job_id in ids)
        assert all(row(db, job_id).attempts == 1 for job_id in ids)


# -- complete / retry_later -------------------------------------------------------------------
def test_only_the_lease_owner_completes(db: Database) -> None:
    add(db, "a")
    (claimed,) = claim(db, "w1")
    with db.session() as session:
        jobs.complete(session, claimed.id, owner="w2", now=NOW)
    assert row(db, claimed.id).state == "pending" and row(db, claimed.id).lease_owner == "w1"
    later = NOW + timedelta(seconds=3)
    with db.session() as session:
        jobs.complete(session, claimed.id, owner="w1", now=later)
    job = row(db, claimed.id)
    assert (job.state, job.finished_at, job.lease_owner, job.lease_until) == (
        "done",
        later,
        None,
        None,
    )


def test_a_worker_whose_lease_was_taken_over_changes_nothing(db: Database) -> None:
    add(db, "a")
    (old,) = claim(db, "w1")
    claim(db, "w2", at=NOW + LEASE + timedelta(seconds=1))
    with db.session() as session:
        jobs.complete(session, old.id, owner="w1", now=NOW)
        jobs.retry_later(session, old.id, owner="w1", run_after=NOW, error="late")
    job = row(db, old.id)
    assert (job.state, job.lease_owner, job.last_error) == ("pending", "w2", None)


def test_retry_later_by_the_owner_puts_the_job_back(db: Database) -> None:
    add(db, "a")
    (claimed,) = claim(db, "w1")
    with db.session() as session:
        jobs.retry_later(
            session,
            claimed.id,
            owner="w2",
            run_after=NOW + timedelta(hours=1),
            error="not mine",
        )
    assert row(db, claimed.id).last_error is None
    then = NOW + timedelta(seconds=10)
    with db.session() as session:
        jobs.retry_later(
            session, claimed.id, owner="w1", run_after=then, error="x" * 5000, needs_attention=True
        )
    job = row(db, claimed.id)
    assert (job.state, job.run_after, job.lease_owner, job.lease_until) == (
        "pending",
        then,
        None,
        None,
    )
    assert job.last_error == "x" * 2000 and job.needs_attention and job.attempts == 1
    assert claim(db, "w2", at=then - timedelta(seconds=1)) == []
    assert [c.id for c in claim(db, "w2", at=then)] == [claimed.id]


def test_retry_without_counting_the_attempt(db: Database) -> None:
    add(db, "a")
    (claimed,) = claim(db, "w1")
    with db.session() as session:
        jobs.retry_later(
            session, claimed.id, owner="w1", run_after=NOW, error="wait", count_attempt=False
        )
    assert row(db, claimed.id).attempts == 0
    (again,) = claim(db, "w1")
    assert again.attempts == 1


# -- release_attention_holds -------------------------------------------------------------------
def test_release_attention_holds_frees_parked_pending_jobs_only(db: Database) -> None:
    for key in ("parked-1", "parked-2", "done-parked", "normal"):
        add(db, key, delay=timedelta(hours=1))
    with db.session() as session:
        for job in session.exec(select(JobRow)).all():
            job.needs_attention = job.dedup_key != "normal"
            job.state = "done" if job.dedup_key == "done-parked" else "pending"
            session.add(job)
    restart = NOW + timedelta(minutes=1)
    with db.session() as session:
        assert jobs.release_attention_holds(session, now=restart) == 2
    by_key = {j.dedup_key: j for j in all_rows(db)}
    for key in ("parked-1", "parked-2"):
        assert (by_key[key].run_after, by_key[key].needs_attention) == (restart, False)
    assert by_key["done-parked"].needs_attention
    assert by_key["normal"].run_after == NOW + timedelta(hours=1)
    assert {c.payload["key"] for c in claim(db, "w1", at=restart)} == {"parked-1", "parked-2"}
    with db.session() as session:
        assert jobs.release_attention_holds(session, now=restart) == 0


def test_pending_counts(db: Database) -> None:
    add(db, "a", kind="x")
    add(db, "b", kind="x")
    add(db, "c", kind="y")
    (claimed,) = claim(db, "w1", limit=1)
    with db.session() as session:
        jobs.complete(session, claimed.id, owner="w1", now=NOW)
        assert jobs.pending_counts(session) == {"x": 1, "y": 1}


def test_concurrent_coalesced_enqueues_leave_one_waiting_job(
    db: Database, incident_id: int
) -> None:
    start = threading.Barrier(8)

    def enqueue(_: int) -> bool:
        start.wait()
        return coalesce(db, incident_id)

    with ThreadPoolExecutor(8) as pool:
        added = list(pool.map(enqueue, range(8)))
    assert added.count(True) == 1
    assert len(all_rows(db)) == 1


def test_a_retried_job_stays_pending_beside_a_newer_waiting_one(
    db: Database, incident_id: int
) -> None:
    coalesce(db, incident_id)
    (claimed,) = claim(db, "w1")
    assert coalesce(db, incident_id) is True  # the change after the claim
    with db.session() as session:
        jobs.retry_later(session, claimed.id, owner="w1", run_after=NOW, error="x")
    assert [j.state for j in all_rows(db)] == ["pending", "pending"]
    assert coalesce(db, incident_id) is False
    assert len(claim(db, "w2")) == 2  # both refresh: one more render, nothing lost
