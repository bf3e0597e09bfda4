"""The reminder scan: find due reminders in the database, claim each once, enqueue its posts.

Reminders are not scheduled anywhere: every few seconds each replica reads the incidents
whose stored next-due time has come (``incident.next_due_at``, indexed; see
:mod:`bot.storage.next_due`) — not every open incident — and computes from them, as stored,
which reminders are due (:func:`bot.domain.deadlines.due_reminders`, less those already
claimed). It claims each by inserting its ``reminder`` row, unique per incident, step,
level and reopen round (``INSERT ... ON CONFLICT DO NOTHING``); in the same transaction it
writes a timeline entry, enqueues the outbox jobs that post it (dedup key
``reminder:{row.id}``) and stores the incident's next next-due time. So a claimed reminder
is always sent and never twice, and the stored time moves on with it.

The due incidents are read in chunks, each one transaction with their rows locked
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite runs one writer at a time anyway): the
steps, snoozes and claims are read after the lock, so a step done meanwhile is seen, and
the next-due time written is the one of the incident as committed. A row another
transaction holds (a command, a grouped event, another replica's scan) is skipped by the
chunk and then locked alone, waiting, while the scan holds no other lock: no deadlock, and
no reminder put off. Taken after another replica, the row is no longer due, or due and
already claimed. The claim rows stay the exactly-once mechanism whatever happens.

No process-local state or locks: after a restart the scan reads what is due (nothing is
forgotten) and the rows stop anything already sent from repeating.

A reminder snoozed after it fired is due again when the snooze ends. That re-send is
claimed by a conditional UPDATE of the same row (``due_at`` moves forward only if it is
still the old value: one replica wins, the others update nothing) plus the outbox's unique
dedup key ``reminder:{row.id}:{due epoch}``.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import structlog
from sqlalchemy import Select, Table, bindparam, update
from sqlalchemy import select as core_select
from sqlalchemy.engine import Connection
from sqlalchemy.sql.dml import Insert

from bot.domain.clock import Clock
from bot.domain.deadlines import ESCALATION, DueReminder, due_reminders, unclaimed
from bot.domain.incident import IncidentSnapshot
from bot.domain.plan import Plan
from bot.domain.types import Step
from bot.storage import incidents as repo
from bot.storage import jobs, next_due
from bot.storage.db import Database
from bot.storage.models import ReminderRow
from bot.storage.next_due import DeadlineState, Fired
from bot.storage.sql import insert_ignoring_conflicts

log = structlog.get_logger(__name__)

POST_REMINDER = "reminder.post"  # the reminder (or escalation) line in the incident channel
ESCALATE = "reminder.escalate"  # invite the escalation contacts, then DM each
DIRECT_MESSAGE = "reminder.dm"  # one escalation contact's direct message
ACTOR = "oor-bot"
CHUNK = 100  # due incidents per claiming transaction
_REMINDER: Table = ReminderRow.__table__  # type: ignore[attr-defined]

# The incidents whose next reminder is due: a range of the next_due_at index.
_DUE = (
    core_select(repo.INCIDENT.c.id)
    .where(repo.INCIDENT.c.next_due_at <= bindparam("now"))
    .order_by(repo.INCIDENT.c.next_due_at)
)
# A chunk of them, locked; the condition is checked again on the row as committed. Rows
# another transaction holds are skipped (never waiting while holding the others' locks, so
# no deadlock with a delivery that locks several incidents), then taken one at a time.
_LOCK_DUE = (
    core_select(repo.INCIDENT)
    .where(
        repo.INCIDENT.c.id.in_(bindparam("ids", expanding=True)),
        repo.INCIDENT.c.next_due_at <= bindparam("now"),
    )
    .order_by(repo.INCIDENT.c.id)
)
_LOCK_CHUNK = _LOCK_DUE.with_for_update(skip_locked=True)
_LOCK_ONE = _LOCK_DUE.with_for_update()
# The re-send of a snoozed reminder: one replica moves the row's due time, the others none.
_CLAIM_AGAIN = (
    update(_REMINDER)
    .where(_REMINDER.c.id == bindparam("reminder_id"), _REMINDER.c.due_at < bindparam("due"))
    .values(due_at=bindparam("due"), fired_at=bindparam("at"), fired_by=bindparam("by"))
)


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


class ReminderScanner:
    """Claims due reminders. ``scan()`` is what the scheduler ticks and tests call;
    ``sweep()`` is the rare safety net over every open incident."""

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
        with self._db.engine.connect() as conn:
            due = list(conn.execute(_DUE, {"now": now}).scalars())
        claimed: list[Claimed] = []
        busy: list[int] = []
        for start in range(0, len(due), CHUNK):
            chunk = due[start : start + CHUNK]
            found, read = self._scan_locked(_LOCK_CHUNK, chunk, now)
            claimed += found
            busy += [number for number in chunk if number not in read]
        for number in busy:
            # Held by another transaction a moment ago (or no longer due): wait for it
            # alone, so an incident in an alert storm, its row locked by event after event,
            # still gets its reminders in this scan.
            claimed += self._scan_locked(_LOCK_ONE, [number], now)[0]
        if claimed:
            self._on_enqueued()
            log.info("reminders_claimed", count=len(claimed), owner=self.owner)
        return claimed

    def sweep(self, *, rest: float = 0.0, stop: threading.Event | None = None) -> list[int]:
        """Recompute every open incident's next-due time, moving late ones earlier: the
        safety net for a write path that forgot to (see :func:`next_due.sweep`)."""
        return next_due.sweep(self._db, self._plan, rest=rest, stop=stop)

    def _scan_locked(
        self, lock: Select[Any], ids: list[int], now: datetime
    ) -> tuple[list[Claimed], set[int]]:
        """Lock the incidents ``ids`` still due, claim what is due of each, store their
        next-due times: one transaction, in Core (no ORM flushes: a claim is one INSERT).
        The claims, and the incidents read."""
        claimed: list[Claimed] = []
        with self._db.engine.begin() as conn:
            rows = conn.execute(lock, {"ids": ids, "now": now}).all()
            for state in next_due.load_states(conn, rows):
                try:
                    with conn.begin_nested():
                        claimed += self._scan_incident(conn, state, now)
                except Exception:
                    # One incident whose reminders cannot be stored must not hold up the
                    # others; its next-due time is unchanged, so the next scan tries again.
                    log.exception("reminder_claim_failed", incident=state.incident.key)
        return claimed, {row.id for row in rows}

    def _scan_incident(
        self, conn: Connection, state: DeadlineState, now: datetime
    ) -> list[Claimed]:
        """Claim what is due of one locked incident, then store its next-due time."""
        incident = state.incident
        due = due_reminders(
            incident,
            self._plan.for_type(incident.type),
            now,
            state.snoozes,
            self._plan.working_hours,
            self._plan.tz,
        )
        claimed: list[Claimed] = []
        for reminder in unclaimed(due, state.claims):
            fired = state.fired.get((reminder.step, reminder.level))
            if fired is None:
                result = self._claim(conn, incident, reminder, now)
            else:
                result = self._claim_again(conn, incident, reminder, fired, now)
            if result is not None:
                claimed.append(result)
                state.fired[(reminder.step, reminder.level)] = Fired(
                    result.reminder_id, reminder.due_at
                )
            # A claim lost to another writer stays unclaimed in ``state``: the time stored
            # below is then this one, already due, and the next scan reads the winner's row.
        next_due.store(conn, incident.number, next_due.compute(self._plan, state))
        return claimed

    # -- claiming ------------------------------------------------------------------------------
    def _claim(
        self, conn: Connection, incident: IncidentSnapshot, reminder: DueReminder, now: datetime
    ) -> Claimed | None:
        values = {
            "incident_id": incident.number,
            "step": reminder.step.value,
            "level": reminder.level,
            "generation": incident.generation,
            "due_at": reminder.due_at,
            "fired_at": now,
            "fired_by": self.owner,
        }
        reminder_id = conn.execute(_insert_claim(conn.dialect.name), values).scalar()
        if reminder_id is None:
            self.lost_claims += 1
            return None  # another replica (or an earlier scan) claimed it
        self._record(conn, incident, reminder, reminder_id, now, key=f"reminder:{reminder_id}")
        return Claimed(
            reminder_id,
            incident.number,
            reminder.step,
            reminder.level,
            incident.generation,
            reminder.due_at,
        )

    def _claim_again(
        self,
        conn: Connection,
        incident: IncidentSnapshot,
        reminder: DueReminder,
        fired: Fired,
        now: datetime,
    ) -> Claimed | None:
        result = conn.execute(
            _CLAIM_AGAIN,
            {"reminder_id": fired.id, "due": reminder.due_at, "at": now, "by": self.owner},
        )
        if result.rowcount != 1:
            self.lost_claims += 1
            return None  # another replica sent it again already
        epoch = int(reminder.due_at.timestamp())
        key = f"reminder:{fired.id}:{epoch}"
        self._record(conn, incident, reminder, fired.id, now, key=key)
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
        conn: Connection,
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
        repo.insert_timeline(
            conn,
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
        posts = [
            jobs.job_values(
                POST_REMINDER,
                now=now,
                dedup_key=key,
                incident_id=incident.number,
                payload=payload,
            )
        ]
        if escalation:
            posts.append(
                jobs.job_values(
                    ESCALATE,
                    now=now,
                    dedup_key=f"{key}:escalate",
                    incident_id=incident.number,
                    payload=payload,
                )
            )
        jobs.insert_jobs(conn, posts)


@cache
def _insert_claim(dialect: str) -> Insert:
    """The claim: a reminder row unless its (incident, step, level, round) is taken."""
    stmt = insert_ignoring_conflicts(
        dialect, _REMINDER, unique=["incident_id", "step", "level", "generation"]
    )
    return stmt.returning(_REMINDER.c.id)
