"""``next_due``, the time stored per incident for the scan, is exactly the first moment at
which ``due_reminders`` reports a reminder the scan has not claimed: probed over thousands
of random incidents (steps in any state, severities, reopenings, snoozes, claims, plans with
``after:`` chains and working hours)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
import yaml

from bot.domain.deadlines import ESCALATION, REMINDER, DueReminder, due_reminders, next_due
from bot.domain.incident import IncidentSnapshot, StepRecord
from bot.domain.plan import Plan
from bot.domain.plan_file import load_plan, plan_from_data
from bot.domain.types import IncidentStatus, OorType, Severity, Step, StepState
from tests.support import EXAMPLE_PLAN

OPENED = datetime(2026, 11, 27, 8, 50, tzinfo=UTC)  # Friday 16:50 in Shanghai
TICK = timedelta(microseconds=1)


def chained_plan() -> Plan:
    """The example plan with every step counting from the one before, in working hours for
    the review, and a severity override: deadlines that move with every step change."""
    data = yaml.safe_load(EXAMPLE_PLAN.read_text())
    data["oor_types"]["amount_error"]["deadlines"] = {
        "respond": "7m",
        "record": {"within": "20m", "after": "respond"},
        "investigate": {"within": "45m", "after": "record"},
        "resolve": {"within": "3h", "after": "investigate"},
        "notify": {"within": "15m", "after": "respond"},
        "review": {"within": "1d", "after": "resolve"},
    }
    data["oor_types"]["amount_error"]["deadlines_by_severity"] = {
        "sev1": {"respond": "2m", "review": {"within": "2h", "after": "resolve"}}
    }
    return plan_from_data(data)


PLANS = [load_plan(EXAMPLE_PLAN), chained_plan()]


def claimable(
    snap: IncidentSnapshot,
    plan: Plan,
    now: datetime,
    snoozes: dict[Step, datetime],
    claims: dict[tuple[Step, int], datetime],
) -> list[DueReminder]:
    """What a scan at ``now`` would claim, by the scan's own rule, spelt out here: a
    reminder not claimed yet, or claimed for an earlier due time (a snooze pushed it); an
    escalation not claimed yet."""
    found = []
    for r in due_reminders(
        snap, plan.for_type(snap.type), now, snoozes, plan.working_hours, plan.tz
    ):
        claimed_for = claims.get((r.step, r.level))
        if claimed_for is None or (r.level == REMINDER and claimed_for < r.due_at):
            found.append(r)
    return found


def random_incident(
    rng: random.Random,
) -> tuple[IncidentSnapshot, dict[Step, datetime], dict[tuple[Step, int], datetime]]:
    def moment() -> datetime:
        return OPENED + timedelta(minutes=rng.randrange(0, 60 * 24 * 4), seconds=rng.randrange(60))

    reopened = moment() if rng.random() < 0.25 else None
    steps = []
    for step in Step:
        state = rng.choice(list(StepState))
        started = moment() if state is not StepState.PENDING else None
        completed = moment() if state in (StepState.DONE, StepState.SKIPPED) else None
        steps.append(
            StepRecord(step, state, started, "U01", completed, "U01" if completed else None)
        )
    snap = IncidentSnapshot(
        number=1,
        type=rng.choice(list(OorType)),
        title="x",
        severity=rng.choice(list(Severity)),
        status=IncidentStatus.CLOSED if rng.random() < 0.1 else IncidentStatus.OPEN,
        source="native",
        opened_at=OPENED,
        steps=tuple(steps),
        generation=1 if reopened else 0,
        reopened_at=reopened,
    )
    snoozes = {step: moment() for step in Step if rng.random() < 0.2}
    claims = {
        (step, level): moment()
        for step in Step
        for level in (REMINDER, ESCALATION)
        if rng.random() < 0.25
    }
    return snap, snoozes, claims


@pytest.mark.parametrize("seed", range(4))
def test_next_due_is_the_first_moment_a_scan_finds_something_to_claim(seed: int) -> None:
    rng = random.Random(seed)
    seen = {"some": 0, "none": 0}
    for _ in range(1000):
        plan = rng.choice(PLANS)
        snap, snoozes, claims = random_incident(rng)
        at = next_due(snap, plan.for_type(snap.type), snoozes, claims, plan.working_hours, plan.tz)
        if at is None:
            seen["none"] += 1
            far = OPENED + timedelta(days=3650)
            assert claimable(snap, plan, far, snoozes, claims) == [], snap
            continue
        seen["some"] += 1
        assert claimable(snap, plan, at, snoozes, claims), (snap, at)
        assert claimable(snap, plan, at - TICK, snoozes, claims) == [], (snap, at)
        # And anywhere else: something to claim exactly from then on.
        probe = OPENED + timedelta(minutes=rng.randrange(-60, 60 * 24 * 8))
        assert bool(claimable(snap, plan, probe, snoozes, claims)) == (probe >= at)
    assert min(seen.values()) > 50  # both cases well covered


def test_claims_move_it_to_the_next_level_and_snoozes_past_them() -> None:
    plan = PLANS[0]
    snap = IncidentSnapshot(
        number=1,
        type=OorType.PAYMENT_FAILURE,  # sev2: respond 10m, record 30m, resolve 4h …
        title="x",
        severity=Severity.SEV2,
        status=IncidentStatus.OPEN,
        source="native",
        opened_at=OPENED,
        steps=tuple(StepRecord(step) for step in Step),
    )

    def at(
        claims: dict[tuple[Step, int], datetime], snoozes: dict[Step, datetime] | None = None
    ) -> datetime | None:
        return next_due(
            snap, plan.for_type(snap.type), snoozes or {}, claims, plan.working_hours, plan.tz
        )

    minutes = timedelta(minutes=1)
    assert at({}) == OPENED + 10 * minutes
    respond = {(Step.RESPOND, REMINDER): OPENED + 10 * minutes}
    assert at(respond) == OPENED + 20 * minutes  # its escalation
    both = respond | {(Step.RESPOND, ESCALATION): OPENED + 20 * minutes}
    assert at(both) == OPENED + 30 * minutes  # record's reminder
    # Snoozed to +25m after the reminder fired: the reminder is due again then.
    assert at(respond, {Step.RESPOND: OPENED + 25 * minutes}) == OPENED + 25 * minutes
    closed = IncidentSnapshot(**{**snap.__dict__, "status": IncidentStatus.CLOSED})
    assert next_due(closed, plan.for_type(snap.type), {}, {}, plan.working_hours, plan.tz) is None
