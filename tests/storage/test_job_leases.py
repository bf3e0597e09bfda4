"""Keeping and giving back leases, on SQLite and PostgreSQL: the heartbeat's renewal, the
release on stop, and finishing statements that say whether the job was still held.
Time is the claim's and the renewal's ``now``; nothing sleeps."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.storage import jobs
from bot.storage.db import Database
from bot.storage.models import IncidentRow
from tests.storage.test_jobs import LEASE, NOW, add, claim, coalesce, row


@pytest.fixture
def incident(db: Database) -> int:
    with db.session() as session:
        found = IncidentRow(
            type="payment_failure",
            title="t",
            severity="sev2",
            source="native",
            opened_at=NOW,
            updated_at=NOW,
        )
        session.add(found)
        session.flush()
        assert found.id is not None
        return found.id


def renew(db: Database, owner: str, ids: list[int], *, at: timedelta) -> set[int]:
    with db.engine.begin() as conn:
        return jobs.renew_leases(conn, ids, owner=owner, now=NOW + at, lease=LEASE)


def release(db: Database, owner: str, ids: list[int], *, started: bool) -> list[int]:
    with db.engine.begin() as conn:
        return jobs.release(conn, ids, owner=owner, started=started)


# -- renew_leases ------------------------------------------------------------------------------
def test_a_renewed_lease_outlives_its_first_term(db: Database) -> None:
    add(db, "a")
    add(db, "b")
    held = [c.id for c in claim(db, "w1")]
    assert renew(db, "w1", held, at=timedelta(seconds=50)) == set(held)
    assert {row(db, i).lease_until for i in held} == {NOW + timedelta(seconds=50) + LEASE}
    # Past the first lease, a live worker's jobs stay its own ...
    assert claim(db, "w2", at=NOW + LEASE + timedelta(seconds=30)) == []
    # ... until it stops renewing for a whole lease.
    taken = claim(db, "w2", at=NOW + timedelta(seconds=50) + LEASE + timedelta(seconds=1))
    assert sorted(c.id for c in taken) == sorted(held)


def test_renewal_touches_only_the_owners_pending_jobs(db: Database) -> None:
    for key in ("mine", "theirs", "finished"):
        add(db, key)
    (mine,) = claim(db, "w1", limit=1)
    (theirs,) = claim(db, "w2", limit=1)
    (finished,) = claim(db, "w1", limit=1)
    with db.engine.begin() as conn:
        assert jobs.complete(conn, finished.id, owner="w1", now=NOW)

    ids = [mine.id, theirs.id, finished.id]
    assert renew(db, "w1", ids, at=timedelta(seconds=10)) == {mine.id}
    assert row(db, mine.id).lease_until == NOW + timedelta(seconds=10) + LEASE
    assert (row(db, theirs.id).lease_owner, row(db, theirs.id).lease_until) == ("w2", NOW + LEASE)
    done = row(db, finished.id)
    assert (done.state, done.lease_owner, done.lease_until) == ("done", None, None)


def test_renewal_finds_a_job_taken_over_after_its_lease_ran_out(db: Database) -> None:
    add(db, "a")
    (job,) = claim(db, "w1")
    late = NOW + LEASE + timedelta(seconds=1)  # w1 could not reach the database for a lease
    claim(db, "w2", at=late)
    assert renew(db, "w1", [job.id], at=LEASE + timedelta(seconds=2)) == set()
    assert (row(db, job.id).lease_owner, row(db, job.id).lease_until) == ("w2", late + LEASE)


def test_renewing_nothing_is_nothing(db: Database) -> None:
    assert renew(db, "w1", [], at=timedelta(0)) == set()
    assert release(db, "w1", [], started=False) == []


# -- release -----------------------------------------------------------------------------------
def test_a_job_given_back_before_it_started_is_free_at_once_and_uncounted(db: Database) -> None:
    add(db, "a")
    add(db, "b")
    a, _b = claim(db, "w1")
    assert release(db, "w1", [a.id], started=False) == [a.id]
    freed = row(db, a.id)
    assert (freed.state, freed.lease_owner, freed.lease_until, freed.attempts) == (
        "pending",
        None,
        None,
        0,
    )
    (taken,) = claim(db, "w2")  # now, not after the lease; b is still w1's
    assert (taken.id, taken.attempts) == (a.id, 1)


def test_a_job_given_back_while_running_keeps_its_attempt(db: Database) -> None:
    add(db, "a")
    (job,) = claim(db, "w1")
    assert release(db, "w1", [job.id], started=True) == [job.id]
    (again,) = claim(db, "w2")
    assert again.attempts == 2


def test_release_leaves_other_workers_jobs_alone(db: Database) -> None:
    add(db, "a")
    (job,) = claim(db, "w1")
    claim(db, "w2", at=NOW + LEASE + timedelta(seconds=1))
    assert release(db, "w1", [job.id], started=True) == []
    assert row(db, job.id).lease_owner == "w2"


def test_a_released_coalesced_job_is_the_waiting_one_again(db: Database, incident: int) -> None:
    coalesce(db, incident)
    (job,) = claim(db, "w1")
    release(db, "w1", [job.id], started=False)
    assert coalesce(db, incident) is False  # it waits again and absorbs the change


# -- finishing says whether the job was still held ---------------------------------------------
def test_finishing_a_released_or_taken_over_job_is_refused(db: Database) -> None:
    add(db, "a")
    add(db, "b")
    a, b = claim(db, "w1")
    release(db, "w1", [a.id], started=True)
    claim(db, "w2", at=NOW + LEASE + timedelta(seconds=1))  # takes a, and b after its lease
    with db.engine.begin() as conn:
        assert not jobs.complete(conn, a.id, owner="w1", now=NOW)
        assert not jobs.retry_later(conn, b.id, owner="w1", run_after=NOW, error="late")
        assert jobs.complete(conn, a.id, owner="w2", now=NOW)
        assert jobs.retry_later(conn, b.id, owner="w2", run_after=NOW, error="again")
    assert (row(db, a.id).state, row(db, b.id).last_error) == ("done", "again")
