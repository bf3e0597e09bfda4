"""Step deadlines: when a step is overdue, and which reminders are due now. Pure Python.

The plan gives each step a :class:`~bot.domain.plan.Deadline` (``within`` after the opening
or after an earlier step). From it:

- **level 1, the reminder**, is due at the step's deadline;
- **level 2, the escalation**, is due at a *second* missed deadline: the deadline plus the
  same ``within`` again (``respond: 10m`` reminds at +10m and escalates at +20m).

Only a step that is still pending or in progress, of an incident that is not closed, is ever
due; finishing (or skipping) a step before its deadline simply makes nothing due.

**Snoozing** pushes the deadline: the step is due at ``max(deadline, snoozed until)``, and
the escalation moves with it (pushed deadline + ``within``). A reminder that already fired
and was then snoozed is due again at the snooze's end (the scan re-sends it once).

**Review** (step 6) counts only working hours (``plan.working_hours`` in the plan's time
zone); every other step counts wall-clock time. In a working-hours duration a *day* is one
working day (the length of the working window, 9h for 09:00–18:00), hours and minutes are
working hours: ``review: {within: 3d, after: resolve}`` is three working days after the fix,
and Friday 17:00 + 2h is Monday 10:00. (``24h`` equals ``1d`` once parsed, so it too is one
working day.) Plans without a usable window (no days, or start not before end) count
wall-clock time.

A step counting ``after`` another counts from when that step was done *or skipped*. In a
reopened round (``generation`` > 0) nothing counts from before the reopening: every
deadline starts at ``reopened_at`` at the earliest, so reopening re-arms the steps still to
do without at once escalating deadlines that ran out in the first round.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.incident import IncidentSnapshot
from bot.domain.plan import Deadline, TypePlan
from bot.domain.plan_sections import WEEKDAYS, WorkingHours
from bot.domain.types import IncidentStatus, Step, StepState

__all__ = [
    "ESCALATION",
    "REMINDER",
    "WORKING_HOURS_STEPS",
    "DueReminder",
    "StepDeadline",
    "add_working_hours",
    "add_working_time",
    "due_reminders",
    "step_deadlines",
]

REMINDER = 1
ESCALATION = 2
WORKING_HOURS_STEPS = frozenset({Step.REVIEW})
_OPEN_STATES = (StepState.PENDING, StepState.IN_PROGRESS)
_MAX_DAYS = 3660  # ten years of calendar: a guard against a window that never comes


@dataclass(frozen=True)
class DueReminder:
    """A reminder (level 1) or escalation (level 2) of ``step`` due since ``due_at``.

    ``deadline_at`` is the plan's deadline (before any snooze), what messages show.
    """

    step: Step
    level: int
    due_at: datetime
    deadline_at: datetime


@dataclass(frozen=True)
class StepDeadline:
    step: Step
    deadline_at: datetime  # the plan's deadline
    remind_at: datetime  # pushed by a snooze
    escalate_at: datetime


# -- working hours --------------------------------------------------------------------------
def _window(hours: WorkingHours) -> tuple[time, time] | None:
    start = time.fromisoformat(hours.start)
    end = time.fromisoformat(hours.end)
    if not hours.days or start >= end:
        return None
    return start, end


def _window_length(hours: WorkingHours) -> timedelta | None:
    window = _window(hours)
    if window is None:
        return None
    day = date(2000, 1, 3)
    return datetime.combine(day, window[1]) - datetime.combine(day, window[0])


def add_working_hours(
    start: datetime, duration: timedelta, hours: WorkingHours, tz: ZoneInfo
) -> datetime:
    """``start`` plus ``duration`` counted only inside the working window (plan time zone).

    Friday 17:00 + 2h with 09:00–18:00 on weekdays is Monday 10:00. A result that falls on
    the end of a window stays there (Friday 16:00 + 2h is Friday 18:00). Without a usable
    window the duration is plain wall-clock time.
    """
    window = _window(hours)
    if window is None or duration <= timedelta(0):
        return start + max(duration, timedelta(0))
    days = {WEEKDAYS.index(day) for day in hours.days}
    remaining = duration
    local = start.astimezone(tz)
    day = local.date()
    for _ in range(_MAX_DAYS):
        if day.weekday() in days:
            opens = datetime.combine(day, window[0], tzinfo=tz)
            closes = datetime.combine(day, window[1], tzinfo=tz)
            begin = max(opens, local)
            if begin < closes:
                available = closes - begin
                if remaining <= available:
                    return (begin + remaining).astimezone(start.tzinfo)
                remaining -= available
        day += timedelta(days=1)
    raise ValueError("working hours never come: check plan.working_hours")


def add_working_time(
    start: datetime, duration: timedelta, hours: WorkingHours, tz: ZoneInfo
) -> datetime:
    """Like :func:`add_working_hours`, but whole days of ``duration`` are working days."""
    length = _window_length(hours)
    if length is None:
        return start + duration
    working = length * duration.days + timedelta(seconds=duration.seconds)
    return add_working_hours(start, working, hours, tz)


# -- deadlines ---------------------------------------------------------------------------------
def _add(
    step: Step, start: datetime, duration: timedelta, hours: WorkingHours, tz: ZoneInfo
) -> datetime:
    if step in WORKING_HOURS_STEPS:
        return add_working_time(start, duration, hours, tz)
    return start + duration


def _finished_at(incident: IncidentSnapshot) -> dict[Step, datetime]:
    return {
        record.step: record.completed_at
        for record in incident.steps
        if record.state in (StepState.DONE, StepState.SKIPPED) and record.completed_at is not None
    }


def _deadline_at(
    step: Step,
    deadline: Deadline,
    incident: IncidentSnapshot,
    finished: Mapping[Step, datetime],
    hours: WorkingHours,
    tz: ZoneInfo,
    reopened_at: datetime | None,
) -> datetime | None:
    # Deadline.due_at gives the start plus `within`; recompute from the start so that the
    # review's `within` can be counted in working hours.
    if deadline.after is None:
        counts_from: datetime | None = incident.opened_at
    else:
        counts_from = finished.get(deadline.after)
    if counts_from is None:
        return None  # the step it counts from is not done yet
    if incident.generation > 0 and reopened_at is not None:
        counts_from = max(counts_from, reopened_at)
    return _add(step, counts_from, deadline.within, hours, tz)


def step_deadlines(
    incident: IncidentSnapshot,
    type_plan: TypePlan,
    snoozes: Mapping[Step, datetime],
    working_hours: WorkingHours,
    tz: ZoneInfo,
    reopened_at: datetime | None = None,
) -> list[StepDeadline]:
    """The deadlines of the steps still to do (pending or in progress), in step order."""
    if incident.status is IncidentStatus.CLOSED:
        return []
    finished = _finished_at(incident)
    found: list[StepDeadline] = []
    for step, deadline in type_plan.deadline_map(incident.severity).items():
        if incident.step(step).state not in _OPEN_STATES:
            continue
        deadline_at = _deadline_at(
            step, deadline, incident, finished, working_hours, tz, reopened_at
        )
        if deadline_at is None:
            continue
        snoozed = snoozes.get(step)
        remind_at = max(deadline_at, snoozed) if snoozed is not None else deadline_at
        escalate_at = _add(step, remind_at, deadline.within, working_hours, tz)
        found.append(StepDeadline(step, deadline_at, remind_at, escalate_at))
    return found


def due_reminders(
    incident: IncidentSnapshot,
    type_plan: TypePlan,
    now: datetime,
    snoozes: Mapping[Step, datetime],
    working_hours: WorkingHours,
    tz: ZoneInfo,
    *,
    reopened_at: datetime | None = None,
) -> list[DueReminder]:
    """Every reminder and escalation due at ``now``, oldest first.

    Stateless: what already fired is the caller's business (the scan's claim rows).
    """
    due: list[DueReminder] = []
    for item in step_deadlines(incident, type_plan, snoozes, working_hours, tz, reopened_at):
        if now >= item.remind_at:
            due.append(DueReminder(item.step, REMINDER, item.remind_at, item.deadline_at))
        if now >= item.escalate_at:
            due.append(DueReminder(item.step, ESCALATION, item.escalate_at, item.deadline_at))
    steps = list(Step)
    return sorted(due, key=lambda r: (r.due_at, steps.index(r.step), r.level))
