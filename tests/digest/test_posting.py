"""The digest reaches #payments-review in the emulator: the message, then the chart, once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot.app import OorApp, create_app
from bot.digest import DigestScheduler
from bot.digest.chart import PNG_SIGNATURE
from bot.digest.post import chart_filename
from bot.digest.schedule import DIGEST_JOB, installed_at
from bot.domain.clock import ManualClock
from bot.sandbox.emulator import Emulator, EmulatorServer
from bot.storage.db import Database
from bot.storage.migrate import upgrade
from bot.storage.models import DigestRunRow, InstallationRow, JobRow
from bot.worker import WorkerOptions
from tests.conftest import make_settings
from tests.digest.fixture_week import PLAN_PATH, digest_plan, seed_fixture_weeks
from tests.support import ServerThread, wait_for

MONDAY_SLOT = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # Monday 09:00 Asia/Shanghai
INSTALLED = datetime(2026, 11, 1, tzinfo=UTC)


def _build(
    database_url: str, api_url: str, clock: ManualClock, tick: float = 60.0, **options: object
) -> OorApp:
    return create_app(
        make_settings(database_url, api_url, plan_path=PLAN_PATH, digest_tick_seconds=tick),
        plan=digest_plan(),
        clock=clock,
        worker_options=WorkerOptions(threads=2, poll_interval=0.05),
        **options,  # type: ignore[arg-type]
    )


@pytest.fixture
def migrated(database_url: str) -> Iterator[str]:
    database = Database(database_url)
    upgrade(database.engine)
    seed_fixture_weeks(database)
    installed_at(database, INSTALLED)  # the bot has been running since before the week
    database.dispose()
    yield database_url


def _review(emulator: Emulator) -> str:
    channel = emulator.channel_by_name("payments-review")
    assert channel is not None
    return str(channel["id"])


def _digests(emulator: Emulator) -> list[dict]:
    return [
        m
        for m in emulator.messages(_review(emulator))
        if m.get("text", "").startswith("Weekly OOR review")
    ]


def _charts(emulator: Emulator, week: str = "2026-W47") -> list[dict]:
    return [
        f
        for m in emulator.messages(_review(emulator))
        for f in m.get("files") or []
        if f["name"] == chart_filename(week)
    ]


def _posted_at(app: OorApp) -> datetime | None:
    with app.db.session() as session:
        row = session.exec(select(DigestRunRow)).one()
        return row.posted_at


def test_the_scheduled_digest_is_posted_with_its_chart_once_despite_a_failed_upload(
    migrated: str, emulator_server: EmulatorServer, emulator: Emulator
) -> None:
    emulator.faults.add(method="files.completeUploadExternal", status=503, times=3)
    clock = ManualClock(MONDAY_SLOT + timedelta(seconds=20))
    app = _build(migrated, emulator_server.api_url, clock, start_worker=False)
    try:
        scheduler: DigestScheduler = app.wiring.exposed["digest.scheduler"]  # type: ignore[union-attr]
        due = scheduler.check()
        assert due is not None and str(due.week) == "2026-W47" and not due.late
        assert app.worker.run_due_jobs() == 1  # posted; the upload failed (503s)
        assert len(_digests(emulator)) == 1 and _charts(emulator) == []
        for _ in range(5):  # retries after backoff: the message is not posted again
            clock.advance(minutes=1)
            app.worker.run_due_jobs()
        [message] = _digests(emulator)
        body = "\n".join(block["text"]["text"] for block in message["blocks"])
        assert "*Weekly OOR review — 2026-W47*" in body and "posted late" not in body
        assert "*Incidents opened:* 5 (prev 3, Δ +2)" in body
        assert "• CNY 1,244.50 (prev 500.00, Δ +744.50)" in body
        assert "Alipay &lt;blocked&gt; &amp; slow" in body  # outside text escaped
        assert all(len(block["text"]["text"]) <= 3000 for block in message["blocks"])
        [chart] = _charts(emulator)
        record, data = emulator.file(chart["id"])
        assert data.startswith(PNG_SIGNATURE) and record["completed"]
        assert scheduler.check() is None  # the week is taken
        assert _posted_at(app) == MONDAY_SLOT + timedelta(minutes=1, seconds=20)  # 2nd attempt
        statuses = [c.http_status for c in emulator.calls_to("files.completeUploadExternal")]
        assert statuses == [503, 503, 503, 200]
    finally:
        app.db.dispose()


def test_a_digest_missed_while_down_is_posted_late_once_and_a_restart_does_not_repost(
    migrated: str, emulator_server: EmulatorServer, emulator: Emulator
) -> None:
    # Down over Monday morning: the app starts on Tuesday.
    clock = ManualClock(MONDAY_SLOT + timedelta(days=1, hours=2))
    app = _build(migrated, emulator_server.api_url, clock)
    server = ServerThread(app.asgi).start()  # lifespan: worker + the start-up check
    try:
        wait_for(lambda: _charts(emulator), timeout=20, what="late digest and chart")
        [message] = _digests(emulator)
        assert message["text"].startswith("Weekly OOR review 2026-W47 (posted late)")
        assert "_posted late_" in message["blocks"][0]["text"]["text"]
    finally:
        server.stop()

    clock.advance(hours=1)
    restarted = _build(migrated, emulator_server.api_url, clock)
    server = ServerThread(restarted.asgi).start()
    try:
        scheduler: DigestScheduler = restarted.wiring.exposed["digest.scheduler"]  # type: ignore[union-attr]
        assert scheduler.running and scheduler.check() is None
        assert restarted.worker.run_due_jobs() == 0
    finally:
        server.stop()
    assert len(_digests(emulator)) == 1 and len(_charts(emulator)) == 1


def test_a_new_installation_waits_for_its_first_scheduled_time(
    database_url: str, emulator_server: EmulatorServer, emulator: Emulator
) -> None:
    database = Database(database_url)
    upgrade(database.engine)
    seed_fixture_weeks(database)  # history imported, but no bot ran here before
    database.dispose()
    clock = ManualClock(MONDAY_SLOT + timedelta(days=1))  # first started on Tuesday
    app = _build(database_url, emulator_server.api_url, clock)
    server = ServerThread(app.asgi).start()
    try:
        with app.db.session() as session:
            [installation] = session.exec(select(InstallationRow)).all()
            assert installation.installed_at == clock.now()
            assert session.exec(select(DigestRunRow)).all() == []
        assert app.worker.run_due_jobs() == 0
        scheduler: DigestScheduler = app.wiring.exposed["digest.scheduler"]  # type: ignore[union-attr]
        clock.set(MONDAY_SLOT + timedelta(days=7, seconds=30))
        due = scheduler.check()
        assert due is not None and str(due.week) == "2026-W48" and not due.late
        wait_for(lambda: _charts(emulator, "2026-W48"), timeout=20, what="the W48 digest")
        [message] = _digests(emulator)
        assert message["text"].startswith("Weekly OOR review 2026-W48")
        assert "posted late" not in message["text"]
    finally:
        server.stop()


def test_two_replicas_post_each_weekly_digest_once(
    pg_url: str, emulator_server: EmulatorServer, emulator: Emulator
) -> None:
    """Two app instances (own engines, workers and schedulers ticking every 50 ms) on one
    PostgreSQL: at each scheduled time exactly one digest and one chart reach the channel."""
    database = Database(pg_url)
    upgrade(database.engine)
    seed_fixture_weeks(database)
    database.dispose()
    clock = ManualClock(MONDAY_SLOT - timedelta(minutes=5))
    apps = [_build(pg_url, emulator_server.api_url, clock, tick=0.05) for _ in range(2)]
    servers = [ServerThread(app.asgi).start() for app in apps]
    try:
        schedulers: list[DigestScheduler] = [
            app.wiring.exposed["digest.scheduler"]  # type: ignore[union-attr]
            for app in apps
        ]
        assert all(s.running for s in schedulers)
        clock.advance(minutes=5, seconds=5)  # Monday 09:00:05: both schedulers race
        wait_for(lambda: _charts(emulator, "2026-W47"), timeout=20, what="the W47 digest")
        _wait_jobs_done(apps[0], 1)
        [message] = _digests(emulator)
        body = "\n".join(block["text"]["text"] for block in message["blocks"])
        assert "*Weekly OOR review — 2026-W47*" in body and "posted late" not in body
        assert "*Incidents opened:* 5 (prev 3, Δ +2)" in body
        assert "*Step deadlines met:* 45% (5/11)" in body
        assert len(_charts(emulator, "2026-W47")) == 1

        # The next week: both schedulers also check at the very same moment.
        clock.advance(days=7)
        barrier = threading.Barrier(2)

        def check(scheduler: DigestScheduler) -> bool:
            barrier.wait(timeout=10)
            return scheduler.check() is not None

        with ThreadPoolExecutor(2) as pool:
            assert sum(pool.map(check, schedulers)) <= 1  # the ticks may have claimed it
        wait_for(lambda: _charts(emulator, "2026-W48"), timeout=20, what="the W48 digest")
        _wait_jobs_done(apps[0], 2)
        texts = [m["text"] for m in _digests(emulator)]
        assert len(texts) == 2 and texts[1].startswith("Weekly OOR review 2026-W48:")
        assert len(_charts(emulator, "2026-W48")) == 1
        with apps[0].db.session() as session:
            runs = session.exec(select(DigestRunRow).order_by(DigestRunRow.week)).all()
        assert [(r.week, r.late, r.posted_at is not None) for r in runs] == [
            ("2026-W47", False, True),
            ("2026-W48", False, True),
        ]
        assert {r.claimed_by for r in runs} <= {app.worker.owner for app in apps}
        assert [s.check() for s in schedulers] == [None, None]
    finally:
        for server in servers:
            server.stop()


def _wait_jobs_done(app: OorApp, count: int) -> None:
    def done() -> bool:
        with app.db.session() as session:
            found = session.exec(select(JobRow).where(JobRow.kind == DIGEST_JOB)).all()
        return len(found) == count and all(job.state == "done" for job in found)

    wait_for(done, timeout=20, what=f"{count} digest jobs done")
