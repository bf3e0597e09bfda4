"""Snoozing a step's reminder: one ``step_snooze`` row per incident and step, upserted.

The snooze pushes the step's deadline to ``until`` (see :mod:`bot.domain.deadlines`); the
latest snooze wins. The incident row is locked first, as every change to an incident is,
so two clicks at once queue instead of racing on the insert. The timeline entry, its notice
and the incident's next-due time go through :meth:`IncidentService.apply_in` in the
snooze's own transaction, as every other change to an incident does.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.domain.clock import Clock, local_time
from bot.domain.incident import IncidentSnapshot
from bot.domain.lifecycle import Change, CommandRefused, TimelineNote
from bot.domain.plan import Plan
from bot.domain.records import said
from bot.domain.types import IncidentStatus, Step, StepState
from bot.incidents.service import IncidentService
from bot.reminders.scan import step_label
from bot.storage import incidents as repo
from bot.storage.db import Database
from bot.storage.models import SnoozeRow


def snooze_command(
    step: Step, until: datetime, plan: Plan
) -> Callable[[IncidentSnapshot, datetime], Change]:
    """The snooze's entry in the timeline, announced; refused when there is nothing to
    snooze (closed incident, step finished)."""

    def command(incident: IncidentSnapshot, _at: datetime) -> Change:
        if incident.status is IncidentStatus.CLOSED:
            raise CommandRefused(f"{incident.key} is closed; there is nothing to snooze.")
        if incident.step(step).state not in (StepState.PENDING, StepState.IN_PROGRESS):
            raise CommandRefused(f"{step_label(step)} is already finished; nothing to snooze.")
        label = step_label(step, capital=False)
        sentence = said(f"snoozed the reminder for {label} until {local_time(until, plan.tz)}")
        facts = {"step": step.value, "until": until.isoformat()}
        return Change(timeline=(TimelineNote("reminder", sentence, facts=facts),))

    return command


def _upsert_snooze(
    session: Session, number: int, step: Step, user: str, until: datetime, now: datetime
) -> None:
    snooze = session.get(SnoozeRow, (number, step.value))
    if snooze is None:
        snooze = SnoozeRow(
            incident_id=number, step=step.value, until=until, snoozed_by=user, snoozed_at=now
        )
    snooze.until, snooze.snoozed_by, snooze.snoozed_at = until, user, now
    session.add(snooze)


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
    incidents = IncidentService(db, clock, on_enqueued, plan=plan)
    now = clock.now()
    until = now + timedelta(minutes=minutes)
    with db.session() as session:
        if repo.get_row(session, number, for_update=True) is None:
            raise CommandRefused(f"There is no incident OOR-{number}.")
        # Stored first, so the next-due time the change computes sees it; a refusal from
        # the command rolls it back with everything else.
        _upsert_snooze(session, number, step, user, until, now)
        incidents.apply_in(session, number, user, snooze_command(step, until, plan))
    on_enqueued()
    return until
