"""The outbox repository: enqueue side effects in the caller's transaction, claim due
ones with a lease, and record how each attempt ended.

Uniqueness is the database's: ``job.dedup_key`` is unique and every enqueue is one
``INSERT ... ON CONFLICT (dedup_key) DO NOTHING``, so however many transactions enqueue the
same side effect at once, one row exists and nobody's transaction fails.

Coalesced jobs (idempotent refreshes such as re-rendering a board) use that same key: while
one waits, its key is ``coalesce:<kind>:<incident>`` and any further enqueue for the
incident finds it taken. Claiming renames the key (``...@<job id>``) in the same UPDATE
that leases the row, so the next change enqueues a new job — the running one may have read
the old state — and a job put back for a retry takes the waiting key again if it is free.

Claiming is one statement on both databases: an UPDATE of the rows a sub-select picks
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so replicas don't queue behind each other),
returning what the worker needs. SQLite runs write transactions one at a time, which makes
the same UPDATE atomic there.

Leases are short; a running worker renews the leases of all the jobs it holds in one
UPDATE (:func:`renew_leases`), and gives back what it will not finish when it stops
(:func:`release`), so another replica takes those at once instead of waiting the lease out.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import String, Table, bindparam, case, cast, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.dml import Insert
from sqlmodel import Session

from bot.storage.models import JobRow
from bot.storage.sql import Bind, dialect_name, insert_ignoring_conflicts

PENDING = "pending"
DONE = "done"

JOB: Table = JobRow.__table__  # type: ignore[attr-defined]

_CLAIMED_COLUMNS = ("id", "kind", "incident_id", "payload", "attempts", "run_after")
_COALESCE = "coalesce:"
_CLAIMED = "@"


@dataclass(frozen=True)
class ClaimedJob:
    id: int
    kind: str
    incident_id: int | None
    payload: dict[str, Any]
    attempts: int


def job_values(
    kind: str,
    *,
    now: datetime,
    dedup_key: str,
    incident_id: int | None = None,
    payload: dict[str, Any] | None = None,
    delay: timedelta = timedelta(0),
) -> dict[str, Any]:
    """One job row, for :func:`insert_jobs`."""
    return {
        "kind": kind,
        "dedup_key": dedup_key,
        "incident_id": incident_id,
        "payload": payload or {},
        "run_after": now + delay,
        "created_at": now,
    }


def coalesced_job_values(
    kind: str, *, now: datetime, incident_id: int, delay: timedelta = timedelta(0)
) -> dict[str, Any]:
    """A job row that a waiting job of the same kind for the incident absorbs."""
    return job_values(
        kind, now=now, dedup_key=f"{_COALESCE}{kind}:{incident_id}", incident_id=incident_id,
        delay=delay,
    )  # fmt: skip


def insert_jobs(bind: Bind, rows: list[dict[str, Any]]) -> int:
    """Insert the rows whose dedup key is free; returns how many were added."""
    if not rows:
        return 0
    if isinstance(bind, Session):
        bind.flush()  # a Core statement skips the ORM's autoflush; jobs may reference new rows
    return len(bind.execute(_insert_job(dialect_name(bind)), rows).all())


@cache
def _insert_job(dialect: str) -> Insert:
    # Built once: executed with a list of rows it is one cached multi-row statement.
    stmt = insert_ignoring_conflicts(dialect, JOB, unique=["dedup_key"])
    return stmt.returning(JOB.c.id)


def enqueue(
    session: Bind,
    kind: str,
    *,
    now: datetime,
    dedup_key: str,
    incident_id: int | None = None,
    payload: dict[str, Any] | None = None,
    delay: timedelta = timedelta(0),
) -> bool:
    """Add a job unless one with ``dedup_key`` exists. True when added."""
    row = job_values(
        kind, now=now, dedup_key=dedup_key, incident_id=incident_id, payload=payload, delay=delay
    )
    return insert_jobs(session, [row]) == 1


def enqueue_coalesced(
    session: Bind, kind: str, *, now: datetime, incident_id: int, delay: timedelta = timedelta(0)
) -> bool:
    """Add a job unless an identical one for the incident is still waiting to start.

    For idempotent refreshes (re-render the board): ten changes in a second need one
    ``chat.update``, not ten.
    """
    row = coalesced_job_values(kind, now=now, incident_id=incident_id, delay=delay)
    return insert_jobs(session, [row]) == 1


def set_payload(session: Bind, job_id: int, payload: dict[str, Any]) -> None:
    """Replace a running job's payload: what it decided (e.g. the tally a summary took),
    committed with its effects, so that its retries act on the same decision."""
    session.execute(update(JOB).where(JOB.c.id == job_id).values(payload=payload))


# The claim and the finishing updates are built once and executed with parameters, so
# every poll finds its compiled SQL in SQLAlchemy's cache.
_FREE = or_(JOB.c.lease_until.is_(None), JOB.c.lease_until < bindparam("now"))
_DUE = (
    select(JOB.c.id)
    .where(
        JOB.c.state == PENDING,
        JOB.c.run_after <= bindparam("now"),
        _FREE,
        JOB.c.kind.not_in(bindparam("paused", expanding=True)),
    )
    .order_by(JOB.c.run_after, JOB.c.id)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
    # Computed once: as a plain IN (sub-select) PostgreSQL may run the LIMITed sub-select
    # again for the UPDATE and lease more rows than asked for.
    .cte("due")
    .prefix_with("MATERIALIZED")
)
_KEY = JOB.c.dedup_key
_CLAIM = (
    update(JOB)
    .where(JOB.c.id.in_(select(_DUE.c.id)), JOB.c.state == PENDING, _FREE)
    .values(
        lease_owner=bindparam("owner"),
        lease_until=bindparam("lease_until"),
        attempts=JOB.c.attempts + 1,
        dedup_key=case(
            (
                _KEY.startswith(_COALESCE) & ~_KEY.contains(_CLAIMED),
                _KEY + _CLAIMED + cast(JOB.c.id, String),
            ),
            else_=_KEY,
        ),
    )
    .returning(*(JOB.c[name] for name in _CLAIMED_COLUMNS))
)
# Only the lease owner may finish a job: if its lease ran out and someone else took over,
# it is theirs now.
_OWNED = (
    JOB.c.id == bindparam("job_id"),
    JOB.c.lease_owner == bindparam("owner"),
    JOB.c.state == PENDING,
)
_COMPLETE = (
    update(JOB)
    .where(*_OWNED)
    .values(
        state=DONE,
        finished_at=bindparam("now"),
        lease_owner=None,
        lease_until=None,
        last_error=None,
    )
)
_RETRY_VALUES: dict[str, Any] = {
    "run_after": bindparam("run_after"),
    "lease_owner": None,
    "lease_until": None,
    "last_error": bindparam("error"),
    "needs_attention": bindparam("needs_attention"),
}
_RETRY = update(JOB).where(*_OWNED).values(_RETRY_VALUES).returning(_KEY)
_UNCOUNT = {"attempts": case((JOB.c.attempts > 0, JOB.c.attempts - 1), else_=0)}
_RETRY_UNCOUNTED = _RETRY.values(_UNCOUNT)
# The jobs of one worker, by id (the primary key: no scan of the whole table, done rows
# included, every few seconds) and owner: a job someone else took over is not touched.
_HELD = (
    JOB.c.id.in_(bindparam("job_ids", expanding=True)),
    JOB.c.lease_owner == bindparam("owner"),
    JOB.c.state == PENDING,
)
_RENEW = (
    update(JOB)
    .where(*_HELD, JOB.c.lease_until.is_not(None))
    .values(lease_until=bindparam("lease_until"))
    .returning(JOB.c.id)
)
# Released jobs are free at once: no owner, no lease. Without an owner, a late finish by
# the releasing worker is refused like a lost lease's: the job runs again elsewhere, and is
# never marked done under the waiting key that _wait_again gave back to it.
_RELEASE = (
    update(JOB).where(*_HELD).values(lease_owner=None, lease_until=None).returning(JOB.c.id, _KEY)
)
_RELEASE_UNSTARTED = _RELEASE.values(_UNCOUNT)


def claim_due(
    session: Bind,
    *,
    now: datetime,
    owner: str,
    lease: timedelta,
    limit: int,
    paused: Sequence[str] = (),
) -> list[ClaimedJob]:
    """Lease up to ``limit`` due jobs to ``owner``, none of the ``paused`` kinds (see
    :mod:`bot.outbox.pauses`). Commit follows in the caller."""
    params = {
        "now": now,
        "owner": owner,
        "lease_until": now + lease,
        "limit": limit,
        "paused": list(paused),
    }
    rows = sorted(session.execute(_CLAIM, params).all(), key=lambda r: (r.run_after, r.id))
    return [ClaimedJob(r.id, r.kind, r.incident_id, r.payload, r.attempts) for r in rows]


def complete(session: Bind, job_id: int, *, owner: str, now: datetime) -> bool:
    """Mark the job done; False (and nothing changed) unless ``owner`` still holds it."""
    result = session.execute(_COMPLETE, {"job_id": job_id, "owner": owner, "now": now})
    return int(result.rowcount or 0) == 1  # type: ignore[attr-defined]


def retry_later(
    session: Bind,
    job_id: int,
    *,
    owner: str,
    run_after: datetime,
    error: str,
    needs_attention: bool = False,
    count_attempt: bool = True,
) -> bool:
    """Put the job back to run at ``run_after``; False (nothing changed) unless ``owner``
    still holds it."""
    params = {
        "job_id": job_id,
        "owner": owner,
        "run_after": run_after,
        "error": error[:2000],
        "needs_attention": needs_attention,
    }
    stmt = _RETRY if count_attempt else _RETRY_UNCOUNTED
    key = session.execute(stmt, params).scalar_one_or_none()
    if key is None:
        return False
    _coalesce_again(session, job_id, key)
    return True


def renew_leases(
    session: Bind, job_ids: Collection[int], *, owner: str, now: datetime, lease: timedelta
) -> set[int]:
    """Extend the leases of ``owner``'s jobs among ``job_ids`` to ``now + lease``, in one
    statement. Returns the ids renewed: a missing one was finished, released, or taken
    over by another worker after its lease ran out."""
    if not job_ids:
        return set()
    params = {"job_ids": list(job_ids), "owner": owner, "lease_until": now + lease}
    return {int(r.id) for r in session.execute(_RENEW, params)}


def release(session: Bind, job_ids: Collection[int], *, owner: str, started: bool) -> list[int]:
    """Give ``owner``'s jobs among ``job_ids`` back, free to be claimed at once (a worker
    stopping). A job that never ``started`` does not count as an attempt. Returns the ids
    released."""
    if not job_ids:
        return []
    stmt = _RELEASE if started else _RELEASE_UNSTARTED
    rows = session.execute(stmt, {"job_ids": list(job_ids), "owner": owner}).all()
    for r in rows:
        _coalesce_again(session, r.id, r.dedup_key)
    return [int(r.id) for r in rows]


def _coalesce_again(session: Bind, job_id: int, key: str) -> None:
    if key.startswith(_COALESCE) and _CLAIMED in key:
        _wait_again(session, job_id, key.rsplit(_CLAIMED, 1)[0])


def _wait_again(session: Bind, job_id: int, waiting_key: str) -> None:
    """A coalesced job put back takes the waiting key again, unless a newer job already
    waits under it: then both are pending and both refresh, which is harmless."""
    try:
        with session.begin_nested():
            session.execute(update(JOB).where(JOB.c.id == job_id).values(dedup_key=waiting_key))
    except IntegrityError:
        pass


def release_attention_holds(session: Bind, *, now: datetime) -> int:
    """On start-up, retry jobs parked by a permanent error: someone may have fixed the
    token or the scopes, which is usually why the bot was restarted."""
    result = session.execute(
        update(JOB)
        .where(JOB.c.state == PENDING, JOB.c.needs_attention.is_(True))
        .values(run_after=now, needs_attention=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def pending_counts(session: Bind) -> dict[str, int]:
    rows = session.execute(
        select(JOB.c.kind, func.count()).where(JOB.c.state == PENDING).group_by(JOB.c.kind)
    ).all()
    return {kind: int(n) for kind, n in rows}


def pending_for_incident(session: Bind, incident_id: int, *, besides: int) -> int:
    """An incident's jobs still to run other than job ``besides`` (parked ones not
    counted: they wait for a person)."""
    count = session.execute(
        select(func.count()).where(
            JOB.c.incident_id == incident_id,
            JOB.c.state == PENDING,
            JOB.c.needs_attention.is_(False),
            JOB.c.id != besides,
        )
    ).scalar()
    return int(count or 0)
