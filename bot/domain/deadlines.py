"""Step deadlines: when a step is due, and which reminders are due now. Pure Python.

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
working day.) Each day's window is placed in the plan's time zone and then counted in real
(UTC) time, so a day whose window contains a daylight-saving change is an hour longer or
shorter. Plans without a usable window (no days, or start not before end) count wall-clock
time.

A step counting ``after`` another counts from when that step was done *or skipped*. Once an
incident has been reopened, the steps of the new round — those not finished before the
reopening — count from ``reopened_at`` at the earliest, so reopening re-arms the steps
still to do without at once escalating deadlines that ran out in the earlier round. A step
finished before the reopening keeps the deadline it had then.

:func:`deadline_of` is *the* deadline of a step. The reminders use it through
:func:`step_deadlines`; the weekly digest's compliance figures repeat it in SQL
(:mod:`bot.digest.compliance`), with the working windows from :func:`working_calendar`, and
a test holds the two to the same answers.

:func:`next_due` is the earliest moment at which a reminder or escalation not yet claimed
becomes due: what ``incident.next_due_at`` stores, so the scan reads only incidents whose
moment has come. Like :func:`due_reminders` it reads :func:`step_deadlines`, less what
:func:`already_claimed` says the scan has sent, so the two cannot disagree (a test probes
that they do not).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
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
    "WorkingWindow",
    "add_working_hours",
    "add_working_time",
    "already_claimed",
    "counts_from",
    "deadline_of",
    "due_reminders",
    "longest_working_span",
    "next_due",
    "step_deadlines",
    "unclaimed",
    "working_calendar",
    "working_duration",
    "working_windows",
]

REMINDER = 1
ESCALATION = 2
WORKING_HOURS_STEPS = frozenset({Step.REVIEW})
_OPEN_STATES = (StepState.PENDING, StepState.IN_PROGRESS)
_FINISHED_STATES = (StepState.DONE, StepState.SKIPPED)
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


@dataclass(frozen=True)
class WorkingWindow:
    """One day's working window in UTC, and the working time of the calendar before it."""

    opens: datetime
    closes: datetime
    worked_before: timedelta

    @property
    def length(self) -> timedelta:
        return self.closes - self.opens


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


def working_windows(
    after: datetime, hours: WorkingHours, tz: ZoneInfo
) -> Iterator[tuple[datetime, datetime]]:
    """The working windows (opens, closes) in UTC that close after ``after``, in order.

    Nothing for a plan without a usable window; at most ten years of them otherwise.
    """
    window = _window(hours)
    if window is None:
        return
    days = {WEEKDAYS.index(day) for day in hours.days}
    day = after.astimezone(tz).date()
    for _ in range(_MAX_DAYS):
        if day.weekday() in days:
            opens = datetime.combine(day, window[0], tzinfo=tz).astimezone(UTC)
            closes = datetime.combine(day, window[1], tzinfo=tz).astimezone(UTC)
            if closes > after and opens < closes:
                yield opens, closes
        day += timedelta(days=1)


def add_working_hours(
    start: datetime, duration: timedelta, hours: WorkingHours, tz: ZoneInfo
) -> datetime:
    """``start`` plus ``duration`` counted only inside the working windows (plan time zone).

    Friday 17:00 + 2h with 09:00–18:00 on weekdays is Monday 10:00. A result that falls on
    the end of a window stays there (Friday 16:00 + 2h is Friday 18:00). Without a usable
    window the duration is plain wall-clock time.
    """
    if _window(hours) is None or duration <= timedelta(0):
        return start + max(duration, timedelta(0))
    remaining = duration
    for opens, closes in working_windows(start, hours, tz):
        begin = max(opens, start)
        available = closes - begin
        if remaining <= available:
            return (begin + remaining).astimezone(start.tzinfo)
        remaining -= available
    raise ValueError("working hours never come: check plan.working_hours")


def working_duration(duration: timedelta, hours: WorkingHours) -> timedelta | None:
    """A plan duration as working time: whole days are working days (the window's length).

    None without a usable window (the duration then counts wall-clock time).
    """
    length = _window_length(hours)
    if length is None:
        return None
    return length * duration.days + timedelta(seconds=duration.seconds)


def add_working_time(
    start: datetime, duration: timedelta, hours: WorkingHours, tz: ZoneInfo
) -> datetime:
    """Like :func:`add_working_hours`, but whole days of ``duration`` are working days."""
    working = working_duration(duration, hours)
    if working is None:
        return start + duration
    return add_working_hours(start, working, hours, tz)


def longest_working_span(duration: timedelta, hours: WorkingHours) -> timedelta:
    """An upper bound of ``add_working_time(b, duration) - b`` over every start ``b``.

    Any seven days hold a week's working time (an hour less across a daylight-saving
    change), so ``n`` weeks' worth takes at most ``n`` weeks; one more week is the margin.
    """
    working = working_duration(duration, hours)
    if working is None:
        return duration
    length = _window_length(hours)
    assert length is not None
    per_week = length * len(set(hours.days))
    return timedelta(weeks=math.ceil(working / per_week) + 1)


def working_calendar(
    since: datetime, until: datetime, hours: WorkingHours, tz: ZoneInfo
) -> list[WorkingWindow]:
    """The working windows that close after ``since`` and open before ``until``, each with
    the working time of the windows before it: what SQL needs to add working time."""
    calendar: list[WorkingWindow] = []
    worked = timedelta(0)
    for opens, closes in working_windows(since, hours, tz):
        if opens >= until:
            break
        calendar.append(WorkingWindow(opens, closes, worked))
        worked += closes - opens
    return calendar


# -- deadlines ---------------------------------------------------------------------------------
def _add(
    step: Step, start: datetime, duration: timedelta, hours: WorkingHours, tz: ZoneInfo
) -> datetime:
    if step in WORKING_HOURS_STEPS:
        return add_working_time(start, duration, hours, tz)
    return start + duration


def _finished_at(incident: IncidentSnapshot, step: Step) -> datetime | None:
    record = incident.step(step)
    return record.completed_at if record.state in _FINISHED_STATES else None


def counts_from(step: Step, deadline: Deadline, incident: IncidentSnapshot) -> datetime | None:
    """When ``step``'s ``deadline`` starts counting: the opening, or when its ``after`` step
    was done or skipped (None while it is not); for a step of the round since the last
    reopening (not finished before it), never before that reopening."""
    if deadline.after is None:
        start: datetime | None = incident.opened_at
    else:
        start = _finished_at(incident, deadline.after)
    if start is None:
        return None
    reopened = incident.reopened_at
    finished = _finished_at(incident, step)
    if reopened is not None and (finished is None or finished >= reopened):
        start = max(start, reopened)
    return start


def deadline_of(
    step: Step,
    incident: IncidentSnapshot,
    type_plan: TypePlan,
    working_hours: WorkingHours,
    tz: ZoneInfo,
) -> datetime | None:
    """The plan's deadline for ``step`` of ``incident``, whatever the step's state; None
    when the step has no deadline or the step it counts from is not finished."""
    deadline = type_plan.deadline(step, incident.severity)
    if deadline is None:
        return None
    return _deadline_at(step, deadline, incident, working_hours, tz)


def _deadline_at(
    step: Step,
    deadline: Deadline,
    incident: IncidentSnapshot,
    working_hours: WorkingHours,
    tz: ZoneInfo,
) -> datetime | None:
    start = counts_from(step, deadline, incident)
    return None if start is None else _add(step, start, deadline.within, working_hours, tz)


def step_deadlines(
    incident: IncidentSnapshot,
    type_plan: TypePlan,
    snoozes: Mapping[Step, datetime],
    working_hours: WorkingHours,
    tz: ZoneInfo,
) -> list[StepDeadline]:
    """The deadlines of the steps still to do (pending or in progress), in step order."""
    if incident.status is IncidentStatus.CLOSED:
        return []
    found: list[StepDeadline] = []
    for step, deadline in type_plan.deadline_map(incident.severity).items():
        if incident.step(step).state not in _OPEN_STATES:
            continue
        deadline_at = _deadline_at(step, deadline, incident, working_hours, tz)
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
) -> list[DueReminder]:
    """Every reminder and escalation due at ``now``, oldest first.

    Stateless: what already fired is the caller's business (the scan's claim rows).
    """
    due: list[DueReminder] = []
    for item in step_deadlines(incident, type_plan, snoozes, working_hours, tz):
        if now >= item.remind_at:
            due.append(DueReminder(item.step, REMINDER, item.remind_at, item.deadline_at))
        if now >= item.escalate_at:
            due.append(DueReminder(item.step, ESCALATION, item.escalate_at, item.deadline_at))
    steps = list(Step)
    return sorted(due, key=lambda r: (r.due_at, steps.index(r.step), r.level))


# What the scan has claimed this round: (step, level) -> the due time it was claimed for.
Claims = Mapping[tuple[Step, int], datetime]


def already_claimed(reminder: DueReminder, claims: Claims) -> bool:
    """Whether the scan has sent ``reminder`` already (this reopen round).

    An escalation is sent once. A reminder is sent again when a snooze pushed it past the
    due time it was claimed for (the claim then moves to the new due time).
    """
    claimed_for = claims.get((reminder.step, reminder.level))
    if claimed_for is None:
        return False
    return reminder.level == ESCALATION or claimed_for >= reminder.due_at


def unclaimed(reminders: list[DueReminder], claims: Claims) -> list[DueReminder]:
    """The reminders among ``reminders`` the scan has still to send, in the same order."""
    return [r for r in reminders if not already_claimed(r, claims)]


def next_due(
    incident: IncidentSnapshot,
    type_plan: TypePlan,
    snoozes: Mapping[Step, datetime],
    claims: Claims,
    working_hours: WorkingHours,
    tz: ZoneInfo,
) -> datetime | None:
    """The earliest moment at which a reminder or escalation not yet claimed is due (it may
    be in the past); None when none can become due as things stand (closed, every step
    with a deadline finished or claimed, or counting from a step not finished yet).

    Only a change to the incident (a step, its severity, a reopening, a snooze) or a claim
    can move it, which is why it can be stored.
    """
    # due_reminders at the end of time, less the claimed, earliest first; without building
    # and sorting them all (this runs for every incident opened).
    earliest: datetime | None = None
    for item in step_deadlines(incident, type_plan, snoozes, working_hours, tz):
        for level, due_at in ((REMINDER, item.remind_at), (ESCALATION, item.escalate_at)):
            if earliest is not None and due_at >= earliest:
                continue
            if not already_claimed(DueReminder(item.step, level, due_at, item.deadline_at), claims):
                earliest = due_at
    return earliest
