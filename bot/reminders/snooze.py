"""Snoozing a step's reminder: one ``step_snooze`` row per incident and step, upserted.

The snooze pushes the step's deadline to ``until`` (see :mod:`bot.domain.deadlines`); the
latest snooze wins. The incident row is locked first, as every change to an incident is,
so two clicks at once queue instead of racing on the insert; the incident's next-due time
moves with the snooze in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from bot.domain.clock import Clock
from bot.domain.lifecycle import CommandRefused
from bot.domain.plan import Plan
from bot.domain.types import IncidentStatus, Step, StepState
from bot.incidents.job_kinds import JobKind
from bot.reminders.scan import step_label
from bot.slack.text import local_time
from bot.storage import incidents as repo
from bot.storage import jobs, next_due
from bot.storage.db import Database
from bot.storage.models import SnoozeRow, StepRow, TimelineRow


def snooze_step(
    db: Database,
    clock: Clock,
    plan: Plan,
    *,
    number: int,
    step: Step,
    user: str,
    minutes: int,
    on_enqueued: Callable[[], None] = lambda: None,
) -> datetime:
    """Push ``step``'s reminders to ``minutes`` from now; returns the new time.

    :class:`CommandRefused` when there is nothing to snooze (closed incident, step done).
    """
    now = clock.now()
    until = now + timedelta(minutes=minutes)
    with db.session() as session:
        row = repo.get_row(session, number, for_update=True)
        if row is None:
            raise CommandRefused(f"There is no incident OOR-{number}.")
        if row.status == IncidentStatus.CLOSED.value:
            raise CommandRefused(f"OOR-{number} is closed; there is nothing to snooze.")
        step_row = session.get(StepRow, (number, step.value))
        if step_row is None or step_row.state not in (
            StepState.PENDING.value,
            StepState.IN_PROGRESS.value,
        ):
            raise CommandRefused(f"{step_label(step)} is already finished; nothing to snooze.")
        snooze = session.get(SnoozeRow, (number, step.value))
        if snooze is None:
            snooze = SnoozeRow(
                incident_id=number, step=step.value, until=until, snoozed_by=user, snoozed_at=now
            )
        snooze.until, snooze.snoozed_by, snooze.snoozed_at = until, user, now
        session.add(snooze)
        label = step_label(step, capital=False)
        text = f"snoozed the reminder for {label} until {local_time(until, plan.tz)}"
        entry = TimelineRow(
            incident_id=number, at=now, actor=user, kind="reminder", text=text, data={}
        )
        session.add(entry)
        session.flush()
        next_due.refresh(session, plan, row)
        jobs.enqueue(
            session,
            JobKind.POST_NOTICE,
            now=now,
            dedup_key=f"{JobKind.POST_NOTICE}:{number}:timeline:{entry.id}",
            incident_id=number,
            payload={"actor": user, "text": text, "mentions": [], "kind": "reminder"},
        )
    on_enqueued()
    return until
