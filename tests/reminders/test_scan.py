"""The claim-and-enqueue scan on SQLite and PostgreSQL: each reminder once, across restarts
and replicas, cancelled by finishing the step, re-armed by reopening."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlmodel import col, select

from bot.domain import lifecycle
from bot.domain.clock import ManualClock
from bot.domain.deadlines import ESCALATION, REMINDER, due_reminders
from bot.domain.incident import IncidentSnapshot
from bot.domain.lifecycle import Change
from bot.domain.plan import Plan
from bot.domain.types import Step
from bot.incidents.ingest import IngestService
from bot.incidents.service import IncidentService
from bot.reminders.scan import ESCALATE, POST_REMINDER, Claimed, ReminderScanner
from bot.reminders.snooze import snooze_step
from bot.storage import incidents as repo
from bot.storage.db import Database
from bot.storage.models import JobRow, ReminderRow, SnoozeRow, TimelineRow
from tests.ingest_helpers import event_from
from tests.storage.test_next_due import recomputed, stored
from tests.support import native_event

START = datetime(2026, 11, 25, 4, 30, tzinfo=UTC)  # Wednesday 12:30 in Shanghai


def open_incident(db: Database, plan: Plan, clock: ManualClock, **event: object) -> int:
    result = IngestService(db, plan).ingest([event_from(native_event(**event))], now=clock.now())
    assert result.incident_number is not None
    return result.incident_number


def claimed(claims: list[Claimed]) -> list[tuple[int, Step, int]]:
    return [(c.incident, c.step, c.level) for c in claims]


def reminder_rows(db: Database) -> list[ReminderRow]:
    with db.session() as session:
        return list(session.exec(select(ReminderRow).order_by(col(ReminderRow.id))).all())


def reminder_jobs(db: Database) -> list[JobRow]:
    with db.session() as session:
        query = select(JobRow).where(col(JobRow.kind).in_([POST_REMINDER, ESCALATE]))
        return list(session.exec(query.order_by(col(JobRow.id))).all())


def test_a_reminder_fires_once_at_the_deadline_not_before(db: Database, plan: Plan) -> None:
    clock = ManualClock(START)
    number = open_incident(db, plan, clock)  # payment_failure sev2: respond within 10m
    scanner = ReminderScanner(db, plan, clock)
    clock.advance(minutes=9, seconds=59)
    assert scanner.scan() == []
    clock.advance(seconds=1)
    assert claimed(scanner.scan()) == [(number, Step.RESPOND, REMINDER)]
    assert scanner.scan() == []  # the second scan does not repeat it
    [row] = reminder_rows(db)
    assert (row.step, row.level, row.generation) == ("respond", 1, 0)
    assert row.due_at == START + timedelta(minutes=10) and row.fired_by == scanner.owner
    [job] = reminder_jobs(db)
    assert job.dedup_key == f"reminder:{row.id}" and job.kind == POST_REMINDER
    assert job.payload["step"] == "respond" and job.payload["level"] == 1
    with db.session() as session:
        kinds = [t.kind for t in session.exec(select(TimelineRow)).all()]
    assert kinds.count("reminder") == 1


def test_after_a_restart_due_reminders_fire_once(db: Database, plan: Plan) -> None:
    clock = ManualClock(START)
    number = open_incident(db, plan, clock)
    ReminderScanner(db, plan, clock).scan()  # nothing due yet; then the process "dies"
    clock.advance(minutes=30)  # down while respond (twice) and record came due
    restarted = ReminderScanner(db, plan, clock)
    assert claimed(restarted.scan()) == [  # oldest first
        (number, Step.RESPOND, REMINDER),
        (number, Step.RESPOND, ESCALATION),
        (number, Step.RECORD, REMINDER),
    ]
    assert ReminderScanner(db, plan, clock).scan() == []  # and again: nothing repeats
    assert len(reminder_rows(db)) == 3
    jobs = reminder_jobs(db)
    assert sorted(j.kind for j in jobs) == [ESCALATE, POST_REMINDER, POST_REMINDER, POST_REMINDER]
    with db.session() as session:
        kinds = [t.kind for t in session.exec(select(TimelineRow)).all()]
    assert kinds.count("escalation") == 1


def test_finishing_a_step_before_its_deadline_cancels_its_reminders(
    db: Database, plan: Plan
) -> None:
    clock = ManualClock(START)
    number = open_incident(db, plan, clock)
    service = IncidentService(db, clock, on_enqueued=lambda: None, plan=plan)
    clock.advance(minutes=3)
    service.apply(number, "U01ALICE", lambda s, t: lifecycle.acknowledge(s, "U01ALICE", t))
    scanner = ReminderScanner(db, plan, clock)
    clock.advance(minutes=30)
    assert claimed(scanner.scan()) == [(number, Step.RECORD, REMINDER)]
    # Done after the reminder but before the escalation: no escalation.
    service.apply(number, "U02BOB", lambda s, t: lifecycle.skip(s, "U02BOB", t, Step.RECORD, "n/a"))
    clock.advance(minutes=30)
    assert (number, Step.RECORD, ESCALATION) not in claimed(scanner.scan())


def test_closed_incidents_are_not_scanned(db: Database, plan: Plan) -> None:
    clock = ManualClock(START)
    number = open_incident(db, plan, clock)
    with db.session() as session:
        row = repo.get_row(session, number)
        assert row is not None
        row.status = "closed"
        session.add(row)
    clock.advance(days=2)
    assert ReminderScanner(db, plan, clock).scan() == []


def test_a_snoozed_reminder_is_sent_again_when_the_snooze_ends(db: Database, plan: Plan) -> None:
    clock = ManualClock(START)
    number = open_incident(db, plan, clock)
    scanner = ReminderScanner(db, plan, clock)
    clock.advance(minutes=10)
    [first] = scanner.scan()
    until = snooze_step(
        db, clock, plan, number=number, step=Step.RESPOND, user="U01ALICE", minutes=15
    )
    assert until == START + timedelta(minutes=25)
    with db.session() as session:
        snooze = session.get(SnoozeRow, (number, "respond"))
        assert snooze is not None and snooze.until == until and snooze.snoozed_by == "U01ALICE"
    clock.advance(minutes=14, seconds=59)  # the escalation (was +20m) is pushed too
    assert scanner.scan() == []
    clock.advance(seconds=1)
    [again] = scanner.scan()
    assert again.resent and (again.reminder_id, again.level) == (first.reminder_id, REMINDER)
    assert ReminderScanner(db, plan, clock).scan() == []
    keys = [j.dedup_key for j in reminder_jobs(db)]
    assert keys == [
        f"reminder:{first.reminder_id}",
        f"reminder:{first.reminder_id}:{int(until.timestamp())}",
    ]
    clock.advance(minutes=9)
    assert [c for c in scanner.scan() if c.step is Step.RESPOND] == []  # (record came due)
    clock.advance(minutes=1)  # the pushed deadline + 10m again
    assert claimed(scanner.scan()) == [(number, Step.RESPOND, ESCALATION)]


def test_reopening_re_arms_the_steps_still_to_do(db: Database, plan: Plan) -> None:
    clock = ManualClock(START)
    number = open_incident(db, plan, clock)
    service = IncidentService(db, clock, on_enqueued=lambda: None, plan=plan)
    scanner = ReminderScanner(db, plan, clock)

    def run(command: Callable[[IncidentSnapshot, str, datetime], Change]) -> None:
        service.apply(number, "U01ALICE", lambda s, t: command(s, "U01ALICE", t))

    run(lifecycle.acknowledge)
    run(lambda s, a, t: lifecycle.skip(s, a, t, Step.RECORD, "recorded on paper"))
    run(lambda s, a, t: lifecycle.mark_notified(s, a, t, None))
    clock.advance(hours=4)  # resolve: within 4h of the opening
    assert (number, Step.RESOLVE, REMINDER) in claimed(scanner.scan())
    run(lambda s, a, t: lifecycle.resolve(s, a, t, "switched acquirer"))
    clock.advance(hours=1)
    run(lifecycle.reopen)
    with db.session() as session:
        row = repo.get_row(session, number)
        assert row is not None and row.generation == 1
        assert row.reopened_at == clock.now() and row.reopened_at.tzinfo is UTC
    assert scanner.scan() == []  # the reopened round counts from the reopening
    clock.advance(hours=3, minutes=59)
    assert scanner.scan() == []
    clock.advance(minutes=1)
    assert claimed(scanner.scan()) == [(number, Step.RESOLVE, REMINDER)]
    rows = [(r.step, r.level, r.generation) for r in reminder_rows(db) if r.step == "resolve"]
    assert rows == [("resolve", 1, 0), ("resolve", 1, 1)]


def test_two_scanners_claim_each_reminder_exactly_once(database_url: str, plan: Plan) -> None:
    """Two replicas (own engines) scan concurrently, round after round, on one database."""
    replicas = [Database(database_url) for _ in range(2)]
    from bot.storage.migrate import upgrade

    upgrade(replicas[0].engine)
    clock = ManualClock(START)
    numbers = [
        open_incident(replicas[0], plan, clock, type=t, title=f"incident {i}")
        for i, t in enumerate(["payment_failure", "system_crash", "amount_error"] * 2)
    ]
    scanners = [
        ReminderScanner(db, plan, clock, owner=f"replica-{i}") for i, db in enumerate(replicas)
    ]
    results: list[list[Claimed]] = [[], []]
    barrier = threading.Barrier(3)  # both replicas and the test thread, which moves time
    errors: list[BaseException] = []
    rounds = 12

    def replica(index: int) -> None:
        try:
            for _ in range(rounds):
                barrier.wait(timeout=30)  # start together
                results[index] += scanners[index].scan()
                barrier.wait(timeout=30)  # both done
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=replica, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for round_number in range(rounds):
        barrier.wait(timeout=30)
        barrier.wait(timeout=30)
        if round_number == rounds - 1:
            break  # the last scan was at clock.now()
        clock.advance(minutes=5)
        if round_number == 3:  # respond fired at +10m; its re-send must be claimed once too
            snooze_step(
                replicas[0],
                clock,
                plan,
                number=numbers[0],
                step=Step.RESPOND,
                user="U01ALICE",
                minutes=15,
            )
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    everything = results[0] + results[1]
    keys = [(c.reminder_id, c.due_at) for c in everything]
    assert len(keys) == len(set(keys)), "a reminder was claimed twice"

    rows = reminder_rows(replicas[0])
    jobs = reminder_jobs(replicas[0])
    posts = [j for j in jobs if j.kind == POST_REMINDER]
    assert len(posts) == len(everything)  # one post job per claim, first sends and re-sends
    assert len([c for c in everything if not c.resent]) == len(rows)
    assert len([c for c in everything if c.resent]) == 1
    assert len([j for j in jobs if j.kind == ESCALATE]) == len([r for r in rows if r.level == 2])

    # Every reminder due by now was claimed: nothing forgotten.
    with replicas[0].session() as session:
        snapshots = [repo.snapshot(session, n) for n in numbers]
        snoozes = {(s.incident_id, s.step): s.until for s in session.exec(select(SnoozeRow))}
    expected = set()
    for snap in snapshots:
        assert snap is not None
        mine = {Step(step): until for (n, step), until in snoozes.items() if n == snap.number}
        for r in due_reminders(
            snap, plan.for_type(snap.type), clock.now(), mine, plan.working_hours, plan.tz
        ):
            expected.add((snap.number, r.step.value, r.level))
    assert {(r.incident_id, r.step, r.level) for r in rows} == expected
    # Neither replica left a next-due time other than the rows say (later would lose one).
    for number in numbers:
        assert stored(replicas[1], number) == recomputed(replicas[1], plan, number)
    for db in replicas:
        db.dispose()
