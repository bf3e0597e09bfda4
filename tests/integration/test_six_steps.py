"""A whole incident from webhook to review, entirely in Slack, against the emulator.

Each flow runs twice: with Slack's requests signed over HTTP, and over Socket Mode (the
bot's WebSocket to the emulator, no signing secret; protocol in
tests/fixtures/slack_methods/NOTES.md), where Slack also asks for a new connection
mid-flow (``refresh_requested``) and the bot must carry on over the new one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import select

from bot.domain.plan import Plan
from bot.domain.types import Step, StepState
from bot.sandbox.emulator import Emulator, EmulatorServer
from bot.storage.models import TimelineRow
from tests.conftest import RunningBot, start_bot
from tests.integration.slack_flow import IncidentRoom
from tests.notifications.drafts_in_slack import click_draft, wait_drafts
from tests.support import APP_TOKEN, wait_for

ALL_DONE = "✅ *6. Review*"


@pytest.fixture(params=["http", "socket_mode"])
def bot(
    request: pytest.FixtureRequest,
    database_url: str,
    emulator_server: EmulatorServer,
    plan: Plan,
) -> Iterator[RunningBot]:
    overrides: dict[str, object] = {}
    if request.param == "socket_mode":
        overrides = {"slack_app_token": APP_TOKEN, "slack_signing_secret": None}
    running = start_bot(database_url, emulator_server.api_url, plan, **overrides)
    if running.app.socket_mode is not None:
        socket_mode = running.app.socket_mode
        wait_for(lambda: socket_mode.readiness()[0] == "connected", what="Socket Mode up")
    yield running
    running.stop()


def _publishable(room: IncidentRoom) -> dict[str, Any] | None:
    for message in room.emulator.messages(room.channel_id):
        if "postmortem_publish" in json.dumps(message.get("blocks") or []):
            return message
    return None


def _timeline_kinds(bot: RunningBot) -> list[str]:
    with bot.app.db.session() as session:
        return [t.kind for t in session.exec(select(TimelineRow).order_by(TimelineRow.id)).all()]


def test_all_six_steps_by_command(bot: RunningBot, emulator: Emulator) -> None:
    room = IncidentRoom.open(bot, emulator)
    assert "You have OOR-1" in room.command("ack")
    room.wait_board("✅ *1. Rapid response*", "*Commander*", "<@U01ALICE>")
    room.wait_line("acknowledged the incident")

    reply = room.command(
        'record amount=98000.00 currency=CNY merchant=M-20001 count=312 time="2026-11-25 12:31"',
        user="U02BOB",
    )
    assert "Recorded" in reply
    room.wait_board("✅ *2. Record the problem*", "CNY 98,000.00", "312")

    assert "Finding added" in room.command(
        "investigate Alipay returns CHANNEL_BLOCKED since 12:30", user="U02BOB"
    )
    room.wait_board("🔄 *3. Investigate*")
    room.wait_line("Alipay returns CHANNEL_BLOCKED")
    room.command("investigate --done", user="U02BOB")
    room.wait_board("✅ *3. Investigate*")
    room.slack_reconnects()

    assert "resolved" in room.command(
        "resolve Switched Alipay traffic to the backup acquirer cause=partner", user="U02BOB"
    )
    room.wait_board("✅ *4. Resolve*", "Switched Alipay traffic to the backup acquirer")

    room.command("notify done SMS sent to 312 affected customers", user="U03CAROL")
    room.wait_board("✅ *5. Notify customers*")
    room.command("review Lessons: alert on channel error codes earlier")
    room.wait_board(ALL_DONE)
    assert "closed" in room.command("close")

    snapshot = bot.app.incidents.get(1)
    assert snapshot is not None and snapshot.status.value == "closed"
    assert all(s.state is StepState.DONE for s in snapshot.steps)
    respond = snapshot.step(Step.RESPOND)
    assert respond.completed_by == "U01ALICE" and respond.completed_at is not None
    assert snapshot.step(Step.RESOLVE).completed_by == "U02BOB"
    assert snapshot.resolved_at is not None and snapshot.closed_at is not None
    assert snapshot.details["amount"] == "98000.00" and snapshot.details["currency"] == "CNY"
    kinds = _timeline_kinds(bot)
    assert kinds.count("step") >= 7 and "finding" in kinds and kinds[-1] == "status"


def test_all_six_steps_by_buttons_and_modals(bot: RunningBot, emulator: Emulator) -> None:
    room = IncidentRoom.open(bot, emulator)
    room.click("board_ack", user="U02BOB")
    room.wait_board("✅ *1. Rapid response*", "<@U02BOB>")

    seen = len(emulator.views)
    room.click("board_record", user="U02BOB")
    modal = room.latest_view("record_modal", after=seen)
    submitted = room.slack.submit_view(
        modal,
        {"amount": "12.5", "currency": "usd", "affected_transactions": "9"},
        user_id="U02BOB",
    )
    assert submitted.status == 200 and submitted.body in ("", "null")
    room.wait_board("✅ *2. Record the problem*", "USD 12.50")
    room.slack_reconnects()

    seen = len(emulator.views)
    room.click("board_resolve", user="U02BOB")
    modal = room.latest_view("resolve_modal", after=seen)
    room.slack.submit_view(
        modal,
        {"summary": "Restarted the payment gateway", "cause": "program_error"},
        user_id="U02BOB",
    )
    room.wait_board("✅ *4. Resolve*", "Program error")
    # Step 5: the Notify button drafts the plan's messages; each is approved by someone
    # other than the person who drafted it (the example plan asks for two people).
    room.click("board_notify", user="U03CAROL")
    room.wait_board("🔄 *5. Notify customers*")
    drafts = wait_drafts(room, 6)
    for message in drafts:
        label = message["text"].split("notification ", 1)[1].split(":", 1)[0]
        click_draft(room, label, "notify_approve", user="U01ALICE")
    room.wait_board("✅ *5. Notify customers*")

    # Step 6: the Review button opens the review form; publishing the compiled
    # post-mortem completes the step.
    seen = len(emulator.views)
    room.click("board_review")
    modal = room.latest_view("review_modal", after=seen)
    room.slack.submit_view(
        modal,
        {"what_happened": "The gateway crashed.", "root_cause": "A memory leak."},
        user_id="U01ALICE",
    )
    summary = wait_for(lambda: _publishable(room), what="post-mortem summary")
    room.slack.click(
        user_id="U01ALICE",
        channel_id=room.channel_id,
        message_ts=summary["ts"],
        action_id="postmortem_publish",
        value=f"{room.number}:1",
    )
    room.wait_board(ALL_DONE)
    assert "closed" in room.command("close")


def test_record_modal_shows_field_errors_and_stores_nothing(
    bot: RunningBot, emulator: Emulator
) -> None:
    room = IncidentRoom.open(bot, emulator)
    seen = len(emulator.views)
    room.command_delivery("record")
    modal = room.latest_view("record_modal", after=seen)
    answer = room.slack.submit_view(
        modal, {"amount": "12,5.0x", "currency": "yuan"}, user_id="U01ALICE"
    ).json()
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"amount", "currency"}
    snapshot = bot.app.incidents.get(room.number)
    assert snapshot is not None and snapshot.step(Step.RECORD).state is StepState.PENDING
