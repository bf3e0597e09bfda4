"""The scan reads only incidents whose stored next-due time has come; a time left too late
by a write path that forgot it is caught by the sweep (at start-up, then every ten minutes);
on PostgreSQL an incident another transaction holds does not hold up the others."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from bot.domain.clock import ManualClock
from bot.domain.plan import Plan
from bot.domain.types import Step
from bot.reminders import Reminders
from bot.reminders.scan import ReminderScanner
from bot.storage import next_due
from bot.storage.db import Database
from bot.storage.migrate import upgrade
from tests.api import update_incident
from tests.reminders.test_scan import START, claimed, open_incident, reminder_rows
from tests.support import wait_for


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """Every SQL statement ``engine`` sends meanwhile."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_a_scan_reads_only_the_incidents_whose_time_has_come(
    db: Database, plan: Plan, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = ManualClock(START - timedelta(minutes=15))
    late = open_incident(db, plan, clock, title="opened earlier")  # respond at -5m and +5m
    clock.set(START)
    for n in range(150):
        open_incident(db, plan, clock, title=f"incident {n}")  # respond at +10m
    scanner = ReminderScanner(db, plan, clock)
    read: list[int] = []
    load_states = next_due.load_states

    def spy(session: Any, rows: Any) -> list[next_due.DeadlineState]:
        states = load_states(session, rows)
        read.extend(s.incident.number for s in states)
        return states

    monkeypatch.setattr(next_due, "load_states", spy)
    clock.advance(minutes=5)
    assert claimed(scanner.scan()) == [(late, Step.RESPOND, 1), (late, Step.RESPOND, 2)]
    assert read == [late]  # the 150 others were not read at all

    # Nothing due: one statement, a range of the index, and not a row of steps or claims.
    read.clear()
    with statements(db.engine) as sent:
        assert scanner.scan() == []
    queries = [s for s in sent if s.lstrip().upper().startswith("SELECT")]
    assert len(queries) == 1 and "next_due_at <=" in queries[0], sent
    assert read == []


def test_a_time_left_too_late_is_caught_by_the_sweep_at_start_up(db: Database, plan: Plan) -> None:
    """A write path that forgot the time (here: an edit behind the bot's back) delays the
    reminder at most until the next sweep: at start-up, then every interval (ten minutes)."""
    clock = ManualClock(START)
    number = open_incident(db, plan, clock)  # respond due at +10m
    update_incident(db, number, next_due_at=START + timedelta(days=1))  # stale, too late
    scanner = ReminderScanner(db, plan, clock)
    clock.advance(minutes=10)
    assert scanner.scan() == []  # the scan trusts the stored time: the bound is the sweep
    # The sweep's interval (10 minutes in production) shortened, the scan's too.
    reminders = Reminders(scanner, interval_seconds=0.05, sweep_interval_seconds=0.5)
    reminders.start()
    try:
        wait_for(lambda: reminder_rows(db), what="the reminder the start-up sweep brought back")
        [row] = reminder_rows(db)
        assert (row.incident_id, row.step, row.level) == (number, "respond", 1)
        # Forgotten again: the escalation (due at +20m) is caught by the next sweep.
        update_incident(db, number, next_due_at=None)
        clock.advance(minutes=10)
        wait_for(lambda: len(reminder_rows(db)) == 2, what="the next sweep", timeout=15)
        assert reminders.sweeps >= 2
    finally:
        reminders.stop()
    assert [(r.step, r.level) for r in reminder_rows(db)] == [("respond", 1), ("respond", 2)]
    assert next_due.sweep(db, plan) == []  # nothing left to correct


def test_an_incident_held_by_another_transaction_does_not_hold_up_the_others(
    pg_url: str, plan: Plan
) -> None:
    """PostgreSQL: the chunk skips an incident another transaction holds (``SKIP LOCKED``),
    claims the others at once, then waits for that one alone: nothing put off."""
    db = Database(pg_url)
    other = Database(pg_url)
    try:
        upgrade(db.engine)
        clock = ManualClock(START)
        held = open_incident(db, plan, clock, title="held")
        free = open_incident(db, plan, clock, title="free")
        scanner = ReminderScanner(db, plan, clock)
        clock.advance(minutes=10)
        locked, release = threading.Event(), threading.Event()

        def hold() -> None:
            with other.engine.begin() as conn:
                conn.execute(text("SELECT id FROM incident WHERE id = :n FOR UPDATE"), {"n": held})
                locked.set()
                release.wait(timeout=30)

        holder = threading.Thread(target=hold)
        holder.start()
        result: list[list[tuple[int, Step, int]]] = []
        scanning = threading.Thread(target=lambda: result.append(claimed(scanner.scan())))
        try:
            assert locked.wait(timeout=30)
            scanning.start()
            # The free incident's claim is committed while the held one is still held.
            wait_for(lambda: [r for r in reminder_rows(db) if r.incident_id == free])
            assert [r.incident_id for r in reminder_rows(db)] == [free]
        finally:
            release.set()
            holder.join(timeout=30)
            scanning.join(timeout=30)
        assert result == [[(free, Step.RESPOND, 1), (held, Step.RESPOND, 1)]]
        assert scanner.scan() == []
    finally:
        db.dispose()
        other.dispose()
