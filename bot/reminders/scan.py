"""The reminder scan: find due reminders in the database, claim each once, enqueue its posts.

Reminders are not scheduled anywhere: every few seconds each replica recomputes, from the
incidents as stored, which reminders are due (:func:`bot.domain.deadlines.due_reminders`)
and claims each by inserting its ``reminder`` row (unique per incident, step, level and
reopen round) in a savepoint. The insert succeeding means this replica claimed it; in the
same transaction it writes a timeline entry and enqueues the outbox jobs that post it
(dedup key ``reminder:{row.id}``), so a claimed reminder is always sent and never twice.
A unique violation means another replica, or an earlier run, already did.

No process-local state or locks: after a restart the scan recomputes what is due (nothing
is forgotten) and the rows stop anything already sent from repeating.

A reminder snoozed after it fired is due again when the snooze ends. That re-send is
claimed by a conditional UPDATE of the same row (``due_at`` moves forward only if it is
still the old value: one replica wins, the others update nothing) plus the outbox's unique
dedup key ``reminder:{row.id}:{due epoch}``.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy import select as core_select
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.domain.clock import Clock
from bot.domain.deadlines import ESCALATION, DueReminder, due_reminders
from bot.domain.incident import IncidentSnapshot, StepRecord
from bot.domain.plan import Plan
from bot.domain.types import IncidentStatus, Step, StepState
from bot.storage import incidents as repo
from bot.storage import jobs
from bot.storage.db import Database
from bot.storage.models import IncidentRow, ReminderRow, SnoozeRow, StepRow

log = structlog.get_logger(__name__)

POST_REMINDER = "reminder.post"  # the reminder (or escalation) line in the incident channel
ESCALATE = "reminder.escalate"  # invite the escalation contacts, then DM each
DIRECT_MESSAGE = "reminder.dm"  # one escalation contact's direct message
ACTOR = "oor-bot"
_OPEN_STATES = (StepState.PENDING.value, StepState.IN_PROGRESS.value)


def step_label(step: Step, *, capital: bool = True) -> str:
    """``Step 2 record the problem (记录问题)``."""
    return f"{'Step' if capital else 'step'} {step.number} {step.label.lower()} ({step.label_zh})"


@dataclass(frozen=True)
class Claimed:
    """A reminder this scanner claimed (and enqueued) in one scan."""

    reminder_id: int
    incident: int
    step: Step
    level: int
    generation: int
    due_at: datetime
    resent: bool = False  # a snoozed reminder sent again


@dataclass
class _Loaded:
    incidents: list[IncidentSnapshot]
    snoozes: dict[int, dict[Step, datetime]]
    fired: dict[tuple[int, str, int], ReminderRow]  # (incident, step, level), this round


class ReminderScanner:
    """Claims due reminders. ``scan()`` is what the scheduler ticks and tests call."""

    def __init__(
        self,
        db: Database,
        plan: Plan,
        clock: Clock,
        *,
        on_enqueued: Callable[[], None] = lambda: None,
        owner: str | None = None,
    ) -> None:
        self._db = db
        self._plan = plan
        self._clock = clock
        self._on_enqueued = on_enqueued
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        # Claims another replica (or an earlier scan) won first; for tests and logs.
        self.lost_claims = 0

    # -- the scan ----------------------------------------------------------------------------
    def scan(self) -> list[Claimed]:
        now = self._clock.now()
        loaded = self._load()
        claimed: list[Claimed] = []
        for incident in loaded.incidents:
            type_plan = self._plan.for_type(incident.type)
            due = due_reminders(
                incident,
                type_plan,
                now,
                loaded.snoozes.get(incident.number, {}),
                self._plan.working_hours,
                self._plan.tz,
            )
            for reminder in due:
                fired = loaded.fired.get((incident.number, reminder.step.value, reminder.level))
                result: Claimed | None = None
                try:
                    if fired is None:
                        result = self._claim(incident, reminder, now)
                    elif reminder.level != ESCALATION and fired.due_at < reminder.due_at:
                        result = self._claim_again(incident, reminder, fired, now)
                except Exception:
                    # One reminder that cannot be stored must not hold up the others; it
                    # is still due, so the next scan tries again.
                    log.exception(
                        "reminder_claim_failed", incident=incident.key, step=reminder.step.value
                    )
                if result is not None:
                    claimed.append(result)
        if claimed:
            self._on_enqueued()
            log.info("reminders_claimed", count=len(claimed), owner=self.owner)
        return claimed

    def _load(self) -> _Loaded:
        """Open incidents, their steps, snoozes and this round's fired reminders: four
        queries of plain rows. The scan runs every few seconds on every replica, so it
        skips the ORM's identity map (a quarter of a second per 1,000 open incidents)."""
        is_open = col(IncidentRow.status) != IncidentStatus.CLOSED.value
        with self._db.session() as session:
            rows = session.execute(
                core_select(repo.INCIDENT).where(is_open).order_by(col(IncidentRow.id))
            ).all()
            if not rows:
                return _Loaded([], {}, {})
            steps: dict[int, list[StepRecord]] = defaultdict(list)
            for step_row in session.execute(
                core_select(repo.STEP)
                .join(IncidentRow, col(IncidentRow.id) == col(StepRow.incident_id))
                .where(is_open)
                .order_by(col(StepRow.incident_id), col(StepRow.position))
            ):
                steps[step_row.incident_id].append(repo.step_record(step_row))
            snoozes: dict[int, dict[Step, datetime]] = defaultdict(dict)
            for number, step, until in session.execute(
                select(SnoozeRow.incident_id, SnoozeRow.step, SnoozeRow.until)
                .join(IncidentRow, col(IncidentRow.id) == col(SnoozeRow.incident_id))
                .where(is_open)
            ):
                snoozes[number][Step(step)] = until
            fired: dict[tuple[int, str, int], ReminderRow] = {}
            for reminder in session.exec(
                select(ReminderRow)
                .join(IncidentRow, col(IncidentRow.id) == col(ReminderRow.incident_id))
                .where(is_open, col(ReminderRow.generation) == col(IncidentRow.generation))
            ).all():
                fired[(reminder.incident_id, reminder.step, reminder.level)] = reminder
            incidents = [repo.build_snapshot(row, tuple(steps[row.id]), {}) for row in rows]
        return _Loaded(incidents, dict(snoozes), fired)

    # -- claiming ------------------------------------------------------------------------------
    def _claim(
        self, incident: IncidentSnapshot, reminder: DueReminder, now: datetime
    ) -> Claimed | None:
        with self._db.session() as session:
            if not _still_due(session, incident, reminder.step):
                return None
            row = ReminderRow(
                incident_id=incident.number,
                step=reminder.step.value,
                level=reminder.level,
                generation=incident.generation,
                due_at=reminder.due_at,
                fired_at=now,
                fired_by=self.owner,
            )
            try:
                with session.begin_nested():
                    session.add(row)
                    session.flush()
            except IntegrityError:
                self.lost_claims += 1
                return None  # another replica (or an earlier scan) claimed it
            assert row.id is not None
            self._record(session, incident, reminder, row.id, now, key=f"reminder:{row.id}")
        return Claimed(
            row.id,
            incident.number,
            reminder.step,
            reminder.level,
            incident.generation,
            reminder.due_at,
        )

    def _claim_again(
        self, incident: IncidentSnapshot, reminder: DueReminder, fired: ReminderRow, now: datetime
    ) -> Claimed | None:
        assert fired.id is not None
        with self._db.session() as session:
            if not _still_due(session, incident, reminder.step):
                return None
            result = session.execute(
                update(ReminderRow)
                .where(
                    col(ReminderRow.id) == fired.id,
                    col(ReminderRow.due_at) < reminder.due_at,
                )
                .values(due_at=reminder.due_at, fired_at=now, fired_by=self.owner)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                self.lost_claims += 1
                return None  # another replica sent it again already
            epoch = int(reminder.due_at.timestamp())
            key = f"reminder:{fired.id}:{epoch}"
            self._record(session, incident, reminder, fired.id, now, key=key)
        return Claimed(
            fired.id,
            incident.number,
            reminder.step,
            reminder.level,
            incident.generation,
            reminder.due_at,
            resent=True,
        )

    def _record(
        self,
        session: Session,
        incident: IncidentSnapshot,
        reminder: DueReminder,
        reminder_id: int,
        now: datetime,
        *,
        key: str,
    ) -> None:
        """The timeline entry and the outbox jobs of a claimed reminder, in its transaction."""
        label = step_label(reminder.step, capital=False)
        escalation = reminder.level == ESCALATION
        text = (
            f"escalated: {label} missed its deadline twice"
            if escalation
            else f"reminded: {label} is overdue"
        )
        repo.add_timeline(
            session,
            incident.number,
            at=now,
            actor=ACTOR,
            kind="escalation" if escalation else "reminder",
            text=text,
            data={"reminder_id": reminder_id, "level": reminder.level},
        )
        payload = {
            "reminder_id": reminder_id,
            "step": reminder.step.value,
            "level": reminder.level,
            "generation": incident.generation,
            "deadline_at": reminder.deadline_at.isoformat(),
        }
        jobs.enqueue(
            session,
            POST_REMINDER,
            now=now,
            dedup_key=key,
            incident_id=incident.number,
            payload=payload,
        )
        if escalation:
            jobs.enqueue(
                session,
                ESCALATE,
                now=now,
                dedup_key=f"{key}:escalate",
                incident_id=incident.number,
                payload=payload,
            )


def _still_due(session: Session, incident: IncidentSnapshot, step: Step) -> bool:
    """Re-read in the claiming transaction: the step may have been done since the load."""
    found = session.exec(
        select(StepRow.state, IncidentRow.status, IncidentRow.generation)
        .join(IncidentRow, col(IncidentRow.id) == col(StepRow.incident_id))
        .where(col(StepRow.incident_id) == incident.number, col(StepRow.step) == step.value)
    ).first()
    if found is None:
        return False
    state, status, generation = found
    return (
        state in _OPEN_STATES
        and status != IncidentStatus.CLOSED.value
        and generation == incident.generation
    )
