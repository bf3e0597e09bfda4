"""Exactly one digest per ISO week, however many schedulers tick at once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from bot.digest import DigestScheduler
from bot.digest.schedule import DIGEST_JOB, IsoWeek, claim, installed_at
from bot.domain.clock import ManualClock
from bot.storage.db import Database
from bot.storage.migrate import upgrade
from bot.storage.models import DigestRunRow, InstallationRow, JobRow
from tests.digest.fixture_week import digest_plan

MONDAY_SLOT = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # Monday 09:00 Asia/Shanghai


def _runs(db: Database) -> list[DigestRunRow]:
    with db.session() as session:
        return list(session.exec(select(DigestRunRow).order_by(DigestRunRow.week)).all())


def _digest_jobs(db: Database) -> list[JobRow]:
    with db.session() as session:
        return list(session.exec(select(JobRow).where(JobRow.kind == DIGEST_JOB)).all())


def test_a_week_is_claimed_once_with_its_job(db: Database) -> None:
    week = IsoWeek(2026, 47)
    assert claim(db, week, now=MONDAY_SLOT, owner="a") is True
    assert claim(db, week, now=MONDAY_SLOT, owner="b") is False
    assert [(r.week, r.claimed_by, r.late) for r in _runs(db)] == [("2026-W47", "a", False)]
    [job] = _digest_jobs(db)
    assert job.dedup_key == "digest:2026-W47" and job.payload["week"] == "2026-W47"


def test_each_scheduled_time_is_claimed_once_from_its_time_on(db: Database) -> None:
    clock = ManualClock(MONDAY_SLOT - timedelta(days=1))  # running since Sunday
    scheduler = DigestScheduler(db, digest_plan(), clock, owner="one")
    assert scheduler.check() is None  # W46's time was before the bot existed
    clock.advance(days=1, seconds=-1)  # Monday 08:59:59
    assert scheduler.check() is None
    clock.advance(seconds=31)
    due = scheduler.check()
    assert due is not None and due.week == IsoWeek(2026, 47) and not due.late
    assert scheduler.check() is None
    clock.advance(days=6, hours=23)  # the next Monday 08:59 local: still W47's slot
    assert scheduler.check() is None
    clock.advance(hours=1)
    due = scheduler.check()
    assert due is not None and due.week == IsoWeek(2026, 48)
    assert [r.week for r in _runs(db)] == ["2026-W47", "2026-W48"]


def test_a_new_installation_posts_nothing_for_a_week_before_it_existed(db: Database) -> None:
    # First started on Tuesday, the day after a scheduled time.
    clock = ManualClock(MONDAY_SLOT + timedelta(days=1))
    first = DigestScheduler(db, digest_plan(), clock, owner="first", tick_seconds=3600)
    first.start()
    first.stop()
    assert _runs(db) == [] and _digest_jobs(db) == []
    assert installed_at(db, clock.now() + timedelta(days=9)) == clock.now()  # kept, not moved
    clock.advance(days=2)  # a restart changes nothing
    second = DigestScheduler(db, digest_plan(), clock, owner="second", tick_seconds=3600)
    assert second.check() is None
    clock.set(MONDAY_SLOT + timedelta(days=7, seconds=5))  # its first scheduled time
    due = second.check()
    assert due is not None and str(due.week) == "2026-W48" and not due.late
    assert [r.week for r in _runs(db)] == ["2026-W48"]


def test_two_schedulers_on_one_postgres_claim_each_week_once(pg_url: str) -> None:
    replicas = [Database(pg_url) for _ in range(2)]
    upgrade(replicas[0].engine)
    clock = ManualClock(MONDAY_SLOT - timedelta(minutes=1))
    woken: list[str] = []
    schedulers = [
        DigestScheduler(
            database,
            digest_plan(),
            clock,
            owner=f"replica-{n}",
            on_claimed=lambda n=n: woken.append(f"replica-{n}"),
        )
        for n, database in enumerate(replicas)
    ]
    rounds, ticks = 8, 6
    barrier = threading.Barrier(2)
    claimed: list[list[str]] = [[] for _ in range(rounds)]

    def replica(n: int) -> None:
        barrier.wait()
        assert schedulers[n].check() is None  # both start, and record the installation, at once
        if barrier.wait() == 0:
            clock.advance(minutes=1, seconds=5)
        for week in range(rounds):
            barrier.wait()
            for _ in range(ticks):
                due = schedulers[n].check()
                if due is not None:
                    claimed[week].append(str(due.week))
            if barrier.wait() == 0:
                clock.advance(days=7)  # one thread moves time on to next Monday

    try:
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(replica, range(2)))
        weeks: list[str] = []
        week = IsoWeek(2026, 47)
        for _ in range(rounds):  # W47 … W53, then 2027-W01
            weeks.append(str(week))
            week = week.next()
        assert claimed == [[w] for w in weeks]
        assert [r.week for r in _runs(replicas[0])] == weeks
        assert sorted(j.dedup_key for j in _digest_jobs(replicas[0])) == sorted(
            f"digest:{w}" for w in weeks
        )
        assert len(woken) == rounds
        with replicas[0].session() as session:
            [installation] = session.exec(select(InstallationRow)).all()
        assert installation.installed_at == MONDAY_SLOT - timedelta(minutes=1)
    finally:
        for database in replicas:
            database.dispose()


def test_a_missed_digest_is_claimed_late_at_start_up_and_a_restart_does_not_claim_again(
    db: Database,
) -> None:
    # The bot ran last week, was down on Monday morning and comes back on Wednesday.
    assert installed_at(db, MONDAY_SLOT - timedelta(days=5)) == MONDAY_SLOT - timedelta(days=5)
    clock = ManualClock(MONDAY_SLOT + timedelta(days=2, hours=3))
    first = DigestScheduler(db, digest_plan(), clock, owner="first", tick_seconds=3600)
    first.start()
    try:
        assert first.running
        [run] = _runs(db)
        assert (run.week, run.late, run.claimed_by) == ("2026-W47", True, "first")
        [job] = _digest_jobs(db)
        assert job.payload["late"] is True
    finally:
        first.stop()
    assert not first.running

    clock.advance(hours=1)
    second = DigestScheduler(db, digest_plan(), clock, owner="second", tick_seconds=3600)
    second.start()
    second.stop()
    assert len(_runs(db)) == 1 and len(_digest_jobs(db)) == 1


def test_a_tick_with_the_database_down_does_not_raise() -> None:
    broken = Database("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1")
    scheduler = DigestScheduler(broken, digest_plan(), ManualClock(MONDAY_SLOT), owner="x")
    assert scheduler.check() is None
    broken.dispose()
