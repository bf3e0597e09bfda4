"""Who may change an incident, commands in the wrong place or order, repeats, slow Slack."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient
from sqlmodel import func, select

from bot.notifications.views import EDIT_CALLBACK_ID
from bot.postmortems.views import REVIEW_CALLBACK_ID
from bot.sandbox.emulator import Emulator
from bot.sandbox.slack_client import SignedHttp, SlackClient
from bot.slack.views.record_modal import RECORD_CALLBACK_ID
from bot.slack.views.resolve_modal import RESOLVE_CALLBACK_ID
from bot.storage.models import TimelineRow
from tests.conftest import RunningBot
from tests.integration.slack_flow import IncidentRoom
from tests.support import SIGNING_SECRET


def _timeline_count(bot: RunningBot) -> int:
    with bot.app.db.session() as session:
        return int(session.exec(select(func.count()).select_from(TimelineRow)).one())


def test_outsiders_may_read_but_not_change(bot: RunningBot, emulator: Emulator) -> None:
    emulator.add_user(user_id="U09MALLORY", name="mallory", email="mallory@example.com")
    room = IncidentRoom.open(bot, emulator)
    general = emulator.channel_by_name("payments-review")
    assert general is not None
    refused = room.command("ack", user="U09MALLORY")
    assert "Only OOR-1's responders and members of its channel" in refused
    status = room.command("status OOR-1", user="U09MALLORY", channel=general["id"])
    assert "OOR-1" in status
    snapshot = bot.app.incidents.get(1)
    assert snapshot is not None and snapshot.roles == {}


def test_a_channel_member_who_is_not_a_responder_may_change(
    bot: RunningBot, emulator: Emulator
) -> None:
    emulator.add_user(user_id="U08FRANK", name="frank", email="frank@example.com")
    room = IncidentRoom.open(bot, emulator)
    # Someone adds Frank to the channel by hand.
    WebClient(token="xoxb-test", base_url=bot.app.api_url).conversations_invite(
        channel=room.channel_id, users=["U08FRANK"]
    )
    assert "You have OOR-1" in room.command("ack", user="U08FRANK")


def test_step_commands_outside_an_incident_channel_are_explained(
    bot: RunningBot, emulator: Emulator
) -> None:
    room = IncidentRoom.open(bot, emulator)
    elsewhere = emulator.channel_by_name("payments-review")
    assert elsewhere is not None
    reply = room.command("ack", channel=elsewhere["id"])
    assert "works in an incident channel" in reply


def test_invalid_orders_are_refused_with_an_explanation(
    bot: RunningBot, emulator: Emulator
) -> None:
    room = IncidentRoom.open(bot, emulator)
    assert "not resolved yet" in room.command("close")
    assert "after the fix" in room.command("review")
    room.command("resolve Restarted the gateway")
    assert "already resolved" in room.command("resolve Something else")
    assert "still open" in room.command("close")
    assert "closed" in room.command("close --force")
    assert "is closed" in room.command("resolve again")
    assert "open again" in room.command("reopen")
    assert "resolved" in room.command("resolve Restarted it for real")


def test_unknown_words_get_the_help_and_words_are_case_insensitive(
    bot: RunningBot, emulator: Emulator
) -> None:
    room = IncidentRoom.open(bot, emulator)
    assert "not an `/oor` command" in room.command("dance")
    assert "/oor ack" in room.command("dance")
    assert "You have OOR-1" in room.command("ACK")
    assert "already acknowledged" in room.command("响应")


def test_repeating_a_command_changes_nothing(bot: RunningBot, emulator: Emulator) -> None:
    room = IncidentRoom.open(bot, emulator)
    room.command("ack")
    room.wait_board("✅ *1. Rapid response*")
    before = _timeline_count(bot)
    room.command("ack")
    room.click("board_ack")
    room.command("record amount=10 currency=CNY")
    after_record = _timeline_count(bot)
    room.command("record amount=10 currency=CNY")
    assert _timeline_count(bot) == after_record == before + 1


def test_acks_stay_under_three_seconds_when_slack_is_slow(
    bot: RunningBot, emulator: Emulator
) -> None:
    room = IncidentRoom.open(bot, emulator)
    emulator.faults.add(method="*", latency=2.0)
    delivery = room.command_delivery("ack")
    assert delivery.seconds < 3.0  # Slack's own deadline for an acknowledgement
    click = room.click("board_record")
    assert click.seconds < 3.0
    assert "You have OOR-1" in room.reply_to(delivery)
    emulator.faults.clear()


def test_ids_no_incident_can_have_get_a_plain_answer(bot: RunningBot, emulator: Emulator) -> None:
    room = IncidentRoom.open(bot, emulator)
    # Past the id column: "Something went wrong" on PostgreSQL before.
    assert "There is no incident OOR-99999999999" in room.command("status OOR-99999999999")
    assert "There is no incident OOR-0" in room.command("status OOR-0")
    assert "There is no incident" in room.command("timeline " + "9" * 30 + " 2")
    assert "OOR-1" in room.command("timeline 99999999999")  # a page past the range: page 1
    assert "Which one?" in room.command("actions done ²")


@pytest.mark.parametrize(
    ("callback_id", "metadata"),
    [
        (RECORD_CALLBACK_ID, "not a number"),
        (RECORD_CALLBACK_ID, "²"),
        (RESOLVE_CALLBACK_ID, "99999999999"),
        (REVIEW_CALLBACK_ID, '{"incident": 1}'),
        (EDIT_CALLBACK_ID, "{not json"),
        (EDIT_CALLBACK_ID, '["a list"]'),
        (EDIT_CALLBACK_ID, '{"draft": "²", "incident": 1, "channel": "sms", "locale": "en"}'),
    ],
)
def test_a_form_with_odd_private_metadata_is_answered_cleanly(
    bot: RunningBot,
    emulator: Emulator,
    capfd: pytest.CaptureFixture[str],
    callback_id: str,
    metadata: str,
) -> None:
    slack = SlackClient(SignedHttp(f"{bot.url}/slack/events", SIGNING_SECRET), emulator)
    view = {
        "id": "V0ODD",
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": metadata,
        "blocks": [],
    }
    delivery = slack.submit_view(view, {}, user_id="U01ALICE")
    assert delivery.status == 200, delivery.body
    assert delivery.body in ("", "null")  # acknowledged: the modal closes
    captured = capfd.readouterr()
    assert "Traceback" not in captured.out + captured.err
    assert "view_without" in captured.out + captured.err  # and one log line says why
