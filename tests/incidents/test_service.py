"""Applying lifecycle changes to stored incidents, on SQLite and PostgreSQL: one
transaction with the row locked, channel notices and the board refresh in the outbox."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import col, select

from bot.domain import lifecycle
from bot.domain.clock import ManualClock
from bot.domain.events import OorEvent, PaymentDetails
from bot.domain.facts import RecordedFacts
from bot.domain.lifecycle import CommandRefused
from bot.domain.plan import Plan
from bot.domain.records import Sentence
from bot.domain.types import (
    CauseCategory,
    IncidentStatus,
    OorType,
    Role,
    Severity,
    Step,
    StepState,
)
from bot.incidents.ingest import IngestService, Outcome
from bot.incidents.job_kinds import JobKind
from bot.incidents.service import Command, IncidentService
from bot.storage.db import Database
from bot.storage.models import IncidentRow, JobRow, RoleRow, StepRow, TimelineRow

OPENED = datetime(2026, 11, 25, 4, 30, tzinfo=UTC)
NOW = OPENED + timedelta(minutes=3)
ALICE, BOB, CAROL = "U0ALICE", "U0BOB", "U0CAROL"


class Wakes:
    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def __call__(self) -> None:
        with self._lock:
            self.count += 1


@pytest.fixture
def wakes() -> Wakes:
    return Wakes()


@pytest.fixture
def service(db: Database, wakes: Wakes, plan: Plan) -> IncidentService:
    return IncidentService(db, ManualClock(NOW), on_enqueued=wakes, plan=plan)


def open_incident(
    db: Database, plan: Plan, key: str = "evt-1", group_key: str | None = None
) -> int:
    event = OorEvent(
        source="native",
        dedup_key=key,
        type=OorType.PAYMENT_FAILURE,
        title="Alipay channel blocked",
        group_key=group_key,
        details=PaymentDetails(payment_method="alipay"),
    )
    result = IngestService(db, plan).ingest([event], now=OPENED)
    assert result.outcome is Outcome.OPENED and result.incident_number is not None
    return result.incident_number


def timeline_rows(db: Database, number: int) -> list[TimelineRow]:
    with db.session() as session:
        return list(
            session.exec(
                select(TimelineRow)
                .where(TimelineRow.incident_id == number)
                .order_by(col(TimelineRow.id))
            ).all()
        )


def job_rows(db: Database, kind: str) -> list[JobRow]:
    with db.session() as session:
        return list(
            session.exec(select(JobRow).where(JobRow.kind == kind).order_by(col(JobRow.id))).all()
        )


def everything(db: Database) -> list[Any]:
    """Every row a command may touch, as plain values, to compare before and after."""
    with db.session() as session:
        return [
            [r.model_dump() for r in session.exec(select(model)).all()]
            for model in (IncidentRow, StepRow, RoleRow, TimelineRow, JobRow)
        ]


def ack(actor: str) -> Command:
    return lambda s, t: lifecycle.acknowledge(s, actor, t)


def test_acknowledge_is_stored_with_a_notice_and_one_board_refresh(
    db: Database, plan: Plan, service: IncidentService, wakes: Wakes
) -> None:
    number = open_incident(db, plan)
    applied = service.apply(number, ALICE, lambda s, t: lifecycle.acknowledge(s, ALICE, t))

    assert applied.change.changed
    respond = applied.incident.step(Step.RESPOND)
    assert (respond.state, respond.completed_by, respond.completed_at) == (
        StepState.DONE,
        ALICE,
        NOW,
    )
    assert applied.incident.roles == {Role.COMMANDER: ALICE}
    with db.session() as session:
        step = session.get(StepRow, (number, "respond"))
        role = session.get(RoleRow, (number, "commander"))
        row = session.get(IncidentRow, number)
    assert step is not None and (step.state, step.started_by, step.started_at) == (
        "done",
        ALICE,
        NOW,
    )
    assert role is not None and (role.user_id, role.assigned_by, role.assigned_at) == (
        ALICE,
        ALICE,
        NOW,
    )
    assert row is not None and row.updated_at == NOW

    entry = timeline_rows(db, number)[-1]
    assert (entry.kind, entry.actor, entry.at) == ("step", ALICE, NOW)
    assert entry.text == applied.change.timeline[0].text
    assert entry.data == {"step": "respond", "state": "done"}

    (notice,) = job_rows(db, JobKind.POST_NOTICE)
    assert notice.dedup_key == f"post_notice:{number}:timeline:{entry.id}"
    assert notice.incident_id == number and notice.run_after == NOW
    assert notice.payload == {
        "actor": ALICE,
        "kind": "step",
        "said": [entry.text],
        "text": entry.text,
    }
    (refresh,) = job_rows(db, JobKind.REFRESH_BOARD)
    assert refresh.incident_id == number
    assert wakes.count == 1


def test_each_announced_note_gets_its_own_notice_and_the_refresh_is_shared(
    db: Database, plan: Plan, service: IncidentService
) -> None:
    number = open_incident(db, plan)
    service.apply(number, ALICE, ack(ALICE))
    # The first finding writes two timeline entries; only the finding is announced.
    applied = service.apply(number, BOB, lambda s, t: lifecycle.add_finding(s, BOB, t, "502s"))
    assert applied.incident.step(Step.INVESTIGATE).state is StepState.IN_PROGRESS

    entries = timeline_rows(db, number)
    assert [e.kind for e in entries] == ["opened", "step", "step", "finding"]
    notices = job_rows(db, JobKind.POST_NOTICE)
    assert [n.dedup_key for n in notices] == [
        f"post_notice:{number}:timeline:{entries[1].id}",
        f"post_notice:{number}:timeline:{entries[3].id}",
    ]
    assert notices[1].payload["text"] == "finding: 502s"
    assert notices[1].payload["actor"] == BOB
    # Nobody picked up the first refresh yet, so it covers the second change too.
    assert len(job_rows(db, JobKind.REFRESH_BOARD)) == 1


def test_record_merges_details_and_sets_columns(
    db: Database, plan: Plan, service: IncidentService
) -> None:
    number = open_incident(db, plan)
    ingested = service.get(number)
    assert ingested is not None and ingested.details["payment_method"] == "alipay"
    occurred = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)
    facts = RecordedFacts(occurred_at=occurred, amount=Decimal("1200.50"), currency="CNY")
    service.apply(number, ALICE, lambda s, t: lifecycle.record(s, ALICE, t, facts))
    more = RecordedFacts(merchant_id="M-10086", amount=Decimal("1300"), currency="CNY")
    applied = service.apply(number, BOB, lambda s, t: lifecycle.record(s, BOB, t, more))

    with db.session() as session:
        row = session.get(IncidentRow, number)
        step = session.get(StepRow, (number, "record"))
    assert row is not None and step is not None
    assert row.occurred_at == occurred
    assert row.details == {
        **ingested.details,  # from the event, kept
        "amount": "1300",
        "currency": "CNY",
        "merchant_id": "M-10086",
    }
    assert (step.state, step.completed_by) == ("done", ALICE)  # the update does not re-do it
    assert applied.incident.amount == Decimal("1300")
    assert [e.kind for e in timeline_rows(db, number)][1:] == ["step", "record"]


def test_assign_stores_the_role_and_the_people_named_as_data(
    db: Database, plan: Plan, service: IncidentService
) -> None:
    number = open_incident(db, plan)
    service.apply(number, ALICE, ack(ALICE))
    service.apply(number, CAROL, lambda s, t: lifecycle.assign(s, CAROL, t, Role.COMMANDER, BOB))

    with db.session() as session:
        roles = session.exec(select(RoleRow).where(RoleRow.incident_id == number)).all()
    assert [(r.role, r.user_id, r.assigned_by) for r in roles] == [("commander", BOB, CAROL)]
    entry = timeline_rows(db, number)[-1]
    said = ["made ", {"person": BOB}, " the commander (was ", {"person": ALICE}, ")"]
    assert entry.kind == "role" and entry.text == f"made {BOB} the commander (was {ALICE})"
    assert entry.data == {"role": "commander", "person": BOB, "was": ALICE, "said": said}
    assert job_rows(db, JobKind.POST_NOTICE)[-1].payload["said"] == said


def test_resolve_and_close_store_status_and_summary(
    db: Database, plan: Plan, service: IncidentService
) -> None:
    number = open_incident(db, plan)
    service.apply(number, ALICE, lambda s, t: lifecycle.resolve(s, ALICE, t, "failover"))
    applied = service.apply(number, ALICE, lambda s, t: lifecycle.close(s, ALICE, t, force=True))
    assert applied.incident.status is IncidentStatus.CLOSED
    with db.session() as session:
        row = session.get(IncidentRow, number)
        steps = {
            r.step: r.state
            for r in session.exec(select(StepRow).where(StepRow.incident_id == number)).all()
        }
    assert row is not None
    assert (row.status, row.resolved_at, row.closed_at) == ("closed", NOW, NOW)
    assert (row.resolution_summary, row.cause_category) == ("failover", "other")
    assert steps["resolve"] == "done" and steps["investigate"] == "done"


def test_the_incident_returned_after_each_command_is_the_one_stored(
    db: Database, plan: Plan, service: IncidentService
) -> None:
    # Applied.incident is built from the rows just written, not read back: after every
    # kind of change it must equal a fresh read (steps, roles, columns, details, a note
    # cut to the 3,000 characters stored).
    number = open_incident(db, plan)
    facts = RecordedFacts(amount=Decimal("88.10"), currency="CNY", merchant_id="M-7")
    commands: list[Command] = [
        ack(ALICE),
        lambda s, t: lifecycle.record(s, BOB, t, facts),
        lambda s, t: lifecycle.add_finding(s, BOB, t, "DNS"),
        lambda s, t: lifecycle.assign(s, CAROL, t, Role.COMMANDER, BOB),
        lambda s, t: lifecycle.change_severity(s, ALICE, t, Severity.SEV1),
        lambda s, t: lifecycle.start_step(s, ALICE, t, Step.NOTIFY),
        lambda s, t: lifecycle.resolve(s, ALICE, t, "failover", CauseCategory.PARTNER),
        lambda s, t: lifecycle.mark_notified(s, ALICE, t, "n" * 3500),
        lambda s, t: lifecycle.mark_reviewed(s, ALICE, t),
        lambda s, t: lifecycle.close(s, ALICE, t, force=True),
        lambda s, t: lifecycle.reopen(s, CAROL, t),
    ]
    for command in commands:
        applied = service.apply(number, ALICE, command)
        assert applied.change.changed
        assert applied.incident == service.get(number)
    notified = applied.incident.step(Step.NOTIFY).note
    assert notified is not None and len(notified) == 3000


def test_an_empty_change_writes_and_enqueues_nothing(
    db: Database, plan: Plan, service: IncidentService, wakes: Wakes
) -> None:
    number = open_incident(db, plan)
    service.apply(number, ALICE, ack(ALICE))
    before = everything(db)
    applied = service.apply(number, BOB, ack(BOB))
    assert not applied.change.changed
    assert isinstance(applied.change.reply, Sentence)
    assert applied.change.reply.people() == (ALICE,)
    assert everything(db) == before  # not even updated_at
    assert wakes.count == 1


def test_a_refused_command_leaves_the_database_unchanged(
    db: Database, plan: Plan, service: IncidentService, wakes: Wakes
) -> None:
    number = open_incident(db, plan)
    before = everything(db)
    with pytest.raises(CommandRefused, match="resolve OOR-"):
        service.apply(number, ALICE, lambda s, t: lifecycle.mark_reviewed(s, ALICE, t))
    with pytest.raises(CommandRefused, match="no incident OOR-999"):
        service.apply(999, ALICE, ack(ALICE))
    assert everything(db) == before
    assert wakes.count == 0


def test_concurrent_acknowledgements_count_once(
    db: Database, plan: Plan, service: IncidentService
) -> None:
    number = open_incident(db, plan)
    users = [f"U0USER{i}" for i in range(8)]
    start = threading.Barrier(len(users))

    def run(user: str) -> bool:
        start.wait()
        return service.apply(number, user, ack(user)).change.changed

    with ThreadPoolExecutor(len(users)) as pool:
        changed = list(pool.map(run, users))

    assert changed.count(True) == 1
    winner = users[changed.index(True)]
    steps = [e for e in timeline_rows(db, number) if e.kind == "step"]
    assert len(steps) == 1 and steps[0].actor == winner
    with db.session() as session:
        step = session.get(StepRow, (number, "respond"))
        role = session.get(RoleRow, (number, "commander"))
    assert step is not None and step.completed_by == winner
    assert role is not None and role.user_id == winner
    assert len(job_rows(db, JobKind.POST_NOTICE)) == 1


def test_reopen_is_refused_while_another_open_incident_has_the_group(
    db: Database, plan: Plan, service: IncidentService
) -> None:
    first = open_incident(db, plan, "a", group_key="alipay")
    service.apply(first, ALICE, lambda s, t: lifecycle.resolve(s, ALICE, t, "failover"))
    service.apply(first, ALICE, lambda s, t: lifecycle.close(s, ALICE, t, force=True))
    second = open_incident(db, plan, "b", group_key="alipay")
    assert second != first

    before = everything(db)
    with pytest.raises(CommandRefused, match=f"OOR-{first} cannot be reopened"):
        service.apply(first, BOB, lambda s, t: lifecycle.reopen(s, BOB, t))
    assert everything(db) == before

    # Once the other one is closed, reopening works and starts a new round.
    service.apply(second, ALICE, lambda s, t: lifecycle.resolve(s, ALICE, t, "same"))
    service.apply(second, ALICE, lambda s, t: lifecycle.close(s, ALICE, t, force=True))
    applied = service.apply(first, BOB, lambda s, t: lifecycle.reopen(s, BOB, t))
    assert applied.incident.status is IncidentStatus.OPEN
    assert applied.incident.generation == 1
    assert applied.incident.step(Step.RESOLVE).state is StepState.PENDING
