"""The digest reaches #payments-review in the emulator: the message, then the chart, once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot.app import OorApp, create_app
from bot.digest import DigestScheduler
from bot.digest.chart import PNG_SIGNATURE
from bot.digest.post import chart_filename
from bot.domain.clock import ManualClock
from bot.sandbox.emulator import Emulator, EmulatorServer
from bot.storage.db import Database
from bot.storage.migrate import upgrade
from bot.storage.models import DigestRunRow
from bot.worker import WorkerOptions
from tests.conftest import make_settings
from tests.digest.fixture_week import PLAN_PATH, digest_plan, seed_fixture_weeks
from tests.support import ServerThread, wait_for

MONDAY_SLOT = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # Monday 09:00 Asia/Shanghai


def _build(database_url: str, api_url: str, clock: ManualClock, **options: object) -> OorApp:
    return create_app(
        make_settings(database_url, api_url, plan_path=PLAN_PATH),
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
