"""Incident repository: rows in, domain snapshots out.

The ORM functions serve the step changes and reads. The ingest path, the hottest write,
uses the Core statements at the end of this module on a plain connection: no identity map,
no flushes, and ``INSERT ... ON CONFLICT DO NOTHING`` where a unique index decides.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Row, Table, bindparam, update
from sqlalchemy import select as core_select
from sqlalchemy.engine import Connection
from sqlalchemy.sql.dml import Insert
from sqlmodel import Session, select

from bot.domain.events import OorEvent
from bot.domain.incident import IncidentSnapshot, StepRecord
from bot.domain.types import (
    CauseCategory,
    IncidentStatus,
    OorType,
    Role,
    Severity,
    Step,
    StepState,
)
from bot.storage.models import (
    OPEN_GROUP_PREDICATE,
    EventRow,
    IncidentRow,
    RoleRow,
    StepRow,
)
from bot.storage.sql import insert_ignoring_conflicts

# The timeline's writers and reader live in bot.storage.timeline; re-exported for callers.
from bot.storage.timeline import add_timeline as add_timeline
from bot.storage.timeline import insert_timeline as insert_timeline
from bot.storage.timeline import timeline_of as timeline_of

INCIDENT: Table = IncidentRow.__table__  # type: ignore[attr-defined]
EVENT: Table = EventRow.__table__  # type: ignore[attr-defined]
STEP: Table = StepRow.__table__  # type: ignore[attr-defined]
ROLE: Table = RoleRow.__table__  # type: ignore[attr-defined]


def get_row(session: Session, number: int, *, for_update: bool = False) -> IncidentRow | None:
    stmt = select(IncidentRow).where(IncidentRow.id == number)
    if for_update:
        stmt = stmt.with_for_update()
    return session.exec(stmt).first()


def record_room(session: Session, number: int, room: str, name: str, at: datetime) -> bool:
    """Store the incident's chat room (the platform's reference and name) unless it has one;
    True when this call stored it."""
    row = get_row(session, number, for_update=True)
    if row is None or row.channel_id is not None:
        return False
    row.channel_id, row.channel_name, row.updated_at = room, name, at
    session.add(row)
    return True


def record_board(session: Session, number: int, message_ref: str) -> str:
    """Store the board's message reference unless one is stored; the stored one."""
    row = get_row(session, number, for_update=True)
    assert row is not None
    if row.board_ts is None:
        row.board_ts = message_ref
        session.add(row)
    return row.board_ts


def step_record(row: StepRow | Row[Any]) -> StepRecord:
    """A step as the domain sees it, from its ORM row or a plain row of its columns."""
    return StepRecord(
        step=Step(row.step),
        state=StepState(row.state),
        started_at=row.started_at,
        started_by=row.started_by,
        completed_at=row.completed_at,
        completed_by=row.completed_by,
        note=row.note,
    )


# Read in SQLAlchemy Core, not as ORM objects: every command reads an incident's steps and
# roles at least once, and loading them as tracked ORM instances cost about twice as much.
_STEPS_OF = (
    core_select(
        STEP.c.incident_id,
        STEP.c.step,
        STEP.c.state,
        STEP.c.started_at,
        STEP.c.started_by,
        STEP.c.completed_at,
        STEP.c.completed_by,
        STEP.c.note,
    )
    .where(STEP.c.incident_id.in_(bindparam("ids", expanding=True)))
    .order_by(STEP.c.incident_id, STEP.c.position)
)
_ROLES_OF = core_select(ROLE.c.incident_id, ROLE.c.role, ROLE.c.user_id).where(
    ROLE.c.incident_id.in_(bindparam("ids", expanding=True))
)
# The SET clause is the columns each parameter set names (all of them below).
_UPDATE_STEP = update(STEP).where(
    STEP.c.incident_id == bindparam("b_incident"), STEP.c.step == bindparam("b_step")
)


def steps_of_many(session: Session, ids: Sequence[int]) -> dict[int, tuple[StepRecord, ...]]:
    if not ids:
        return {}
    grouped: dict[int, list[StepRecord]] = defaultdict(list)
    for r in session.execute(_STEPS_OF, {"ids": list(ids)}):
        grouped[r.incident_id].append(step_record(r))
    return {incident_id: tuple(records) for incident_id, records in grouped.items()}


def roles_of_many(session: Session, ids: Sequence[int]) -> dict[int, dict[Role, str]]:
    if not ids:
        return {}
    grouped: dict[int, dict[Role, str]] = defaultdict(dict)
    for r in session.execute(_ROLES_OF, {"ids": list(ids)}):
        grouped[r.incident_id][Role(r.role)] = r.user_id
    return dict(grouped)


def update_steps(session: Session, number: int, records: Sequence[StepRecord]) -> None:
    """Store the given steps of incident ``number`` (a note is cut to the column's 3,000
    characters; :func:`stored_step` says what is kept)."""
    if not records:
        return
    rows = [
        {
            "b_incident": number,
            "b_step": record.step.value,
            "state": record.state.value,
            "started_at": record.started_at,
            "started_by": record.started_by,
            "completed_at": record.completed_at,
            "completed_by": record.completed_by,
            "note": stored_step(record).note,
        }
        for record in records
    ]
    session.execute(_UPDATE_STEP, rows)


def stored_step(record: StepRecord) -> StepRecord:
    """``record`` as :func:`update_steps` stores it."""
    note = record.note[:3000] if record.note else None
    return record if note == record.note else replace(record, note=note)


def build_snapshot(
    row: IncidentRow | Row[Any], steps: tuple[StepRecord, ...], roles: dict[Role, str]
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
        last_event_at=row.last_event_at,
        last_event_title=row.last_event_title,
        steps=steps,
        roles=roles,
        resolved_at=row.resolved_at,
        closed_at=row.closed_at,
        resolution_summary=row.resolution_summary,
        cause_category=CauseCategory(row.cause_category) if row.cause_category else None,
        generation=row.generation,
        reopened_at=row.reopened_at,
        private=bool(row.private),
        privacy_round=row.privacy_round,
    )


def to_snapshot(session: Session, row: IncidentRow | Row[Any]) -> IncidentSnapshot:
    """The incident of ``row`` (an ORM row or a Core row of its columns) with its steps
    and roles."""
    assert row.id is not None
    steps = steps_of_many(session, [row.id]).get(row.id, ())
    return build_snapshot(row, steps, roles_of_many(session, [row.id]).get(row.id, {}))


_INCIDENT_BY_ID = core_select(INCIDENT).where(INCIDENT.c.id == bindparam("number"))
_INCIDENT_BY_CHANNEL = core_select(INCIDENT).where(INCIDENT.c.channel_id == bindparam("channel"))


def snapshot(session: Session, number: int) -> IncidentSnapshot | None:
    """Incident ``number`` as it is, read in Core (nothing loaded into the session)."""
    found = session.execute(_INCIDENT_BY_ID, {"number": number}).first()
    return to_snapshot(session, found) if found else None


def snapshot_by_channel(session: Session, channel_id: str) -> IncidentSnapshot | None:
    """The incident whose room is ``channel_id``, if any."""
    found = session.execute(_INCIDENT_BY_CHANNEL, {"channel": channel_id}).first()
    return to_snapshot(session, found) if found else None


# -- the ingest path (Core) -------------------------------------------------------------------
# Built once and executed with parameters: SQLAlchemy then finds the compiled SQL in its
# cache instead of building and compiling each statement again (a multi-row VALUES
# construct would not be cached at all; executemany with RETURNING is one statement too).
_LOCK_OPEN_BY_GROUP = (
    core_select(INCIDENT.c.id, INCIDENT.c.severity)
    .where(
        INCIDENT.c.group_key == bindparam("group_key"),
        INCIDENT.c.status != IncidentStatus.CLOSED.value,
    )
    .with_for_update()
)
# Several groups at once (a group commit): locked in group-key order, so two batches that
# share groups queue on each other instead of deadlocking.
_LOCK_OPEN_BY_GROUPS = (
    core_select(INCIDENT.c.id, INCIDENT.c.severity, INCIDENT.c.group_key)
    .where(
        INCIDENT.c.group_key.in_(bindparam("group_keys", expanding=True)),
        INCIDENT.c.status != IncidentStatus.CLOSED.value,
    )
    .order_by(INCIDENT.c.group_key)
    .with_for_update()
)
_STORED_EVENT_INCIDENT = core_select(EVENT.c.incident_id).where(
    EVENT.c.source == bindparam("source"), EVENT.c.dedup_key == bindparam("dedup_key")
)
_SET_EVENT_RESULT = (
    update(EVENT)
    .where(EVENT.c.id == bindparam("event_id"))
    .values(outcome=bindparam("outcome"), incident_id=bindparam("incident_id"))
)
_INSERT_STEPS = STEP.insert().returning(STEP.c.position)


@cache
def _insert_event(dialect: str) -> Insert:
    stmt = insert_ignoring_conflicts(dialect, EVENT, unique=["source", "dedup_key"])
    return stmt.returning(EVENT.c.id)


@cache
def _insert_events(dialect: str) -> Insert:
    stmt = insert_ignoring_conflicts(dialect, EVENT, unique=["source", "dedup_key"])
    return stmt.returning(EVENT.c.id, EVENT.c.source, EVENT.c.dedup_key)


_IN_CHUNK = 1000  # keys per IN (...): well within both databases' parameter limits
_STORED_EVENTS_INCIDENTS = core_select(EVENT.c.dedup_key, EVENT.c.incident_id).where(
    EVENT.c.source == bindparam("source"),
    EVENT.c.dedup_key.in_(bindparam("keys", expanding=True)),
)


@cache
def _insert_incident(dialect: str) -> Insert:
    stmt = insert_ignoring_conflicts(
        dialect, INCIDENT, unique=["group_key"], where=OPEN_GROUP_PREDICATE
    )
    return stmt.returning(INCIDENT.c.id)


_CHANNEL_ID = core_select(INCIDENT.c.channel_id).where(INCIDENT.c.id == bindparam("number"))


def channel_id_of(conn: Connection, number: int) -> str | None:
    """The incident's channel id (None until created): for the jobs that only post in the
    channel, one indexed SELECT instead of a snapshot's three. LookupError: no incident."""
    row = conn.execute(_CHANNEL_ID, {"number": number}).first()
    if row is None:
        raise LookupError(f"incident {number} not found")
    return str(row.channel_id) if row.channel_id is not None else None


def lock_open_by_group(conn: Connection, group_key: str) -> tuple[int, str] | None:
    """The open incident of ``group_key`` as (id, severity), locked for this transaction:
    concurrent events of one group queue on it rather than overwrite each other's counts."""
    row = conn.execute(_LOCK_OPEN_BY_GROUP, {"group_key": group_key}).first()
    return (int(row.id), str(row.severity)) if row else None


def lock_open_by_groups(conn: Connection, group_keys: set[str]) -> dict[str, tuple[int, str]]:
    """:func:`lock_open_by_group` for several groups in one statement, locked in key order."""
    found: dict[str, tuple[int, str]] = {}
    keys = sorted(group_keys)
    for start in range(0, len(keys), _IN_CHUNK):
        params = {"group_keys": keys[start : start + _IN_CHUNK]}
        for row in conn.execute(_LOCK_OPEN_BY_GROUPS, params):
            found[str(row.group_key)] = (int(row.id), str(row.severity))
    return found


def jsonable(value: Any) -> Any:
    """Payloads go into JSON columns: make dates and decimals plain strings."""
    return json.loads(json.dumps(value, default=str))


def event_values(
    event: OorEvent, now: datetime, outcome: str, incident_id: int | None
) -> dict[str, Any]:
    """An ``event`` row, for :func:`insert_event` and :func:`insert_events`."""
    return {
        "source": event.source,
        "dedup_key": event.dedup_key,
        "status": event.status.value,
        "outcome": outcome,
        "incident_id": incident_id,
        "received_at": now,
        "payload": jsonable(event.payload),
    }


def insert_event(conn: Connection, values: dict[str, Any]) -> int | None:
    """Store an event unless its (source, dedup_key) is already stored; its id, or None.

    A concurrent insert of the same key makes PostgreSQL wait for that transaction: if it
    commits this one is a duplicate, if it rolls back this one goes in.
    """
    added = conn.execute(_insert_event(conn.dialect.name), values).scalar_one_or_none()
    return int(added) if added is not None else None


def insert_events(conn: Connection, rows: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    """Store the events whose (source, dedup_key) is not stored yet, in multi-row INSERTs
    (SQLAlchemy's insertmanyvalues); the ids of those stored now, by key."""
    if not rows:
        return {}
    added = conn.execute(_insert_events(conn.dialect.name), rows).all()
    return {(str(r.source), str(r.dedup_key)): int(r.id) for r in added}


def stored_events_incidents(
    conn: Connection, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], int | None]:
    """The incident each stored event belongs to, by (source, dedup_key)."""
    found: dict[tuple[str, str], int | None] = {}
    by_source: dict[str, list[str]] = defaultdict(list)
    for source, dedup_key in keys:
        by_source[source].append(dedup_key)
    for source, dedup_keys in by_source.items():
        for start in range(0, len(dedup_keys), _IN_CHUNK):
            chunk = dedup_keys[start : start + _IN_CHUNK]
            params = {"source": source, "keys": chunk}
            for row in conn.execute(_STORED_EVENTS_INCIDENTS, params):
                found[(source, str(row.dedup_key))] = row.incident_id
    return found


def stored_event_incident(conn: Connection, source: str, dedup_key: str) -> int | None:
    params = {"source": source, "dedup_key": dedup_key}
    return conn.execute(_STORED_EVENT_INCIDENT, params).scalar_one()


def set_event_result(conn: Connection, event_id: int, outcome: str, incident_id: int) -> None:
    params = {"event_id": event_id, "outcome": outcome, "incident_id": incident_id}
    conn.execute(_SET_EVENT_RESULT, params)


def set_event_results(conn: Connection, results: list[tuple[int, str, int]]) -> None:
    """:func:`set_event_result` for several events, as (event id, outcome, incident id):
    one statement executed for all (psycopg pipelines them)."""
    if results:
        params = [{"event_id": e, "outcome": o, "incident_id": i} for e, o, i in results]
        conn.execute(_SET_EVENT_RESULT, params)


def insert_incident(conn: Connection, values: dict[str, Any]) -> int | None:
    """A new incident's number, or None when its group already has an open incident (the
    partial unique index decides, also against concurrent transactions)."""
    added = conn.execute(_insert_incident(conn.dialect.name), values).scalar_one_or_none()
    return int(added) if added is not None else None


def insert_steps(conn: Connection, *incident_ids: int) -> None:
    """The six pending steps of each new incident, in one multi-row INSERT."""
    rows = [
        {"incident_id": incident_id, "step": step.value, "position": position}
        for incident_id in incident_ids
        for position, step in enumerate(Step, start=1)
    ]
    if rows:
        conn.execute(_INSERT_STEPS, rows).all()
