"""Steps 5 and 6 from the incident channel, end to end, as an operator does them.

Everything goes through real signed Slack requests (slash commands, button clicks, modal
submissions) to the running bot, with the Web API emulator on the other side: draft a
bilingual customer notification, edit it, approve it (two people), compile the
post-mortem from the review form, publish it, and read it back with ``oor-bot
postmortem`` and the read API. Time is a ManualClock moved minutes at a time, so every
duration in the document is a real, distinct figure; the expected ones are computed
from the stored step timestamps, not restated.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from bot.app import create_app
from bot.domain.clock import ManualClock, as_utc
from bot.domain.durations import readable_duration as format_duration
from bot.domain.plan import Plan
from bot.domain.plan_sections import NotifyChannel
from bot.domain.types import Step
from bot.notifications.views import APPROVE, EDIT, EDIT_CALLBACK_ID
from bot.reminders import Reminders
from bot.sandbox.emulator import Emulator, EmulatorServer
from bot.slack.text import local_time
from bot.storage.migrate import upgrade_url
from bot.storage.models import IncidentRow, NotificationDraftRow, StepRow, TimelineRow
from bot.worker import WorkerOptions
from tests.conftest import RunningBot, make_settings, without_slack_rate_limits
from tests.integration.slack_flow import IncidentRoom
from tests.notifications.delivery_receiver import Receiver, serving
from tests.notifications.drafts_in_slack import (
    blocks_text,
    click_draft,
    wait_draft,
    wait_drafts,
)
from tests.support import EXAMPLE_PLAN, ROOT, ServerThread, wait_for

API_TOKEN = "api-token-e2e-5Xr9"
BOB = "Bob Li 李博 (payments engineer)"  # his name in the emulated workspace
SMS_ZH, SMS_EN = "SMS (zh-CN)", "SMS (en)"
EDITED_ZH = (
    "【某某支付】尊敬的用户：今日12:28起部分支付宝支付失败，现已恢复。"
    "如已扣款但支付未成功，款项将原路退回。客服热线95000。"
)
# The measures of the post-mortem and the step each one counts to, from the opening.
MEASURES = {
    "acknowledge": ("Time to acknowledge (step 1)", Step.RESPOND),
    "record": ("Time to record the problem (step 2)", Step.RECORD),
    "resolve": ("Time to resolve (step 4)", Step.RESOLVE),
    "notify": ("Time to notify customers (step 5)", Step.NOTIFY),
}


@dataclass
class Harness:
    bot: RunningBot
    clock: ManualClock
    delivered: Receiver
    database_url: str


@pytest.fixture(autouse=True)
def _manual_clock_outpaces_slack(emulator: Emulator) -> None:
    without_slack_rate_limits(emulator)


@pytest.fixture
def harness(database_url: str, emulator_server: EmulatorServer, plan: Plan) -> Iterator[Harness]:
    receiver = Receiver()
    with serving(receiver) as sms_webhook:
        notifications = plan.notifications.model_copy(
            update={"delivery_webhooks": {NotifyChannel.SMS: sms_webhook}}
        )
        delivering = plan.model_copy(update={"notifications": notifications})
        upgrade_url(database_url)
        # Near real time: webhook signatures are checked against the bot's clock.
        clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
        app = create_app(
            make_settings(database_url, emulator_server.api_url, api_token=API_TOKEN),
            plan=delivering,
            clock=clock,
            worker_options=WorkerOptions(threads=4, poll_interval=0.05),
        )
        server = ServerThread(app.asgi).start()
        assert app.wiring is not None
        reminders = app.wiring.exposed["reminders"]
        assert isinstance(reminders, Reminders)
        reminders.stop()  # the clock jumps ahead; overdue reminders are not this test's story
        yield Harness(RunningBot(app, server), clock, receiver, database_url)
        server.stop()


# -- reading the record ------------------------------------------------------------------
def _stored_steps(bot: RunningBot, number: int) -> tuple[datetime, dict[Step, StepRow]]:
    with bot.app.db.session() as session:
        incident = session.get(IncidentRow, number)
        assert incident is not None
        rows = session.exec(select(StepRow).where(StepRow.incident_id == number)).all()
        return as_utc(incident.opened_at), {Step(r.step): r for r in rows}


def _drafts(bot: RunningBot) -> dict[str, NotificationDraftRow]:
    with bot.app.db.session() as session:
        rows = session.exec(select(NotificationDraftRow).order_by(col(NotificationDraftRow.id)))
        return {f"SMS ({r.locale})": r for r in rows}


def _timeline(bot: RunningBot) -> list[tuple[datetime, str, str]]:
    with bot.app.db.session() as session:
        rows = session.exec(select(TimelineRow).order_by(col(TimelineRow.id))).all()
        return [(as_utc(r.at), r.actor, r.text) for r in rows]


def _cli(harness: Harness, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OOR_", "SLACK_"))}
    env |= {"OOR_DATABASE_URL": harness.database_url, "OOR_PLAN": str(EXAMPLE_PLAN)}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "postmortem", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _publish_button(room: IncidentRoom) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        for message in room.emulator.messages(room.channel_id):
            if '"postmortem_publish"' in json.dumps(message.get("blocks") or []):
                return message
        return None

    return wait_for(find, what="post-mortem summary with Publish")


# -- the operator's afternoon ------------------------------------------------------------
def test_notify_customers_then_compile_publish_and_export_the_postmortem(
    harness: Harness, emulator: Emulator
) -> None:
    bot, clock = harness.bot, harness.clock
    opened = clock.now()
    began = (opened - timedelta(minutes=2)).astimezone(UTC).isoformat()
    room = IncidentRoom.open(bot, emulator, occurred_at=began)

    clock.advance(minutes=4, seconds=10)
    room.command("ack")
    clock.advance(minutes=7, seconds=35)
    room.command("record amount=98000.00 currency=CNY count=312", user="U02BOB")
    clock.advance(minutes=9)
    room.command("investigate Alipay returns CHANNEL_BLOCKED since 12:30", user="U02BOB")
    clock.advance(minutes=15, seconds=5)
    room.command("resolve Switched Alipay traffic to the backup acquirer cause=partner", "U02BOB")
    room.wait_board("✅ *4. Resolve*")

    # Step 5: Carol drafts the SMS in both languages.
    clock.advance(minutes=6)
    reply = room.command("notify sms", user="U03CAROL")
    assert f"Drafted 2 customer notifications for OOR-{room.number}: {SMS_ZH}, {SMS_EN}" in reply
    wait_drafts(room, 2)
    zh = wait_draft(room, SMS_ZH, "【某某支付】尊敬的用户", "segments (UCS-2")
    assert "已于" in blocks_text(zh)  # resolved: the text says it is fixed
    en = wait_draft(room, SMS_EN, "Alipay payments", "(GSM-7")
    assert "Questions? Call 95000." in blocks_text(en)
    room.wait_board("🔄 *5. Notify customers*")

    # She rewrites the Chinese one in the Edit form.
    clock.advance(minutes=2)
    seen = len(emulator.views)
    click_draft(room, SMS_ZH, EDIT, user="U03CAROL")
    modal = room.latest_view(EDIT_CALLBACK_ID, after=seen)
    saved = room.slack.submit_view(modal, {"body": EDITED_ZH}, user_id="U03CAROL")
    assert saved.status == 200 and saved.body in ("", "null"), saved.body
    wait_draft(room, SMS_ZH, "今日12:28起", "edited by <@U03CAROL>", "64 characters · 1 segment")

    # The plan wants two people: Carol wrote both texts, so Bob approves them.
    refused = room.reply_to(click_draft(room, SMS_EN, APPROVE, user="U03CAROL"))
    assert "second person" in refused
    clock.advance(minutes=3)
    first_approval = clock.now()
    assert "Approved the SMS (en)" in room.reply_to(click_draft(room, SMS_EN, APPROVE, "U02BOB"))
    wait_draft(room, SMS_EN, "Approved by <@U02BOB>")
    room.wait_board("🔄 *5. Notify customers*")  # the Chinese draft still waits
    clock.advance(minutes=1, seconds=30)
    second_approval = clock.now()
    assert "Approved the SMS (zh-CN)" in room.reply_to(click_draft(room, SMS_ZH, APPROVE, "U02BOB"))
    room.wait_board("✅ *5. Notify customers*")
    local = local_time(second_approval, bot.app.plan.tz)
    wait_draft(room, SMS_ZH, f"Approved by <@U02BOB> at {local}", "Delivered to the sms webhook")

    drafts = _drafts(bot)
    assert drafts[SMS_EN].approved_by == drafts[SMS_ZH].approved_by == "U02BOB"
    assert as_utc(drafts[SMS_EN].approved_at) == first_approval  # type: ignore[arg-type]
    assert as_utc(drafts[SMS_ZH].approved_at) == second_approval  # type: ignore[arg-type]
    assert drafts[SMS_ZH].body == EDITED_ZH and drafts[SMS_ZH].edited_by == "U03CAROL"
    timeline = _timeline(bot)
    assert (first_approval, "U02BOB", "approved the SMS (en) notification") in timeline
    assert (second_approval, "U02BOB", "approved the SMS (zh-CN) notification") in timeline
    # Each approved SMS reached the delivery webhook once, as approved.
    wait_for(lambda: len(harness.delivered.calls) == 2, what="two deliveries")
    sent = {c["json"]["locale"]: c for c in harness.delivered.calls}
    assert sent["zh-CN"]["json"]["body"] == EDITED_ZH
    assert sent["zh-CN"]["key"] == str(drafts[SMS_ZH].id)
    assert sent["en"]["key"] == str(drafts[SMS_EN].id)

    # Step 6: Alice fills in the review form the next morning.
    clock.advance(hours=18)
    seen = len(emulator.views)
    room.command_delivery("review")
    form = room.latest_view("review_modal", after=seen)
    submitted = room.slack.submit_view(
        form,
        {
            "what_happened": "Acquirer A blocked our Alipay settlement account.",
            "root_cause": "A limit change on the acquirer's side; no automatic failover.",
            "went_well": "Customers were told in both languages within the hour.",
            "to_improve": "Fail over automatically on CHANNEL_BLOCKED.",
            "action_1_text": "Automatic failover on CHANNEL_BLOCKED",
            "action_1_owner": "U02BOB",
            "action_1_due": "2026-12-09",
        },
        user_id="U01ALICE",
    )
    assert submitted.status == 200 and submitted.body in ("", "null"), submitted.body

    # The document goes up through the external upload flow and lands in the channel.
    name = f"OOR-{room.number}-postmortem-v1.md"
    shared = wait_for(
        lambda: next(
            (
                f
                for m in emulator.messages(room.channel_id)
                for f in m.get("files") or []
                if f["name"] == name
            ),
            None,
        ),
        what=f"file {name} in the channel",
    )
    # (the weekly digest may share its chart elsewhere meanwhile: only this channel counts)
    tickets = emulator.calls_to("files.getUploadURLExternal")
    assert [c.args["filename"] for c in tickets].count(name) == 1
    completed = [
        c
        for c in emulator.calls_to("files.completeUploadExternal")
        if c.args.get("channel_id") == room.channel_id
    ]
    assert len(completed) == 1 and shared["id"] in json.dumps(completed[0].args["files"])
    _record, uploaded = emulator.file(shared["id"])
    markdown = uploaded.decode("utf-8")

    # Bob publishes it: step 6 is done.
    summary = _publish_button(room)
    assert summary["text"] == f"OOR-{room.number} post-mortem v1 ({name})"
    clock.advance(minutes=20)
    clicked = room.slack.click(
        user_id="U02BOB",
        channel_id=room.channel_id,
        message_ts=summary["ts"],
        action_id="postmortem_publish",
        value=f"{room.number}:1",
    )
    assert "Step 6 is done" in room.reply_to(clicked)
    room.wait_board("✅ *6. Review*")

    # Exported three ways, it is the one document that was shared.
    from_cli = _cli(harness, f"OOR-{room.number}", "--format", "md")
    exported = json.loads(_cli(harness, f"OOR-{room.number}", "--format", "json"))
    response = httpx.get(
        f"{bot.url}/api/incidents/OOR-{room.number}/postmortem.md",
        headers={"Authorization": f"Bearer {API_TOKEN}"},
    )
    assert response.status_code == 200, response.text
    assert from_cli == response.text == exported["markdown"] == markdown
    assert exported["published_by"] == "U02BOB" and exported["file_id"] == shared["id"]

    # Its figures are the stored step timestamps, minus the opening.
    stored_opened, steps = _stored_steps(bot, room.number)
    assert stored_opened == opened
    seconds = exported["facts"]["durations_seconds"]
    for key, (label, step) in MEASURES.items():
        finished = as_utc(steps[step].completed_at)  # type: ignore[arg-type]
        expected = finished - stored_opened
        assert seconds[key] == int(expected.total_seconds()), key
        assert f"| {label} | {format_duration(expected)} |" in markdown, label
    resolved = as_utc(steps[Step.RESOLVE].completed_at)  # type: ignore[arg-type]
    assert seconds["total"] == int((resolved - stored_opened).total_seconds())
    assert f"| Duration so far (opened → resolved) | {format_duration(resolved - opened)} |" in (
        markdown
    )
    assert seconds["detection"] == 120
    # …and they are the minutes that passed on the clock, not zeros or a coincidence.
    assert (seconds["acknowledge"], seconds["record"]) == (250, 705)
    assert (seconds["resolve"], seconds["notify"]) == (2150, 2900)

    # The rest of what the issue asks the document to say.
    tz = bot.app.plan.tz
    notify = steps[Step.NOTIFY]
    started, done = (
        as_utc(at).astimezone(tz).strftime("%Y-%m-%d %H:%M")  # type: ignore[arg-type]
        for at in (notify.started_at, notify.completed_at)
    )
    assert f"| 5 | Notify customers 通知客户 | done | {BOB} | {started} | {done} |" in markdown
    assert "| Customer notifications sent | 2 |" in markdown
    assert "| Amount affected | CNY 98,000.00 |" in markdown
    assert "| Affected transactions | 312 |" in markdown
    assert f"| 1 | Automatic failover on CHANNEL_BLOCKED | {BOB} | 2026-12-09 | open |" in (
        markdown
    )
    assert "Acquirer A blocked our Alipay settlement account." in markdown
    approved_line = second_approval.astimezone(tz).strftime("%H:%M:%S")
    assert f"- `{approved_line}` {BOB} — approved the SMS (zh-CN) notification" in markdown
    assert f"Times are in {tz.key}." in markdown
