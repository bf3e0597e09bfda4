"""Drafting, editing, approving and discarding notifications through signed Slack requests."""

from __future__ import annotations

from sqlmodel import col, select

from bot.domain.types import Step, StepState
from bot.notifications.views import APPROVE, DISCARD, EDIT, EDIT_CALLBACK_ID
from bot.sandbox.emulator import Emulator
from bot.storage.models import JobRow, NotificationDraftRow, TimelineRow
from tests.conftest import RunningBot
from tests.integration.slack_flow import IncidentRoom
from tests.notifications.drafts_in_slack import (
    action_ids,
    blocks_text,
    click_draft,
    replay_click,
    wait_draft,
    wait_drafts,
)

SMS_ZH = "SMS (zh-CN)"


def _timeline(bot: RunningBot) -> list[str]:
    with bot.app.db.session() as session:
        return [
            t.text for t in session.exec(select(TimelineRow).order_by(col(TimelineRow.id))).all()
        ]


def _drafts(bot: RunningBot) -> list[NotificationDraftRow]:
    with bot.app.db.session() as session:
        return list(
            session.exec(select(NotificationDraftRow).order_by(col(NotificationDraftRow.id)))
        )


def _step(bot: RunningBot, number: int) -> StepState:
    incident = bot.app.incidents.get(number)
    assert incident is not None
    return incident.step(Step.NOTIFY).state


def test_draft_edit_and_approve_by_a_second_person(bot: RunningBot, emulator: Emulator) -> None:
    room = IncidentRoom.open(bot, emulator)
    reply = room.command("notify sms zh-CN", user="U03CAROL")
    assert "Drafted 1 customer notification for OOR-1: SMS (zh-CN)" in reply
    message = wait_drafts(room, 1)[0]
    text = blocks_text(message)
    assert "【某某支付】尊敬的用户" in text and "2 segments (UCS-2" in text
    assert action_ids(message) == [APPROVE, EDIT, DISCARD]
    room.wait_board("🔄 *5. Notify customers*")

    # Edit: the form holds the text; saving updates the message in place.
    seen = len(emulator.views)
    click_draft(room, SMS_ZH, EDIT, user="U03CAROL")
    modal = room.latest_view(EDIT_CALLBACK_ID, after=seen)
    body_block = next(b for b in modal["blocks"] if b.get("block_id") == "body")
    assert body_block["element"]["initial_value"].startswith("【某某支付】")
    new_text = "【某某支付】尊敬的用户：支付宝支付暂时失败，请稍后重试。客服热线95000。"
    answer = room.slack.submit_view(modal, {"body": new_text}, user_id="U03CAROL")
    assert answer.status == 200 and answer.body in ("", "null")
    wait_draft(room, SMS_ZH, "支付宝支付暂时失败", "edited by <@U03CAROL>", "1 segment")

    # The author cannot approve their own text (the example plan asks for two people).
    refused = room.reply_to(click_draft(room, SMS_ZH, APPROVE, user="U03CAROL"))
    assert "second person" in refused
    assert _drafts(bot)[0].state == "draft"

    approved = room.reply_to(click_draft(room, SMS_ZH, APPROVE, user="U02BOB"))
    assert "Approved the SMS (zh-CN) notification" in approved
    message = wait_draft(room, SMS_ZH, "Approved by <@U02BOB>")
    assert action_ids(message) == []
    room.wait_board("✅ *5. Notify customers*", "<@U02BOB>")
    row = _drafts(bot)[0]
    assert (row.state, row.approved_by, row.body) == ("approved", "U02BOB", new_text)
    assert row.approved_at is not None and row.edited_by == "U03CAROL"
    timeline = _timeline(bot)
    assert "approved the SMS (zh-CN) notification" in timeline
    assert any(t.startswith("notified customers (step 5") for t in timeline)
    assert any("edited the SMS (zh-CN) notification draft" in t for t in timeline)


def test_double_clicks_change_nothing_the_second_time(bot: RunningBot, emulator: Emulator) -> None:
    room = IncidentRoom.open(bot, emulator)
    room.command("notify sms en", user="U03CAROL")
    wait_drafts(room, 1)
    label = "SMS (en)"
    first = click_draft(room, label, APPROVE, user="U02BOB")
    # The message may already have lost its buttons: the second click is the same payload.
    second = replay_click(room, label, APPROVE, user="U02BOB")
    replies = sorted([room.reply_to(first), room.reply_to(second)])
    assert replies[0].startswith("Approved the SMS (en)")
    assert "already approved by <@U02BOB>" in replies[1]
    wait_draft(room, label, "Approved by <@U02BOB>")
    row = _drafts(bot)[0]
    timeline = _timeline(bot)
    assert timeline.count("approved the SMS (en) notification") == 1
    assert sum(t.startswith("notified customers") for t in timeline) == 1
    # The draft was approved once, at one moment, and cannot be discarded afterwards.
    refused = room.reply_to(replay_click(room, label, DISCARD, user="U02BOB"))
    assert "cannot be discarded" in refused
    assert _drafts(bot)[0].approved_at == row.approved_at


def test_board_button_drafts_the_plans_channels_and_discard_and_approve_finish_step_5(
    bot: RunningBot, emulator: Emulator
) -> None:
    room = IncidentRoom.open(bot, emulator)
    room.click("board_notify", user="U03CAROL")
    messages = wait_drafts(room, 6)
    assert len(messages) == 6  # sms, email, status page × zh-CN, en
    email = blocks_text(next(m for m in messages if "email (zh-CN)" in m["text"]))
    assert "Subject 主题:" in email and "部分支付宝支付失败" in email
    # Clicking Notify again drafts nothing new: all six still wait for approval.
    room.click("board_notify", user="U03CAROL")
    assert len(_drafts(bot)) == 6

    labels = [d.channel for d in _drafts(bot)]
    assert sorted(set(labels)) == ["email", "sms", "status_page"]
    discarded = room.reply_to(click_draft(room, "status page (en)", DISCARD, user="U02BOB"))
    assert "Discarded the status page (en) draft" in discarded
    wait_draft(room, "status page (en)", "Discarded by <@U02BOB>")
    again = room.reply_to(replay_click(room, "status page (en)", DISCARD, user="U02BOB"))
    assert "already discarded" in again
    refused = room.reply_to(replay_click(room, "status page (en)", APPROVE, user="U02BOB"))
    assert "was discarded" in refused

    for label in ["SMS (zh-CN)", "SMS (en)", "email (zh-CN)", "email (en)"]:
        click_draft(room, label, APPROVE, user="U02BOB")
        wait_draft(room, label, "Approved by")
        assert _step(bot, 1) is StepState.IN_PROGRESS  # one draft still waits
    click_draft(room, "status page (zh-CN)", APPROVE, user="U01ALICE")
    room.wait_board("✅ *5. Notify customers*")
    assert [d.state for d in _drafts(bot)].count("approved") == 5


def test_refusals(bot: RunningBot, emulator: Emulator) -> None:
    room = IncidentRoom.open(bot, emulator)
    assert "`smss` is not a notification channel" in room.command("notify smss")
    emulator.add_user(user_id="U09MALLORY", name="mallory", email="mallory@example.com")
    assert "Only OOR-1's responders" in room.command("notify sms", user="U09MALLORY")
    room.command("notify sms en", user="U03CAROL")
    wait_drafts(room, 1)
    refused = room.reply_to(click_draft(room, "SMS (en)", APPROVE, user="U09MALLORY"))
    assert "Only OOR-1's responders" in refused
    assert _drafts(bot)[0].state == "draft"
    with bot.app.db.session() as session:
        kinds = [j.kind for j in session.exec(select(JobRow))]
    assert "notify_deliver" not in kinds  # the example plan has no delivery webhooks


def test_notify_done_records_customers_told_another_way(
    bot: RunningBot, emulator: Emulator
) -> None:
    room = IncidentRoom.open(bot, emulator)
    assert "Step 5 is done" in room.command("notify done phoned the 3 merchants", user="U03CAROL")
    room.wait_board("✅ *5. Notify customers*")
    assert _drafts(bot) == []
