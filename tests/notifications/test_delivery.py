"""Approved notifications reach the delivery webhook exactly once, however often it fails."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator

import pytest
from sqlmodel import select
from starlette.requests import Request
from starlette.responses import JSONResponse

from bot.app import OorApp, create_app
from bot.domain.clock import ManualClock
from bot.domain.plan import Plan
from bot.domain.plan_sections import Locale, NotifyChannel
from bot.incidents.ingest import IngestService
from bot.notifications.model import DELIVER
from bot.notifications.service import DraftService
from bot.sandbox.emulator import Emulator, EmulatorServer
from bot.storage.migrate import upgrade_url
from bot.storage.models import JobRow, NotificationDraftRow
from tests.conftest import make_settings
from tests.ingest_helpers import event_from
from tests.notifications.delivery_receiver import Receiver, serving
from tests.support import native_event


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    hook = Receiver(statuses=[503, 503])
    with serving(hook) as url:
        yield hook, url


def _app(sqlite_url: str, api_url: str, plan: Plan, clock: ManualClock) -> OorApp:
    upgrade_url(sqlite_url)
    return create_app(
        make_settings(sqlite_url, api_url), plan=plan, clock=clock, start_worker=False
    )


def _with_webhook(plan: Plan, url: str) -> Plan:
    notifications = plan.notifications.model_copy(
        update={"delivery_webhooks": {NotifyChannel.SMS: url}}
    )
    return plan.model_copy(update={"notifications": notifications})


def _approved_sms(app: OorApp, clock: ManualClock) -> int:
    IngestService(app.db, app.plan).ingest([event_from(native_event())], now=clock.now())
    app.worker.run_due_jobs()  # channel, board …
    drafts: DraftService = app.wiring.exposed["notifications"]  # type: ignore[union-attr]
    incident = app.incidents.get(1)
    assert incident is not None and incident.channel_id is not None
    draft = drafts.create(incident, "U03CAROL", [(NotifyChannel.SMS, Locale.ZH_CN)]).created[0]
    app.worker.run_due_jobs()  # the draft message
    assert drafts.approve(draft.id, "U02BOB").changed
    return draft.id


def _deliver_jobs(app: OorApp) -> list[JobRow]:
    with app.db.session() as session:
        return list(session.exec(select(JobRow).where(JobRow.kind == DELIVER)))


def test_delivered_once_with_one_idempotency_key_through_retries(
    sqlite_url: str,
    emulator_server: EmulatorServer,
    emulator: Emulator,
    plan: Plan,
    receiver: tuple[Receiver, str],
) -> None:
    hook, url = receiver
    clock = ManualClock()
    app = _app(sqlite_url, emulator_server.api_url, _with_webhook(plan, url), clock)
    try:
        draft_id = _approved_sms(app, clock)
        drafts: DraftService = app.wiring.exposed["notifications"]  # type: ignore[union-attr]
        assert not drafts.approve(draft_id, "U02BOB").changed  # a second click: no new job
        for _ in range(5):  # the outbox backs off after each 503; move the clock past it
            app.worker.run_due_jobs()
            clock.advance(minutes=10)
        assert [c["status"] for c in hook.calls] == [503, 503, 200]
        assert {c["key"] for c in hook.calls} == {str(draft_id)}
        sent = hook.calls[-1]["json"]
        assert sent["incident_id"] == "OOR-1" and sent["approved_by"] == "U02BOB"
        assert (sent["channel"], sent["locale"], sent["subject"]) == ("sms", "zh-CN", None)
        assert sent["body"].startswith("【某某支付】") and sent["approved_at"]
        [job] = _deliver_jobs(app)
        assert job.state == "done" and job.attempts == 3

        with app.db.session() as session:
            row = session.get(NotificationDraftRow, draft_id)
            assert row is not None and row.delivered_at is not None
            assert row.delivery_status == "delivered (HTTP 200)"
            ts = row.message_ts
        channel_id = app.incidents.get(1).channel_id  # type: ignore[union-attr]
        message = next(m for m in emulator.messages(str(channel_id)) if m["ts"] == ts)
        assert "Delivered to the sms webhook" in json.dumps(message["blocks"])
    finally:
        app.db.dispose()


def test_a_rejected_delivery_is_parked_not_retried_in_a_loop(
    sqlite_url: str,
    emulator_server: EmulatorServer,
    emulator: Emulator,
    plan: Plan,
    receiver: tuple[Receiver, str],
) -> None:
    hook, url = receiver
    hook.statuses[:] = [400]
    clock = ManualClock()
    app = _app(sqlite_url, emulator_server.api_url, _with_webhook(plan, url), clock)
    try:
        draft_id = _approved_sms(app, clock)
        for _ in range(3):
            app.worker.run_due_jobs()
            clock.advance(minutes=10)
        assert [c["status"] for c in hook.calls] == [400]
        [job] = _deliver_jobs(app)
        assert job.state == "pending" and job.needs_attention
        with app.db.session() as session:
            row = session.get(NotificationDraftRow, draft_id)
            assert row is not None and row.delivered_at is None
            assert row.delivery_status == "rejected (HTTP 400)"
    finally:
        app.db.dispose()


def test_a_job_run_again_after_delivery_does_not_send_again(
    sqlite_url: str,
    emulator_server: EmulatorServer,
    emulator: Emulator,
    plan: Plan,
    receiver: tuple[Receiver, str],
) -> None:
    """The process dies after recording the delivery but before finishing the job: the
    lease runs out and the job runs again. The receiver must not get the message twice."""
    hook, url = receiver
    hook.statuses[:] = []
    clock = ManualClock()
    app = _app(sqlite_url, emulator_server.api_url, _with_webhook(plan, url), clock)
    try:
        _approved_sms(app, clock)
        app.worker.run_due_jobs()
        assert [c["status"] for c in hook.calls] == [200]
        with app.db.session() as session:
            [job] = session.exec(select(JobRow).where(JobRow.kind == DELIVER)).all()
            assert job.state == "done"
            job.state, job.finished_at, job.run_after = "pending", None, clock.now()
            session.add(job)
        clock.advance(minutes=5)
        app.worker.run_due_jobs()
        assert len(hook.calls) == 1
        assert _deliver_jobs(app)[0].state == "done"
    finally:
        app.db.dispose()


def test_other_outbox_jobs_run_while_a_delivery_waits_on_its_webhook(
    sqlite_url: str, emulator_server: EmulatorServer, emulator: Emulator, plan: Plan
) -> None:
    # Outbox jobs take turns to run Python and lend the turn while they wait on the network:
    # a slow delivery webhook must not hold every Slack post behind it.
    clock = ManualClock()
    lent: list[bool] = []

    class TurnProbe(Receiver):
        async def hook(self, request: Request) -> JSONResponse:
            other_job_ran = threading.Event()

            def other_job() -> None:
                with app.worker.turn.taken():
                    other_job_ran.set()

            threading.Thread(target=other_job, daemon=True).start()
            lent.append(await asyncio.to_thread(other_job_ran.wait, 5))
            return await super().hook(request)

    probe = TurnProbe()
    with serving(probe) as url:
        app = _app(sqlite_url, emulator_server.api_url, _with_webhook(plan, url), clock)
        try:
            _approved_sms(app, clock)
            app.worker.run_due_jobs()
            assert [c["status"] for c in probe.calls] == [200]
            assert lent == [True]
        finally:
            app.db.dispose()
