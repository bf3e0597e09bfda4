"""Incident repository: rows in, domain snapshots out."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from bot.domain.incident import IncidentSnapshot, StepRecord, TimelineEntry
from bot.domain.types import (
    CauseCategory,
    IncidentStatus,
    OorType,
    Role,
    Severity,
    Step,
    StepState,
)
from bot.storage.models import IncidentRow, RoleRow, StepRow, TimelineRow


def get_row(session: Session, number: int, *, for_update: bool = False) -> IncidentRow | None:
    stmt = select(IncidentRow).where(IncidentRow.id == number)
    if for_update:
        stmt = stmt.with_for_update()
    return session.exec(stmt).first()


def find_open_by_group(
    session: Session, group_key: str, *, for_update: bool = False
) -> IncidentRow | None:
    stmt = select(IncidentRow).where(
        IncidentRow.group_key == group_key, IncidentRow.status != IncidentStatus.CLOSED
    )
    if for_update:
        # Grouping changes the row (event count, severity): concurrent events of one
        # group must queue on it rather than overwrite each other's counts.
        stmt = stmt.with_for_update()
    return session.exec(stmt).first()


def add_steps(session: Session, incident_id: int) -> None:
    for position, step in enumerate(Step, start=1):
        session.add(StepRow(incident_id=incident_id, step=step, position=position))


def add_timeline(
    session: Session,
    incident_id: int,
    *,
    at: datetime,
    actor: str,
    kind: str,
    text: str,
    data: dict[str, Any] | None = None,
) -> None:
    session.add(
        TimelineRow(
            incident_id=incident_id,
            at=at,
            actor=actor,
            kind=kind,
            text=text[:4000],
            data=data or {},
        )
    )


def timeline_of(session: Session, incident_id: int) -> list[TimelineEntry]:
    rows = session.exec(
        select(TimelineRow)
        .where(TimelineRow.incident_id == incident_id)
        .order_by(col(TimelineRow.at), col(TimelineRow.id))
    ).all()
    return [TimelineEntry(at=r.at, actor=r.actor, kind=r.kind, text=r.text) for r in rows]


def steps_of_many(session: Session, ids: Sequence[int]) -> dict[int, tuple[StepRecord, ...]]:
    if not ids:
        return {}
    rows = session.exec(
        select(StepRow)
        .where(col(StepRow.incident_id).in_(ids))
        .order_by(col(StepRow.incident_id), col(StepRow.position))
    ).all()
    grouped: dict[int, list[StepRecord]] = defaultdict(list)
    for r in rows:
        grouped[r.incident_id].append(
            StepRecord(
                step=Step(r.step),
                state=StepState(r.state),
                started_at=r.started_at,
                started_by=r.started_by,
                completed_at=r.completed_at,
                completed_by=r.completed_by,
                note=r.note,
            )
        )
    return {incident_id: tuple(records) for incident_id, records in grouped.items()}


def roles_of_many(session: Session, ids: Sequence[int]) -> dict[int, dict[Role, str]]:
    if not ids:
        return {}
    rows = session.exec(select(RoleRow).where(col(RoleRow.incident_id).in_(ids))).all()
    grouped: dict[int, dict[Role, str]] = defaultdict(dict)
    for r in rows:
        grouped[r.incident_id][Role(r.role)] = r.user_id
    return dict(grouped)


def build_snapshot(
    row: IncidentRow, steps: tuple[StepRecord, ...], roles: dict[Role, str]
) -> IncidentSnapshot:
    """An incident snapshot from its row and its already-loaded steps and roles."""
    assert row.id is not None
    return IncidentSnapshot(
        number=row.id,
        type=OorType(row.type),
        title=row.title,
        severity=Severity(row.severity),
        status=IncidentStatus(row.status),
        source=row.source,
        opened_at=row.opened_at,
        description=row.description,
        occurred_at=row.occurred_at,
        origin=row.origin,
        url=row.url,
        group_key=row.group_key,
        details=dict(row.details or {}),
        channel_id=row.channel_id,
        channel_name=row.channel_name,
        board_ts=row.board_ts,
        event_count=row.event_count,
        steps=steps,
        roles=roles,
        resolved_at=row.resolved_at,
        closed_at=row.closed_at,
        resolution_summary=row.resolution_summary,
        cause_category=CauseCategory(row.cause_category) if row.cause_category else None,
        generation=row.generation,
        reopened_at=row.reopened_at,
    )


def to_snapshot(session: Session, row: IncidentRow) -> IncidentSnapshot:
    assert row.id is not None
    steps = steps_of_many(session, [row.id]).get(row.id, ())
    return build_snapshot(row, steps, roles_of_many(session, [row.id]).get(row.id, {}))


def snapshot(session: Session, number: int) -> IncidentSnapshot | None:
    row = get_row(session, number)
    return to_snapshot(session, row) if row else None
