"""``incident.next_due_at``: when the incident's next reminder or escalation is due.

The reminder scan reads only incidents whose stored time has come (an index on the column),
so its cost follows the reminders that are due, not the incidents that are open. The time
is :func:`bot.domain.deadlines.next_due` of the incident as stored — its steps, severity,
reopening, snoozes and this round's claimed reminders — and NULL when nothing can become
due (closed, every step with a deadline finished).

Every write that changes one of those recomputes it in the same transaction, with the
incident row locked: :func:`refresh` (the incident service's unit of work, snoozes) and
the scan after it claims. The ingest sets it when it opens an incident
(:func:`for_new_incident`) and, when a grouped event raises the severity, sets it to now:
a time too early is harmless (the scan finds nothing to claim and recomputes it), a time
too late would hold a reminder back.

Should a write path ever forget, :func:`sweep` is the safety net: it recomputes every open
incident and only ever moves a stored time *earlier* (a conditional UPDATE), so it cannot
race a concurrent change into a time too late. It logs what it corrected.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import Row, Table, bindparam, or_, update
from sqlalchemy import select as core_select
from sqlmodel import Session

from bot.domain.deadlines import Claims, next_due
from bot.domain.incident import IncidentSnapshot, StepRecord, initial_steps
from bot.domain.plan import Plan
from bot.domain.types import IncidentStatus, OorType, Severity, Step
from bot.storage import incidents as repo
from bot.storage.db import Database
from bot.storage.models import IncidentRow, ReminderRow, SnoozeRow
from bot.storage.sql import Bind

log = structlog.get_logger(__name__)

SWEEP_CHUNK = 200  # incidents per sweep transaction
SNOOZE: Table = SnoozeRow.__table__  # type: ignore[attr-defined]
REMINDER: Table = ReminderRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Fired:
    """A claimed reminder of the current round: its row and the due time it was sent for."""

    id: int
    due_at: datetime


@dataclass
class DeadlineState:
    """What an incident's deadlines depend on, as stored."""

    incident: IncidentSnapshot
    snoozes: dict[Step, datetime] = field(default_factory=dict)
    fired: dict[tuple[Step, int], Fired] = field(default_factory=dict)

    @property
    def claims(self) -> Claims:
        return {key: fired.due_at for key, fired in self.fired.items()}


def compute(plan: Plan, state: DeadlineState) -> datetime | None:
    incident = state.incident
    return next_due(
        incident,
        plan.for_type(incident.type),
        state.snoozes,
        state.claims,
        plan.working_hours,
        plan.tz,
    )


def for_new_incident(
    plan: Plan, oor_type: OorType, severity: Severity, opened_at: datetime
) -> datetime | None:
    """The next-due time of an incident being opened: six pending steps, nothing claimed."""
    incident = IncidentSnapshot(
        number=0,
        type=oor_type,
        title="",
        severity=severity,
        status=IncidentStatus.OPEN,
        source="",
        opened_at=opened_at,
        steps=initial_steps(),
    )
    return compute(plan, DeadlineState(incident))


# -- loading ----------------------------------------------------------------------------------
def load_states(bind: Bind, rows: Sequence[Row[Any]]) -> list[DeadlineState]:
    """The deadline state of each incident row (plain rows of ``incident``): its steps,
    snoozes and this round's fired reminders, three queries for all of them."""
    if not rows:
        return []
    ids = [row.id for row in rows]
    steps: dict[int, list[StepRecord]] = defaultdict(list)
    for step_row in bind.execute(
        core_select(repo.STEP)
        .where(repo.STEP.c.incident_id.in_(ids))
        .order_by(repo.STEP.c.incident_id, repo.STEP.c.position)
    ):
        steps[step_row.incident_id].append(repo.step_record(step_row))
    snoozes: dict[int, dict[Step, datetime]] = defaultdict(dict)
    for number, step, until in bind.execute(
        core_select(SNOOZE.c.incident_id, SNOOZE.c.step, SNOOZE.c.until).where(
            SNOOZE.c.incident_id.in_(ids)
        )
    ):
        snoozes[number][Step(step)] = until
    generation = {row.id: row.generation for row in rows}
    fired: dict[int, dict[tuple[Step, int], Fired]] = defaultdict(dict)
    for reminder_id, number, step, level, round_, due_at in bind.execute(
        core_select(
            REMINDER.c.id,
            REMINDER.c.incident_id,
            REMINDER.c.step,
            REMINDER.c.level,
            REMINDER.c.generation,
            REMINDER.c.due_at,
        ).where(REMINDER.c.incident_id.in_(ids))
    ):
        if round_ == generation[number]:
            fired[number][(Step(step), level)] = Fired(reminder_id, due_at)
    return [
        DeadlineState(
            repo.build_snapshot(row, tuple(steps[row.id]), {}),
            snoozes.get(row.id, {}),
            fired.get(row.id, {}),
        )
        for row in rows
    ]


def state_of(session: Session, incident: IncidentSnapshot) -> DeadlineState:
    """The deadline state of one incident whose snapshot is already at hand."""
    snoozes = {
        Step(step): until
        for step, until in session.execute(
            core_select(SNOOZE.c.step, SNOOZE.c.until).where(
                SNOOZE.c.incident_id == incident.number
            )
        )
    }
    fired = {
        (Step(step), level): Fired(reminder_id, due_at)
        for reminder_id, step, level, due_at in session.execute(
            core_select(REMINDER.c.id, REMINDER.c.step, REMINDER.c.level, REMINDER.c.due_at).where(
                REMINDER.c.incident_id == incident.number,
                REMINDER.c.generation == incident.generation,
            )
        )
    }
    return DeadlineState(incident, snoozes, fired)


# -- writing ----------------------------------------------------------------------------------
def refresh(
    session: Session, plan: Plan, row: IncidentRow, incident: IncidentSnapshot | None = None
) -> datetime | None:
    """Recompute the next-due time of ``row`` (locked by the caller, changes flushed) and
    set it on the row; the caller's transaction stores it with the change. ``incident`` is
    the row's snapshot as flushed, when the caller has it already."""
    if incident is None:
        incident = repo.to_snapshot(session, row)
    value = compute(plan, state_of(session, incident))
    row.next_due_at = value
    session.add(row)
    return value


_SET = (
    update(repo.INCIDENT)
    .where(repo.INCIDENT.c.id == bindparam("number"))
    .values(next_due_at=bindparam("value"))
)
_LOWER = (
    update(repo.INCIDENT)
    .where(
        repo.INCIDENT.c.id == bindparam("number"),
        or_(
            repo.INCIDENT.c.next_due_at.is_(None),
            repo.INCIDENT.c.next_due_at > bindparam("value"),
        ),
    )
    .values(next_due_at=bindparam("value"))
)


def store(bind: Bind, number: int, value: datetime | None) -> None:
    """Set the time of an incident whose row this transaction holds locked."""
    bind.execute(_SET, {"number": number, "value": value})


# -- the safety net ---------------------------------------------------------------------------
def sweep(
    db: Database, plan: Plan, *, rest: float = 0.0, stop: threading.Event | None = None
) -> list[int]:
    """Recompute every open incident's time and move those stored too late (or NULL) to the
    computed one; never later. The incidents it corrected (a write path forgot them).

    Chunks of :data:`SWEEP_CHUNK` incidents, each read in one short transaction. After each
    chunk it sleeps ``rest`` times as long as the chunk took, leaving the GIL and the
    database to the requests (1.0: the sweep runs at most half the time). ``stop`` set
    ends it after the chunk at hand (a shutdown does not wait for the whole sweep).
    """
    corrected: list[int] = []
    after = 0
    while True:
        began = time.monotonic()
        with db.session() as session:
            rows = session.execute(
                core_select(repo.INCIDENT)
                .where(
                    repo.INCIDENT.c.status != IncidentStatus.CLOSED.value,
                    repo.INCIDENT.c.id > after,
                )
                .order_by(repo.INCIDENT.c.id)
                .limit(SWEEP_CHUNK)
            ).all()
            if not rows:
                break
            after = rows[-1].id
            states = load_states(session, rows)
        # Computed outside the transaction: on SQLite every transaction holds the write lock.
        for number, value in _late(plan, rows, states):
            # Each its own short transaction, holding one row lock at a time: corrections
            # are rare, and this way cannot deadlock with a delivery locking several.
            with db.engine.begin() as conn:
                result = conn.execute(_LOWER, {"number": number, "value": value})
            if result.rowcount:
                corrected.append(number)
        if len(rows) < SWEEP_CHUNK:
            break
        pause = rest * (time.monotonic() - began)
        if stop is not None and stop.wait(pause):
            break
        if stop is None and pause:
            time.sleep(pause)
    if corrected:
        log.warning("next_due_corrected", incidents=corrected[:50], count=len(corrected))
    return corrected


def _late(
    plan: Plan, rows: Sequence[Row[Any]], states: Iterable[DeadlineState]
) -> Iterable[tuple[int, datetime]]:
    for row, state in zip(rows, states, strict=True):
        value = compute(plan, state)
        if value is not None and (row.next_due_at is None or row.next_due_at > value):
            yield row.id, value
