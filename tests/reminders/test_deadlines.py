"""Step deadlines in the domain: due reminders, escalations, snoozes and working hours."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.deadlines import (
    ESCALATION,
    REMINDER,
    add_working_hours,
    add_working_time,
    deadline_of,
    due_reminders,
    longest_working_span,
    step_deadlines,
    working_calendar,
    working_windows,
)
from bot.domain.incident import IncidentSnapshot, StepRecord, initial_steps
from bot.domain.plan import Plan
from bot.domain.plan_file import load_plan
from bot.domain.plan_sections import WEEKDAYS, WorkingHours
from bot.domain.types import IncidentStatus, OorType, Severity, Step, StepState
from tests.support import EXAMPLE_PLAN

SHANGHAI = ZoneInfo("Asia/Shanghai")
HOURS = WorkingHours()  # Monday to Friday, 09:00-18:00
OPENED = datetime(2026, 11, 25, 4, 30, tzinfo=UTC)  # Wednesday 12:30 in Shanghai


@pytest.fixture(scope="module")
def plan() -> Plan:
    return load_plan(EXAMPLE_PLAN)


def incident(
    oor_type: OorType = OorType.PAYMENT_FAILURE,
    severity: Severity = Severity.SEV2,
    status: IncidentStatus = IncidentStatus.OPEN,
    generation: int = 0,
    **steps: StepRecord,
) -> IncidentSnapshot:
    records = tuple(steps.get(r.step.value, r) for r in initial_steps())
    return IncidentSnapshot(
        number=1,
        type=oor_type,
        title="Alipay channel blocked",
        severity=severity,
        status=status,
        source="native",
        opened_at=OPENED,
        steps=records,
        generation=generation,
    )


def done(step: Step, at: datetime, state: StepState = StepState.DONE) -> StepRecord:
    return StepRecord(step, state=state, started_at=at, completed_at=at, completed_by="U01ALICE")


def due(
    plan: Plan,
    snap: IncidentSnapshot,
    now: datetime,
    snoozes: dict[Step, datetime] | None = None,
) -> list[tuple[Step, int]]:
    return [
        (r.step, r.level)
        for r in due_reminders(
            snap, plan.for_type(snap.type), now, snoozes or {}, plan.working_hours, plan.tz
        )
    ]


def local(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


# -- working hours -------------------------------------------------------------------------------
def test_friday_afternoon_plus_two_working_hours_is_monday_morning() -> None:
    friday_5pm = local(2026, 11, 27, 17, 0)
    assert add_working_hours(friday_5pm, timedelta(hours=2), HOURS, SHANGHAI) == local(
        2026, 11, 30, 10, 0
    )


def test_working_hours_edges() -> None:
    # Ending exactly at closing time stays on that day.
    assert add_working_hours(
        local(2026, 11, 27, 16, 0), timedelta(hours=2), HOURS, SHANGHAI
    ) == local(2026, 11, 27, 18, 0)
    # Starting before opening, at night or on a weekend counts from the next opening.
    assert add_working_hours(
        local(2026, 11, 25, 6, 0), timedelta(minutes=30), HOURS, SHANGHAI
    ) == local(2026, 11, 25, 9, 30)
    assert add_working_hours(
        local(2026, 11, 28, 11, 0), timedelta(hours=1), HOURS, SHANGHAI
    ) == local(2026, 11, 30, 10, 0)
    # Several days: 20 working hours from Monday 09:00 = Monday 9h, Tuesday 9h, Wednesday 2h.
    assert add_working_hours(
        local(2026, 11, 23, 9, 0), timedelta(hours=20), HOURS, SHANGHAI
    ) == local(2026, 11, 25, 11, 0)
    # The result keeps the start's zone (UTC in, UTC out).
    result = add_working_hours(OPENED, timedelta(hours=1), HOURS, SHANGHAI)
    assert result.tzinfo is UTC and result == OPENED + timedelta(hours=1)


def test_a_day_of_working_time_is_a_working_day() -> None:
    friday_5pm = local(2026, 11, 27, 17, 0)
    assert add_working_time(friday_5pm, timedelta(days=3), HOURS, SHANGHAI) == local(
        2026, 12, 2, 17, 0
    )
    assert add_working_time(friday_5pm, timedelta(hours=2), HOURS, SHANGHAI) == local(
        2026, 11, 30, 10, 0
    )


def test_without_a_usable_window_time_is_wall_clock() -> None:
    start = local(2026, 11, 28, 23, 0)
    for hours in (WorkingHours(days=[]), WorkingHours(start="18:00", end="09:00")):
        assert add_working_time(start, timedelta(days=1), hours, SHANGHAI) == start + timedelta(
            days=1
        )


# -- each step's deadline ----------------------------------------------------------------------
def test_deadlines_from_the_opening(plan: Plan) -> None:
    snap = incident()  # payment_failure sev2: respond 10m, record 30m, investigate 1h ...
    assert due(plan, snap, OPENED + timedelta(minutes=9, seconds=59)) == []
    assert due(plan, snap, OPENED + timedelta(minutes=10)) == [(Step.RESPOND, REMINDER)]
    assert due(plan, snap, OPENED + timedelta(minutes=30)) == [
        (Step.RESPOND, REMINDER),
        (Step.RESPOND, ESCALATION),  # +20m: the second missed deadline
        (Step.RECORD, REMINDER),
    ]
    found = {
        d.step: d.deadline_at
        for d in step_deadlines(snap, plan.for_type(snap.type), {}, HOURS, SHANGHAI)
    }
    assert found == {
        Step.RESPOND: OPENED + timedelta(minutes=10),
        Step.RECORD: OPENED + timedelta(minutes=30),
        Step.INVESTIGATE: OPENED + timedelta(hours=1),
        Step.RESOLVE: OPENED + timedelta(hours=4),
        Step.NOTIFY: OPENED + timedelta(hours=1),
        # review counts after resolve: not due while resolve is not done
    }


def test_deadline_after_a_previous_step(plan: Plan) -> None:
    # amount_error: notify is due 2h after investigate is done.
    snap = incident(OorType.AMOUNT_ERROR, Severity.SEV3)
    steps = {d.step for d in step_deadlines(snap, plan.for_type(snap.type), {}, HOURS, SHANGHAI)}
    assert Step.NOTIFY not in steps
    investigated = OPENED + timedelta(hours=3)
    snap = incident(
        OorType.AMOUNT_ERROR,
        Severity.SEV3,
        respond=done(Step.RESPOND, OPENED),
        record=done(Step.RECORD, OPENED),
        investigate=done(Step.INVESTIGATE, investigated),
    )
    assert due(plan, snap, investigated + timedelta(hours=1, minutes=59)) == []
    assert due(plan, snap, investigated + timedelta(hours=2)) == [(Step.NOTIFY, REMINDER)]
    # A skipped predecessor counts from when it was skipped.
    snap = replace(
        snap,
        steps=tuple(
            done(Step.INVESTIGATE, investigated, StepState.SKIPPED)
            if r.step is Step.INVESTIGATE
            else r
            for r in snap.steps
        ),
    )
    assert due(plan, snap, investigated + timedelta(hours=2)) == [(Step.NOTIFY, REMINDER)]


def test_severity_overrides_only_the_steps_they_list(plan: Plan) -> None:
    sev1 = incident(severity=Severity.SEV1)  # payment_failure sev1: respond 5m, notify 30m
    assert due(plan, sev1, OPENED + timedelta(minutes=5)) == [(Step.RESPOND, REMINDER)]
    assert due(plan, incident(), OPENED + timedelta(minutes=5)) == []
    found = {
        d.step: d.deadline_at - OPENED
        for d in step_deadlines(sev1, plan.for_type(sev1.type), {}, HOURS, SHANGHAI)
    }
    assert found[Step.RECORD] == timedelta(minutes=30)  # not overridden
    assert found[Step.NOTIFY] == timedelta(minutes=30)
    assert found[Step.RESOLVE] == timedelta(hours=2)


def test_review_counts_working_hours_only(plan: Plan) -> None:
    # Resolved Friday 17:00 Shanghai; payment_failure review: 5d after resolve = 5 working days.
    resolved_at = local(2026, 11, 27, 17, 0).astimezone(UTC)
    snap = incident(
        status=IncidentStatus.RESOLVED,
        respond=done(Step.RESPOND, OPENED),
        record=done(Step.RECORD, OPENED),
        investigate=done(Step.INVESTIGATE, resolved_at),
        resolve=done(Step.RESOLVE, resolved_at),
        notify=done(Step.NOTIFY, resolved_at),
    )
    [review] = step_deadlines(snap, plan.for_type(snap.type), {}, HOURS, SHANGHAI)
    assert review.step is Step.REVIEW
    assert review.deadline_at == local(2026, 12, 4, 17, 0)  # the next Friday 17:00
    assert review.escalate_at == local(2026, 12, 11, 17, 0)
    assert due(plan, snap, local(2026, 12, 4, 16, 59)) == []
    assert due(plan, snap, local(2026, 12, 4, 17, 0)) == [(Step.REVIEW, REMINDER)]


# -- what cancels and what pushes ----------------------------------------------------------------
def test_done_or_skipped_steps_are_never_due(plan: Plan) -> None:
    later = OPENED + timedelta(hours=1)
    snap = incident(
        respond=done(Step.RESPOND, OPENED + timedelta(minutes=3)),
        record=done(Step.RECORD, OPENED, StepState.SKIPPED),
    )
    steps = {step for step, _level in due(plan, snap, later)}
    assert Step.RESPOND not in steps and Step.RECORD not in steps
    assert Step.INVESTIGATE in steps  # still pending


def test_in_progress_steps_are_still_due(plan: Plan) -> None:
    started = StepRecord(
        Step.INVESTIGATE, state=StepState.IN_PROGRESS, started_at=OPENED, started_by="U02BOB"
    )
    snap = incident(investigate=started)
    assert (Step.INVESTIGATE, REMINDER) in due(plan, snap, OPENED + timedelta(hours=1))


def test_closed_incidents_never_remind(plan: Plan) -> None:
    snap = incident(status=IncidentStatus.CLOSED)
    assert due(plan, snap, OPENED + timedelta(days=30)) == []


def test_a_snooze_pushes_the_reminder_and_the_escalation(plan: Plan) -> None:
    snap = incident()
    deadline = OPENED + timedelta(minutes=10)
    until = deadline + timedelta(minutes=15)
    snoozes = {Step.RESPOND: until}
    assert due(plan, snap, deadline, snoozes) == []
    assert due(plan, snap, until - timedelta(seconds=1), snoozes) == []
    [reminder] = due_reminders(snap, plan.for_type(snap.type), until, snoozes, HOURS, SHANGHAI)
    assert (reminder.step, reminder.level, reminder.due_at) == (Step.RESPOND, REMINDER, until)
    assert reminder.deadline_at == deadline  # messages show the plan's deadline
    # Escalation: the pushed deadline plus `within` (10m) again.
    assert (Step.RESPOND, ESCALATION) not in due(plan, snap, until + timedelta(minutes=9), snoozes)
    assert (Step.RESPOND, ESCALATION) in due(plan, snap, until + timedelta(minutes=10), snoozes)
    # A snooze that ended before the deadline changes nothing.
    early = {Step.RESPOND: OPENED + timedelta(minutes=1)}
    assert due(plan, snap, deadline, early) == [(Step.RESPOND, REMINDER)]


def test_escalation_is_the_second_missed_deadline(plan: Plan) -> None:
    snap = incident(OorType.SYSTEM_CRASH, Severity.SEV1)  # respond 5m
    assert (Step.RESPOND, ESCALATION) not in due(plan, snap, OPENED + timedelta(minutes=9))
    assert (Step.RESPOND, ESCALATION) in due(plan, snap, OPENED + timedelta(minutes=10))


def test_a_reopened_incident_counts_from_the_reopening(plan: Plan) -> None:
    resolved_at = OPENED + timedelta(hours=1)
    reopened_at = OPENED + timedelta(hours=10)
    snap = incident(
        generation=1,
        respond=done(Step.RESPOND, OPENED),
        record=done(Step.RECORD, OPENED),
        investigate=done(Step.INVESTIGATE, resolved_at),
        notify=done(Step.NOTIFY, resolved_at),
    )
    # Had it not been reopened, resolve (4h from the opening) would be long overdue.
    assert due(plan, snap, reopened_at) == [(Step.RESOLVE, REMINDER), (Step.RESOLVE, ESCALATION)]
    reopened = replace(snap, reopened_at=reopened_at)
    assert due(plan, reopened, reopened_at) == []
    assert due(plan, reopened, reopened_at + timedelta(hours=3, minutes=59)) == []
    later = reopened_at + timedelta(hours=4)
    assert due(plan, reopened, later) == [(Step.RESOLVE, REMINDER)]
    assert due(plan, reopened, later + timedelta(hours=4)) == [
        (Step.RESOLVE, REMINDER),
        (Step.RESOLVE, ESCALATION),
    ]
    # A step counting from one finished after the reopening counts from that finish.
    fixed = reopened_at + timedelta(hours=1)
    resolved_again = replace(
        reopened,
        steps=tuple(done(Step.RESOLVE, fixed) if r.step is Step.RESOLVE else r for r in snap.steps),
    )
    review = deadline_of(
        Step.REVIEW, resolved_again, plan.for_type(snap.type), plan.working_hours, plan.tz
    )
    assert review == add_working_time(fixed, timedelta(days=5), plan.working_hours, plan.tz)
    # Steps finished before the reopening keep the deadlines of their round.
    type_plan = plan.for_type(snap.type)
    respond = deadline_of(Step.RESPOND, reopened, type_plan, plan.working_hours, plan.tz)
    assert respond == OPENED + timedelta(minutes=10)


def test_deadline_of_any_step_whatever_its_state(plan: Plan) -> None:
    type_plan = plan.for_type(OorType.PAYMENT_FAILURE)
    snap = incident(respond=done(Step.RESPOND, OPENED + timedelta(minutes=30)))

    def of(step: Step, snapshot: IncidentSnapshot = snap) -> datetime | None:
        return deadline_of(step, snapshot, type_plan, plan.working_hours, plan.tz)

    assert of(Step.RESPOND) == OPENED + timedelta(minutes=10)  # done late: still its deadline
    assert of(Step.REVIEW) is None  # resolve not finished
    closed = replace(snap, status=IncidentStatus.CLOSED)
    assert of(Step.RESPOND, closed) == OPENED + timedelta(minutes=10)
    # The reminders' deadlines of an untouched incident: the plan's, from the opening (the
    # review has none until the fix).
    found = step_deadlines(incident(), type_plan, {}, plan.working_hours, plan.tz)
    assert {d.step: d.deadline_at - OPENED for d in found} == {
        Step.RESPOND: timedelta(minutes=10),
        Step.RECORD: timedelta(minutes=30),
        Step.INVESTIGATE: timedelta(hours=1),
        Step.RESOLVE: timedelta(hours=4),
        Step.NOTIFY: timedelta(hours=1),
    }
    assert all(d.deadline_at == of(d.step, incident()) for d in found)


# -- the working calendar the digest adds working time with ------------------------------------
def test_working_windows_and_calendar() -> None:
    saturday = local(2026, 11, 28, 10, 0)
    windows = working_windows(saturday, HOURS, SHANGHAI)
    assert next(windows) == (local(2026, 11, 30, 9, 0), local(2026, 11, 30, 18, 0))
    assert next(windows) == (local(2026, 12, 1, 9, 0), local(2026, 12, 1, 18, 0))
    # Inside a window: that window comes first.
    assert next(working_windows(local(2026, 11, 30, 12, 0), HOURS, SHANGHAI))[0] == local(
        2026, 11, 30, 9, 0
    )
    calendar = working_calendar(saturday, local(2026, 12, 2, 12, 0), HOURS, SHANGHAI)
    assert [(w.opens, w.worked_before) for w in calendar] == [
        (local(2026, 11, 30, 9, 0), timedelta(0)),
        (local(2026, 12, 1, 9, 0), timedelta(hours=9)),
        (local(2026, 12, 2, 9, 0), timedelta(hours=18)),
    ]
    assert working_calendar(saturday, saturday, WorkingHours(days=[]), SHANGHAI) == []


def test_the_longest_span_of_a_working_deadline_bounds_every_start() -> None:
    for within in (timedelta(hours=2), timedelta(days=3), timedelta(days=5), timedelta(days=7)):
        span = longest_working_span(within, HOURS)
        start = local(2026, 11, 20, 17, 59)  # Friday evening, before a weekend
        for hour in range(0, 24 * 14, 5):
            moment = start + timedelta(hours=hour)
            assert add_working_time(moment, within, HOURS, SHANGHAI) - moment <= span
    assert longest_working_span(timedelta(days=1), WorkingHours(days=[])) == timedelta(days=1)


def test_a_window_with_a_daylight_saving_change_counts_real_time() -> None:
    new_york = ZoneInfo("America/New_York")
    night = WorkingHours(days=list(WEEKDAYS), start="00:00", end="04:00")
    # 2026-11-01: 01:00-02:00 happens twice, so that night's window is five hours long.
    start = datetime(2026, 10, 31, 23, 0, tzinfo=new_york)
    result = add_working_hours(start, timedelta(hours=4), night, new_york)
    assert result == datetime(2026, 11, 1, 4, 0, tzinfo=UTC) + timedelta(hours=4)
    assert result.astimezone(new_york).strftime("%H:%M %Z") == "03:00 EST"
