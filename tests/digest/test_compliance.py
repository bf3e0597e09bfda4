"""Step-deadline compliance uses the reminders' deadlines: working hours for the review,
the reopening, skipped predecessors. Hand-computed cases, then the SQL held against
:func:`bot.domain.deadlines.deadline_of` over a few hundred random incidents."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from bot.digest.compliance import Compliance, step_compliance
from bot.digest.schedule import IsoWeek
from bot.domain.deadlines import deadline_of
from bot.domain.incident import IncidentSnapshot
from bot.domain.plan import Plan
from bot.domain.types import OorType, Severity, Step, StepState
from bot.storage import incidents as repo
from bot.storage.db import Database
from bot.storage.models import IncidentRow, StepRow
from bot.storage.sql import dialect_name
from tests.digest.fixture_week import digest_plan

SHANGHAI = ZoneInfo("Asia/Shanghai")
W47 = IsoWeek(2026, 47)  # Shanghai: Monday 2026-11-16 00:00 to Monday 2026-11-23 00:00


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """A November 2026 time in Shanghai, as aware UTC."""
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def store(
    db: Database,
    *,
    type: str = "payment_failure",
    severity: str = "sev2",
    opened: datetime,
    steps: dict[Step, tuple[StepState, datetime | None]],
    reopened: datetime | None = None,
) -> int:
    with db.session() as session:
        return add_incident(session, type, severity, opened, steps, reopened)


def add_incident(
    session: Session,
    type: str,
    severity: str,
    opened: datetime,
    steps: dict[Step, tuple[StepState, datetime | None]],
    reopened: datetime | None,
) -> int:
    row = IncidentRow(
        type=type,
        title="Incident",
        severity=severity,
        status="open",
        source="native",
        opened_at=opened,
        reopened_at=reopened,
        generation=1 if reopened else 0,
        details={},
        updated_at=opened,
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    for position, step in enumerate(Step, start=1):
        state, at = steps.get(step, (StepState.PENDING, None))
        session.add(
            StepRow(
                incident_id=row.id,
                step=step,
                position=position,
                state=state.value,
                completed_at=at,
            )
        )
    return row.id


def compliance(db: Database, plan: Plan, week: IsoWeek) -> dict[str, Compliance]:
    start, end = week.bounds(plan.tz)
    with db.session() as session:
        return step_compliance(session, dialect_name(session), plan, start, end)


DONE, SKIPPED = StepState.DONE, StepState.SKIPPED


def test_the_review_deadline_counts_working_days(db: Database) -> None:
    plan = digest_plan()  # payment_failure: review 3d after resolve; Mon-Fri 09:00-18:00
    # Resolved Friday 11-13 15:00: three working days (27h) end Wednesday 11-18 15:00; three
    # calendar days would end Monday 11-16 15:00. Reviewed Tuesday 10:00: on time, in W47.
    friday = local(13, 14)
    store(
        db,
        opened=friday,
        steps={
            Step.RESPOND: (DONE, friday + timedelta(minutes=5)),
            Step.RESOLVE: (DONE, local(13, 15)),
            Step.REVIEW: (DONE, local(17, 10)),
        },
    )
    # Resolved Saturday 11-14: counted from Monday 09:00, due Wednesday 18:00. Still
    # pending: missed at Wednesday 18:00, in W47 (a calendar count would say Tuesday).
    store(
        db,
        opened=local(14, 11),
        steps={Step.RESPOND: (DONE, local(14, 11, 5)), Step.RESOLVE: (DONE, local(14, 12))},
    )
    # Resolved Wednesday 11-18 17:00: due Monday 11-23 17:00, after W47: not judged yet.
    store(
        db,
        opened=local(18, 16),
        steps={Step.RESPOND: (DONE, local(18, 16, 5)), Step.RESOLVE: (DONE, local(18, 17))},
    )
    assert compliance(db, plan, W47)["review"] == Compliance(1, 2)
    assert compliance(db, plan, W47.next())["review"] == Compliance(0, 1)
    # The week before judged none of them: the first two deadlines lie in W47.
    assert compliance(db, plan, W47.previous())["review"] == Compliance(0, 0)


def test_a_reopened_incident_counts_from_the_reopening(db: Database) -> None:
    plan = digest_plan()  # payment_failure resolve: 2h from the opening
    opened = local(16, 10)
    # Reopened Tuesday 12:00 and resolved again at 13:30: due 14:00 (not Monday 12:00).
    store(
        db,
        opened=opened,
        steps={Step.RESPOND: (DONE, local(16, 10, 5)), Step.RESOLVE: (DONE, local(17, 13, 30))},
        reopened=local(17, 12),
    )
    assert compliance(db, plan, W47)["resolve"] == Compliance(1, 1)
    # A step finished before the reopening keeps its deadline: acknowledged after 30m of
    # 10m, it stays missed (Monday 10:10) however late the incident is reopened.
    store(
        db,
        opened=opened,
        steps={Step.RESPOND: (DONE, local(16, 10, 30))},
        reopened=local(19, 12),
    )
    assert compliance(db, plan, W47)["respond"] == Compliance(1, 2)


def test_a_skipped_step_is_not_counted_and_a_later_step_counts_from_its_skipping(
    db: Database,
) -> None:
    plan = digest_plan()
    # Resolve skipped Monday 11:00: not counted; the review counts from then (due Thursday
    # 11:00) and is done Wednesday.
    store(
        db,
        opened=local(16, 10),
        steps={
            Step.RESPOND: (DONE, local(16, 10, 5)),
            Step.RESOLVE: (SKIPPED, local(16, 11)),
            Step.REVIEW: (DONE, local(18, 10)),
        },
    )
    found = compliance(db, plan, W47)
    assert found["resolve"] == Compliance(0, 0) and found["review"] == Compliance(1, 1)


# -- the SQL and the domain agree ---------------------------------------------------------------
def random_incidents(db: Database, plan: Plan, count: int, since: datetime) -> None:
    """Incidents over four weeks, any hour of any day, with steps done, skipped, pending
    or in progress at random times, some done before the step they count from, some
    reopened."""
    rng = random.Random(20261126)
    four_weeks = 28 * 86400
    with db.session() as session:  # one transaction: the same rows, a fraction of the time
        for _ in range(count):
            _add_random_incident(session, rng, since + timedelta(seconds=rng.randrange(four_weeks)))


def _add_random_incident(session: Session, rng: random.Random, opened: datetime) -> None:
    steps: dict[Step, tuple[StepState, datetime | None]] = {}
    at = opened
    for step in Step:
        at += timedelta(seconds=rng.choice([60, 600, 3600, 4 * 3600, 86400, 3 * 86400]))
        at += timedelta(seconds=rng.randrange(3 * 86400))
        state = rng.choice([DONE, DONE, DONE, SKIPPED, StepState.PENDING])
        if state is StepState.PENDING and rng.random() < 0.3:
            state = StepState.IN_PROGRESS
        steps[step] = (state, at if state in (DONE, SKIPPED) else None)
    reopened = None
    if rng.random() < 0.2:
        reopened = opened + timedelta(seconds=rng.randrange(5 * 86400))
    add_incident(
        session,
        rng.choice(list(OorType)).value,
        rng.choice(list(Severity)).value,
        opened,
        steps,
        reopened,
    )


def load_incidents(db: Database) -> list[IncidentSnapshot]:
    with db.session() as session:
        numbers = [n for n in session.exec(select(IncidentRow.id)).all() if n is not None]
        found = [repo.snapshot(session, n) for n in numbers]
    return [incident for incident in found if incident is not None]


def expected_compliance(
    incidents: list[IncidentSnapshot], plan: Plan, week: IsoWeek
) -> dict[str, Compliance]:
    """What the domain's deadlines say: on time when done by the deadline (judged then),
    missed otherwise (judged at the deadline); skipped steps are not counted."""
    start, end = week.bounds(plan.tz)
    met: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for incident in incidents:
        type_plan = plan.for_type(incident.type)
        for step in type_plan.deadline_map(incident.severity):
            record = incident.step(step)
            due = deadline_of(step, incident, type_plan, plan.working_hours, plan.tz)
            if record.state is StepState.SKIPPED or due is None:
                continue
            done = record.state is StepState.DONE and record.completed_at is not None
            if done and record.completed_at is not None and record.completed_at <= due:
                if start <= record.completed_at < end:
                    met[step.value] += 1
                    total[step.value] += 1
            elif start <= due < end:
                total[step.value] += 1
    steps_with_deadlines = {
        step.value
        for oor_type in OorType
        for severity in Severity
        for step in plan.for_type(oor_type).deadline_map(severity)
    }
    return {
        step.value: Compliance(met[step.value], total[step.value])
        for step in Step
        if step.value in steps_with_deadlines
    }


@pytest.mark.parametrize("plan_name", ["example", "digest"])
def test_the_sql_agrees_with_the_domain_deadlines(db: Database, plan: Plan, plan_name: str) -> None:
    chosen = plan if plan_name == "example" else digest_plan()
    start, _ = IsoWeek(2026, 45).bounds(chosen.tz)
    random_incidents(db, chosen, 300, start)
    incidents = load_incidents(db)  # read once: the weeks below only read
    assert len(incidents) == 300
    week = IsoWeek(2026, 45)
    judged = 0
    for _ in range(6):
        found = compliance(db, chosen, week)
        assert found == expected_compliance(incidents, chosen, week), str(week)
        judged += sum(c.total for c in found.values())
        week = week.next()
    assert judged > 500  # the weeks were not empty
    review = [compliance(db, chosen, IsoWeek(2026, w))["review"] for w in (47, 48, 49)]
    assert all(c.total > 5 for c in review), review
