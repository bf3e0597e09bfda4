"""Step 6 in Slack, through signed requests against the running bot and the emulator:
review form → post-mortem file and summary → Publish → close; versions; action items;
archiving the channel on close when the plan says so."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from bot.domain.plan import Plan
from bot.domain.types import Step, StepState
from bot.postmortems.service import PostmortemService
from bot.sandbox.emulator import Emulator, EmulatorServer
from tests.conftest import RunningBot, start_bot
from tests.integration.slack_flow import IncidentRoom
from tests.support import wait_for


def _service(bot: RunningBot) -> PostmortemService:
    assert bot.app.wiring is not None
    service: PostmortemService = bot.app.wiring.exposed["postmortems"]
    return service


def _resolved_room(bot: RunningBot, emulator: Emulator) -> IncidentRoom:
    room = IncidentRoom.open(bot, emulator)
    room.command("ack")
    room.command("record amount=98000.00 currency=CNY count=312", user="U02BOB")
    room.command("resolve Switched Alipay traffic to the backup acquirer cause=partner", "U02BOB")
    room.wait_board("✅ *4. Resolve*")
    return room


def _files(room: IncidentRoom) -> list[dict[str, Any]]:
    return [f for m in room.emulator.messages(room.channel_id) for f in m.get("files") or []]


def _wait_file(room: IncidentRoom, name: str) -> dict[str, Any]:
    return wait_for(
        lambda: next((f for f in _files(room) if f["name"] == name), None), what=f"file {name}"
    )


def _summary(room: IncidentRoom, version: int) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        for message in room.emulator.messages(room.channel_id):
            blocks = json.dumps(message.get("blocks") or [])
            if "postmortem_publish" in blocks and f'"{room.number}:{version}"' in blocks:
                return message
        return None

    return wait_for(find, what=f"summary of v{version}")


def _review(room: IncidentRoom, values: dict[str, str], user: str = "U01ALICE") -> None:
    seen = len(room.emulator.views)
    room.command_delivery("review", user=user)
    modal = room.latest_view("review_modal", after=seen)
    answer = room.slack.submit_view(modal, values, user_id=user)
    assert answer.status == 200 and answer.body in ("", "null"), answer.body


def test_review_form_compiles_shares_and_publishes(bot: RunningBot, emulator: Emulator) -> None:
    room = IncidentRoom.open(bot, emulator)
    assert "resolve OOR-1 first" in room.command("review")

    room.command("ack")
    room.command("record amount=98000.00 currency=CNY count=312", user="U02BOB")
    room.command("resolve Switched Alipay traffic to the backup acquirer cause=partner", "U02BOB")
    room.wait_board("✅ *4. Resolve*")

    # An action item row with an owner but no text is sent back with an error.
    seen = len(emulator.views)
    room.click("board_review")  # the board's button opens the same form
    modal = room.latest_view("review_modal", after=seen)
    refused = room.slack.submit_view(modal, {"action_2_owner": "U02BOB"}, user_id="U01ALICE")
    assert refused.json()["errors"] == {
        "action_2_text": "Say what will be done (or clear the owner and due date)."
    }

    _review(
        room,
        {
            "what_happened": "Acquirer A blocked our Alipay settlement account.",
            "root_cause": "A limit change on the acquirer's side, no failover on our side.",
            "went_well": "Detected within a minute.",
            "to_improve": "Fail over automatically.",
            "action_1_text": "Automatic failover on CHANNEL_BLOCKED",
            "action_1_owner": "U02BOB",
            "action_1_due": "2026-12-09",
        },
    )
    file = _wait_file(room, "OOR-1-postmortem-v1.md")
    _record, content = emulator.file(file["id"])
    stored = _service(bot).get(room.number, 1)
    assert stored is not None and content.decode("utf-8") == stored.markdown
    markdown = stored.markdown
    assert markdown.startswith("# OOR-1 post-mortem: Alipay channel blocked")
    assert "| Amount affected | CNY 98,000.00 |" in markdown
    assert "| Affected transactions | 312 |" in markdown
    assert "Acquirer A blocked our Alipay settlement account." in markdown
    assert "| 1 | Automatic failover on CHANNEL_BLOCKED |" in markdown
    assert "2026-12-09" in markdown and "Bob Li" in markdown  # names from users.info

    summary = _summary(room, 1)
    assert summary["text"] == "OOR-1 post-mortem v1 (OOR-1-postmortem-v1.md)"
    clicked = room.slack.click(
        user_id="U02BOB",
        channel_id=room.channel_id,
        message_ts=summary["ts"],
        action_id="postmortem_publish",
        value=f"{room.number}:1",
    )
    assert "Step 6 is done" in room.reply_to(clicked)
    room.wait_board("✅ *6. Review*")
    room.wait_line("post-mortem v1 published")
    wait_for(
        lambda: (
            "Published by"
            in json.dumps(
                next(m for m in emulator.messages(room.channel_id) if m["ts"] == summary["ts"])
            )
        ),
        what="summary shows it was published",
    )
    room.command("skip notify merchants were called by phone", user="U03CAROL")
    room.wait_board("⏭️ *5. Notify customers*")
    assert "closed" in room.command("close")

    # Compiling again (the channel was not archived: the example plan keeps channels).
    _review(room, {"what_happened": "Acquirer A blocked the account for 58 minutes."})
    _wait_file(room, "OOR-1-postmortem-v2.md")
    _summary(room, 2)
    assert _service(bot).versions(room.number) == [1, 2]
    first = _service(bot).get(room.number, 1)
    assert first is not None and first.markdown == stored.markdown and first.published_by
    assert len(_files(room)) == 2  # each version shared once
    snapshot = bot.app.incidents.get(room.number)
    assert snapshot is not None and snapshot.step(Step.REVIEW).state is StepState.DONE


def test_action_items_in_slack(bot: RunningBot, emulator: Emulator) -> None:
    room = _resolved_room(bot, emulator)
    assert "none yet" in room.command("actions")
    assert "Added action item 1" in room.command(
        "actions add Alert on the CHANNEL_BLOCKED rate <@U03CAROL|carol> 2026-12-15"
    )
    assert "Added action item 2" in room.command("actions add Rehearse the failover")
    room.wait_line("added action item 1: Alert on the CHANNEL_BLOCKED rate")
    items = _service(bot).action_items(room.number)
    assert [(i.number, i.owner, str(i.due)) for i in items] == [
        (1, "U03CAROL", "2026-12-15"),
        (2, None, "None"),
    ]
    delivery = room.command_delivery("actions")
    listed = json.dumps(wait_for(lambda: emulator.responses(str(delivery.response_token))))
    assert "Alert on the CHANNEL_BLOCKED rate" in listed and "<@U03CAROL>" in listed
    assert "is done" in room.command("actions done 1")
    assert "already done" in room.command("actions done 1")
    assert "no action item 7" in room.command("actions done 7")
    room.wait_line("completed action item 1")
    # Outside the incident channel: every open item, with its incident.
    general = emulator.channel_by_name("payments-review")
    assert general is not None
    delivery = room.command_delivery("actions", channel=general["id"])
    listed = json.dumps(wait_for(lambda: emulator.responses(str(delivery.response_token))))
    assert "*OOR-1* 2. Rehearse the failover" in listed and "Alert on the" not in listed
    assert "works in an incident channel" in room.command("actions done 2", channel=general["id"])
    emulator.add_user(user_id="U09MALLORY", name="mallory", email="mallory@example.com")
    refused = room.command("actions add Something", user="U09MALLORY")
    assert "Only OOR-1's responders" in refused


@pytest.fixture
def archiving_bot(
    database_url: str, emulator_server: EmulatorServer, plan: Plan
) -> Iterator[RunningBot]:
    archiving = plan.model_copy(update={"archive_channel_on_close": True})
    running = start_bot(database_url, emulator_server.api_url, archiving)
    yield running
    running.stop()


def test_closing_archives_the_channel_when_the_plan_says_so(
    archiving_bot: RunningBot, emulator: Emulator
) -> None:
    room = _resolved_room(archiving_bot, emulator)
    assert "closed" in room.command("close --force")
    wait_for(lambda: emulator.channel(room.channel_id)["is_archived"], what="channel archived")
    # The closing notice and the final board made it in before the archive.
    assert any("closed the incident" in line for line in room.channel_lines())
    assert "Closed" in room.board_text() or "closed" in room.board_text()
