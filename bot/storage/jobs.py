"""The outbox repository: enqueue side effects in the caller's transaction, claim due
ones with a lease, and record how each attempt ended.

Claiming works the same on both databases: candidates are selected (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL, so replicas don't queue behind each other) and then leased with a
conditional UPDATE that only succeeds if nobody leased the row in between. SQLite runs
write transactions one at a time, which makes the same UPDATE atomic there.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.storage.models import JobRow

PENDING = "pending"
DONE = "done"


@dataclass(frozen=True)
class ClaimedJob:
    id: int
    kind: str
    incident_id: int | None
    payload: dict[str, Any]
    attempts: int


def enqueue(
    session: Session,
    kind: str,
    *,
    now: datetime,
    dedup_key: str,
    incident_id: int | None = None,
    payload: dict[str, Any] | None = None,
    delay: timedelta = timedelta(0),
) -> bool:
    """Add a job unless one with ``dedup_key`` exists. True when added."""
    exists = session.exec(select(JobRow.id).where(JobRow.dedup_key == dedup_key)).first()
    if exists is not None:
        return False
    try:
        with session.begin_nested():
            session.add(
                JobRow(
                    kind=kind,
                    dedup_key=dedup_key,
                    incident_id=incident_id,
                    payload=payload or {},
                    run_after=now + delay,
                    created_at=now,
                )
            )
    except IntegrityError:
        return False  # a concurrent transaction enqueued the same job first
    return True


def enqueue_coalesced(
    session: Session, kind: str, *, now: datetime, incident_id: int, delay: timedelta = timedelta(0)
) -> bool:
    """Add a job unless an identical one for the incident is still waiting to start.

    For idempotent refreshes (re-render the board): ten changes in a second need one
    ``chat.update``, not ten.
    """
    waiting = session.exec(
        select(JobRow.id).where(
            JobRow.kind == kind,
            JobRow.incident_id == incident_id,
            JobRow.state == PENDING,
            col(JobRow.lease_owner).is_(None),
        )
    ).first()
    if waiting is not None:
        return False
    return enqueue(
        session,
        kind,
        now=now,
        dedup_key=f"{kind}:{incident_id}:{uuid.uuid4().hex}",
        incident_id=incident_id,
        delay=delay,
    )


def claim_due(
    session: Session, *, now: datetime, owner: str, lease: timedelta, limit: int
) -> list[ClaimedJob]:
    """Lease up to ``limit`` due jobs to ``owner``. Commit follows in the caller."""
    due = (
        select(JobRow.id)
        .where(
            JobRow.state == PENDING,
            JobRow.run_after <= now,
            or_(col(JobRow.lease_until).is_(None), col(JobRow.lease_until) < now),
        )
        .order_by(col(JobRow.run_after), col(JobRow.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed: list[ClaimedJob] = []
    for job_id in session.exec(due).all():
        assert job_id is not None
        result = session.execute(
            update(JobRow)
            .where(
                col(JobRow.id) == job_id,
                col(JobRow.state) == PENDING,
                or_(col(JobRow.lease_until).is_(None), col(JobRow.lease_until) < now),
            )
            .values(lease_owner=owner, lease_until=now + lease, attempts=JobRow.attempts + 1)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            row = session.get(JobRow, job_id)
            assert row is not None
            session.refresh(row)
            claimed.append(ClaimedJob(job_id, row.kind, row.incident_id, row.payload, row.attempts))
    return claimed


def _owned(session: Session, job_id: int, owner: str) -> JobRow | None:
    row = session.get(JobRow, job_id)
    if row is None or row.lease_owner != owner or row.state != PENDING:
        return None  # our lease ran out and someone else took over: leave it to them
    return row


def complete(session: Session, job_id: int, *, owner: str, now: datetime) -> None:
    row = _owned(session, job_id, owner)
    if row is not None:
        row.state = DONE
        row.finished_at = now
        row.lease_owner = None
        row.lease_until = None
        row.last_error = None
        session.add(row)


def retry_later(
    session: Session,
    job_id: int,
    *,
    owner: str,
    run_after: datetime,
    error: str,
    needs_attention: bool = False,
    count_attempt: bool = True,
) -> None:
    row = _owned(session, job_id, owner)
    if row is not None:
        row.run_after = run_after
        row.lease_owner = None
        row.lease_until = None
        row.last_error = error[:2000]
        row.needs_attention = needs_attention
        if not count_attempt:
            row.attempts = max(0, row.attempts - 1)
        session.add(row)


def release_attention_holds(session: Session, *, now: datetime) -> int:
    """On start-up, retry jobs parked by a permanent error: someone may have fixed the
    token or the scopes, which is usually why the bot was restarted."""
    result = session.execute(
        update(JobRow)
        .where(col(JobRow.state) == PENDING, col(JobRow.needs_attention).is_(True))
        .values(run_after=now, needs_attention=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def pending_counts(session: Session) -> dict[str, int]:
    rows = session.exec(
        select(JobRow.kind, func.count()).where(JobRow.state == PENDING).group_by(col(JobRow.kind))
    ).all()
    return {kind: int(n) for kind, n in rows}
