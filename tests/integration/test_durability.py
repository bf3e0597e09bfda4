"""Durable before acknowledged: Slack outages, crashes and restarts lose and duplicate nothing."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.app import create_app
from bot.domain.plan import Plan
from bot.incidents.job_kinds import JobKind
from bot.sandbox.emulator import Emulator, EmulatorServer
from bot.storage.migrate import upgrade_url
from bot.storage.models import JobRow
from bot.worker import WorkerOptions
from tests.conftest import make_settings, start_bot
from tests.support import ServerThread, native_event, post_native, wait_for

RESPONDERS = {"U01ALICE", "U02BOB", "U03CAROL", "U05ERIN"}


def _oor_channels(emulator: Emulator) -> list[dict]:
    return [c for c in emulator.snapshot()["channels"] if c["name"].startswith("oor-")]


def _board_posted(emulator: Emulator) -> bool:
    channels = _oor_channels(emulator)
    return bool(channels) and bool(emulator.pins(channels[0]["id"]))


def test_rate_limited_channel_creation_still_creates_exactly_one_channel(
    database_url: str, emulator_server: EmulatorServer, emulator: Emulator, plan: Plan
) -> None:
    emulator.faults.add(method="conversations.create", status=429, retry_after=1, times=2)
    bot = start_bot(database_url, emulator_server.api_url, plan)
    try:
        assert post_native(bot.url, native_event()).status_code == 202
        wait_for(lambda: _board_posted(emulator), what="board after 429s")
    finally:
        bot.stop()
    assert len(_oor_channels(emulator)) == 1
    statuses = [c.http_status for c in emulator.calls_to("conversations.create")]
    assert statuses.count(429) >= 1 and statuses.count(200) == 1


def test_slack_5xx_and_timeouts_are_retried_until_done(
    database_url: str, emulator_server: EmulatorServer, emulator: Emulator, plan: Plan
) -> None:
    emulator.faults.add(method="chat.postMessage", status=503, times=3)
    emulator.faults.add(method="conversations.setTopic", latency=2.5, times=1)
    bot = start_bot(database_url, emulator_server.api_url, plan, slack_timeout_seconds=1)
    try:
        post_native(bot.url, native_event())
        wait_for(lambda: _board_posted(emulator), timeout=20, what="board after 5xx")
        cid = _oor_channels(emulator)[0]["id"]
        wait_for(lambda: emulator.channel(cid)["topic"]["value"], timeout=20, what="topic")
    finally:
        bot.stop()
    boards = [m for m in emulator.messages(cid) if m["text"].startswith("OOR-1 status board")]
    assert len(boards) == 1


def test_permanent_error_parks_the_job_and_a_restart_finishes_it(
    database_url: str, emulator_server: EmulatorServer, emulator: Emulator, plan: Plan
) -> None:
    emulator.faults.add(method="conversations.invite", error="missing_scope", times=1)
    bot = start_bot(database_url, emulator_server.api_url, plan)
    try:
        post_native(bot.url, native_event())
        wait_for(lambda: _board_posted(emulator), what="board")

        def parked() -> JobRow | None:
            with bot.app.db.session() as session:
                return session.exec(
                    select(JobRow).where(
                        JobRow.kind == JobKind.INVITE_RESPONDERS, JobRow.needs_attention
                    )
                ).first()

        job = wait_for(parked, what="parked invite job")
        assert job.state == "pending" and "missing_scope" in (job.last_error or "")
        cid = _oor_channels(emulator)[0]["id"]
        assert not RESPONDERS & emulator.members(cid)
    finally:
        bot.stop()

    restarted = start_bot(database_url, emulator_server.api_url, plan)
    try:
        wait_for(lambda: emulator.members(cid) >= RESPONDERS, what="invites after restart")
    finally:
        restarted.stop()


def test_work_committed_before_a_crash_is_finished_after_restart(
    database_url: str, emulator_server: EmulatorServer, emulator: Emulator, plan: Plan
) -> None:
    # A process that accepts the webhook and dies before doing any Slack work.
    settings = make_settings(database_url, emulator_server.api_url)

    upgrade_url(database_url)
    crashed = create_app(settings, plan=plan, start_worker=False)
    server = ServerThread(crashed.asgi).start()
    try:
        assert post_native(server.url, native_event()).json()["status"] == "opened"
    finally:
        server.stop()
    assert _oor_channels(emulator) == []

    restarted = start_bot(database_url, emulator_server.api_url, plan)
    try:
        wait_for(lambda: _board_posted(emulator), what="board after restart")
    finally:
        restarted.stop()
    assert len(_oor_channels(emulator)) == 1


def test_a_job_whose_worker_died_mid_run_is_taken_over_after_its_lease(
    database_url: str, emulator_server: EmulatorServer, emulator: Emulator, plan: Plan
) -> None:
    from bot.domain.clock import ManualClock
    from bot.storage import jobs

    upgrade_url(database_url)
    clock = ManualClock()
    app = create_app(
        make_settings(database_url, emulator_server.api_url),
        plan=plan,
        clock=clock,
        worker_options=WorkerOptions(lease=timedelta(seconds=60)),
        start_worker=False,
    )
    from bot.incidents.ingest import IngestService
    from tests.ingest_helpers import event_from

    IngestService(app.db, plan).ingest([event_from(native_event())], now=clock.now())
    with app.db.session() as session:  # a worker that claims the job and then dies
        claimed = jobs.claim_due(
            session, now=clock.now(), owner="dead-process", lease=timedelta(seconds=60), limit=10
        )
    assert [j.kind for j in claimed] == [JobKind.CREATE_CHANNEL]
    assert app.worker.run_due_jobs() == 0  # still leased to the dead process
    clock.advance(seconds=61)
    assert app.worker.run_due_jobs() >= 1
    assert len(_oor_channels(emulator)) == 1
    app.db.dispose()
