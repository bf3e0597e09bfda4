"""``incident.next_due_at`` on SQLite and PostgreSQL: set when an incident opens, moved in
the same transaction by every write that can change it (step changes, severity, close,
reopen, snoozes, claimed reminders, a grouped event raising the severity, post-mortem
publish, approved notifications), and the sweep that catches a time left too late."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select as core_select

from bot.domain import lifecycle
from bot.domain.clock import ManualClock
from bot.domain.plan import Plan
from bot.domain.plan_sections import Locale, NotifyChannel
from bot.domain.types import CauseCategory, OorType, Severity, Step
from bot.incidents.ingest import IngestService
from bot.incidents.service import Command, IncidentService
from bot.notifications.service import DraftService
from bot.notifications.templates import NotificationTemplates
from bot.postmortems.model import ReviewNotes
from bot.postmortems.service import PostmortemService
from bot.reminders.scan import ReminderScanner
from bot.reminders.snooze import snooze_step
from bot.resources import TEMPLATES_DIR
from bot.storage import incidents as repo
from bot.storage import next_due
from bot.storage.db import Database
from bot.storage.models import IncidentRow
from tests.api import open_incident, update_incident
from tests.ingest_helpers import event_from
from tests.support import native_event

START = datetime(2026, 11, 25, 4, 30, tzinfo=UTC)  # Wednesday 12:30 in Shanghai
MINUTE = timedelta(minutes=1)


def stored(db: Database, number: int) -> datetime | None:
    with db.session() as session:
        row = session.get(IncidentRow, number)
        assert row is not None
        return row.next_due_at


def recomputed(db: Database, plan: Plan, number: int) -> datetime | None:
    """The time from the rows as they are now, by the domain function."""
    with db.session() as session:
        rows = session.execute(core_select(repo.INCIDENT).where(repo.INCIDENT.c.id == number))
        [state] = next_due.load_states(session, rows.all())
        return next_due.compute(plan, state)


def in_step(db: Database, plan: Plan, number: int) -> datetime | None:
    """The stored time, checked against the rows: what every write must leave behind."""
    value = stored(db, number)
    assert value == recomputed(db, plan, number)
    return value


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def service(db: Database, clock: ManualClock, plan: Plan) -> IncidentService:
    return IncidentService(db, clock, lambda: None, plan=plan)


def test_opening_stores_the_first_deadline(db: Database, plan: Plan) -> None:
    sev2 = open_incident(db, plan, "a", at=START)  # payment_failure: respond 10m
    sev1 = open_incident(db, plan, "b", at=START, severity=Severity.SEV1)  # respond 5m
    crash = open_incident(db, plan, "c", at=START, type=OorType.SYSTEM_CRASH)  # sev1: 5m
    assert in_step(db, plan, sev2) == START + 10 * MINUTE
    assert in_step(db, plan, sev1) == START + 5 * MINUTE
    assert in_step(db, plan, crash) == START + 5 * MINUTE


def test_every_step_severity_and_status_change_moves_it(
    db: Database, plan: Plan, clock: ManualClock, service: IncidentService
) -> None:
    number = open_incident(db, plan, "a", at=START)  # payment_failure sev2

    def run(minutes: int, command: Command) -> None:
        clock.set(START + minutes * MINUTE)
        service.apply(number, "U01ALICE", command)

    run(3, lambda s, t: lifecycle.acknowledge(s, "U01ALICE", t))
    assert in_step(db, plan, number) == START + 30 * MINUTE  # record
    run(5, lambda s, t: lifecycle.skip(s, "U01ALICE", t, Step.RECORD, "on paper"))
    assert in_step(db, plan, number) == START + 60 * MINUTE  # investigate and notify
    run(6, lambda s, t: lifecycle.change_severity(s, "U01ALICE", t, Severity.SEV1))
    assert in_step(db, plan, number) == START + 30 * MINUTE  # sev1 notifies within 30m
    run(7, lambda s, t: lifecycle.mark_notified(s, "U01ALICE", t, None))
    assert in_step(db, plan, number) == START + 60 * MINUTE  # investigate
    run(8, lambda s, t: lifecycle.skip(s, "U01ALICE", t, Step.INVESTIGATE, "obvious"))
    assert in_step(db, plan, number) == START + 120 * MINUTE  # sev1 resolves within 2h
    run(20, lambda s, t: lifecycle.resolve(s, "U01ALICE", t, "rerouted", CauseCategory.NETWORK))
    # The review: five working days (09:00-18:00) from Wednesday 12:50 is Wednesday 12:50.
    assert in_step(db, plan, number) == START + timedelta(days=7, minutes=20)
    run(30, lambda s, t: lifecycle.close(s, "U01ALICE", t, True))
    assert in_step(db, plan, number) is None  # closed: nothing can be due
    run(60, lambda s, t: lifecycle.reopen(s, "U01ALICE", t))
    assert in_step(db, plan, number) == START + 180 * MINUTE  # resolve again, from the reopening
    run(61, lambda s, t: lifecycle.add_note(s, "U01ALICE", t, "looking"))
    assert in_step(db, plan, number) == START + 180 * MINUTE


def test_claims_and_snoozes_move_it(db: Database, plan: Plan, clock: ManualClock) -> None:
    number = open_incident(db, plan, "a", at=START)
    scanner = ReminderScanner(db, plan, clock)
    clock.set(START + 10 * MINUTE)
    assert len(scanner.scan()) == 1  # respond's reminder
    assert in_step(db, plan, number) == START + 20 * MINUTE  # its escalation
    snooze_step(db, clock, plan, number=number, step=Step.RESPOND, user="U01ALICE", minutes=15)
    assert in_step(db, plan, number) == START + 25 * MINUTE  # the reminder, sent again
    clock.set(START + 25 * MINUTE)
    [again] = scanner.scan()
    assert again.resent
    assert in_step(db, plan, number) == START + 30 * MINUTE  # record's reminder


def test_a_grouped_event_raising_the_severity_brings_the_deadline_forward(
    db: Database, plan: Plan, clock: ManualClock
) -> None:
    ingest = IngestService(db, plan)
    first = native_event(id="e1", group_key="alipay", severity="sev2")
    number = ingest.ingest([event_from(first)], now=START).incident_number
    assert number is not None and stored(db, number) == START + 10 * MINUTE
    clock.set(START + 3 * MINUTE)
    same = native_event(id="e2", group_key="alipay", severity="sev2")
    ingest.ingest([event_from(same)], now=clock.now())
    assert stored(db, number) == START + 10 * MINUTE  # nothing changed
    worse = native_event(id="e3", group_key="alipay", severity="sev1")
    ingest.ingest([event_from(worse)], now=clock.now())
    # sev1 responds within 5m: the time becomes now, and the scan works out the rest.
    assert stored(db, number) == clock.now()
    scanner = ReminderScanner(db, plan, clock)
    assert scanner.scan() == []
    assert in_step(db, plan, number) == START + 5 * MINUTE
    clock.set(START + 5 * MINUTE)
    assert [(c.step, c.level) for c in scanner.scan()] == [(Step.RESPOND, 1)]


def test_publishing_the_postmortem_and_approving_notifications_move_it(
    db: Database, plan: Plan, clock: ManualClock, service: IncidentService
) -> None:
    number = open_incident(db, plan, "a", at=START)
    clock.set(START + 3 * MINUTE)
    commands: list[Command] = [
        lambda s, t: lifecycle.acknowledge(s, "U01ALICE", t),
        lambda s, t: lifecycle.skip(s, "U01ALICE", t, Step.RECORD, "on paper"),
        lambda s, t: lifecycle.skip(s, "U01ALICE", t, Step.INVESTIGATE, "obvious"),
        lambda s, t: lifecycle.resolve(s, "U02BOB", t, "rerouted", CauseCategory.NETWORK),
    ]
    for command in commands:
        service.apply(number, "U01ALICE", command)
    # Left: notify (1h from the opening) and the review (5 working days from the fix).
    assert in_step(db, plan, number) == START + 60 * MINUTE
    drafts = DraftService(db, clock, service, plan, NotificationTemplates(None, TEMPLATES_DIR))
    incident = service.get(number)
    assert incident is not None
    [draft] = drafts.create(incident, "U03CAROL", [(NotifyChannel.SMS, Locale.ZH_CN)]).created
    assert in_step(db, plan, number) == START + 60 * MINUTE  # in progress: still due
    assert drafts.approve(draft.id, "U02BOB").changed
    review = START + timedelta(days=7, minutes=3)  # Wednesday 12:33, a week on
    assert in_step(db, plan, number) == review
    postmortems = PostmortemService(
        db, plan, clock, service, on_enqueued=lambda: None, names=lambda ids: {}
    )
    postmortems.submit_review(number, "U01ALICE", ReviewNotes(root_cause="a route"), [])
    assert in_step(db, plan, number) == review  # compiled, not published
    postmortems.publish(number, 1, "U01ALICE")
    assert in_step(db, plan, number) is None  # every step with a deadline is finished


def test_the_sweep_moves_late_times_earlier_and_never_later(db: Database, plan: Plan) -> None:
    forgotten = open_incident(db, plan, "a", at=START)  # due at +10m
    unknown = open_incident(db, plan, "b", at=START)
    early = open_incident(db, plan, "c", at=START)
    right = open_incident(db, plan, "d", at=START)
    update_incident(db, forgotten, next_due_at=START + timedelta(days=1))
    update_incident(db, unknown, next_due_at=None)
    update_incident(db, early, next_due_at=START + MINUTE)  # harmless: the scan recomputes
    assert sorted(next_due.sweep(db, plan)) == [forgotten, unknown]
    for number in (forgotten, unknown, right):
        assert in_step(db, plan, number) == START + 10 * MINUTE
    assert stored(db, early) == START + MINUTE
    assert next_due.sweep(db, plan) == []


def test_the_sweep_reads_every_open_incident_in_chunks(
    db: Database, plan: Plan, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(next_due, "SWEEP_CHUNK", 3)
    numbers = [open_incident(db, plan, f"e{i}", at=START) for i in range(7)]
    for number in numbers:
        update_incident(db, number, next_due_at=None)
    assert sorted(next_due.sweep(db, plan)) == numbers
    assert {stored(db, n) for n in numbers} == {START + 10 * MINUTE}


def test_a_shutdown_ends_the_sweep_after_the_chunk_at_hand(
    db: Database, plan: Plan, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(next_due, "SWEEP_CHUNK", 3)
    numbers = [open_incident(db, plan, f"e{i}", at=START) for i in range(7)]
    for number in numbers:
        update_incident(db, number, next_due_at=None)
    stopping = threading.Event()
    stopping.set()
    assert next_due.sweep(db, plan, rest=1.0, stop=stopping) == numbers[:3]
    assert sorted(next_due.sweep(db, plan, rest=1.0, stop=threading.Event())) == numbers[3:]
