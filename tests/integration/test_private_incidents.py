"""Private incidents over real HTTP against the Slack emulator, which grants exactly the
manifest's scopes and checks each call's arguments (``conversations.create is_private=true``
needs ``groups:write``, bot/sandbox/emulator/scopes.py, from Slack's method docs in
tests/fixtures/slack_methods/): the private channel, who is in it, the broadcast line,
what outsiders get, and /oor private and /oor public confirm (issue 14)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bot.domain.plan import Plan
from bot.domain.types import OorType
from bot.sandbox.emulator import Emulator
from bot.sandbox.emulator.server import EmulatorServer
from tests.conftest import RunningBot, start_bot
from tests.integration.slack_flow import RESPONDERS, IncidentRoom
from tests.support import wait_for

TITLE = "Alipay channel blocked"  # native_event's internal title


def _private_payment_failures(plan: Plan) -> Plan:
    private = plan.for_type(OorType.PAYMENT_FAILURE).model_copy(update={"private": True})
    return plan.model_copy(
        update={"oor_types": plan.oor_types.model_copy(update={"payment_failure": private})}
    )


@pytest.fixture
def private_bot(
    database_url: str, emulator_server: EmulatorServer, plan: Plan
) -> Iterator[RunningBot]:
    running = start_bot(database_url, emulator_server.api_url, _private_payment_failures(plan))
    yield running
    running.stop()


def _incident_channels(emulator: Emulator, number: int) -> list[dict[str, Any]]:
    return [c for c in emulator.snapshot()["channels"] if c["name"].startswith(f"oor-{number}-")]


def test_a_private_incident_over_slack(private_bot: RunningBot, emulator: Emulator) -> None:
    emulator.add_user(user_id="U09MALLORY", name="mallory", email="mallory@example.com")
    room = IncidentRoom.open(private_bot, emulator)
    channel = emulator.channel(room.channel_id)
    assert channel["is_private"] is True
    assert emulator.members(room.channel_id) == RESPONDERS | {channel["creator"]}
    [create] = emulator.calls_to("conversations.create")
    assert create.args.get("is_private") in (True, "true", "1")

    broadcast = emulator.channel_by_name("payments-incidents")
    assert broadcast is not None
    line = wait_for(
        lambda: next(
            (m["text"] for m in emulator.messages(broadcast["id"]) if "OOR-1" in m["text"]), None
        ),
        what="the broadcast line",
    )
    assert line == "🔒 A private incident *OOR-1* was opened; its commander is <@U01ALICE>."
    assert TITLE not in line and channel["name"] not in line

    # Outsiders: no reading it from elsewhere, no changing it from elsewhere.
    review = emulator.channel_by_name("payments-review")
    assert review is not None
    status = room.command("status OOR-1", user="U09MALLORY", channel=review["id"])
    assert "private incident" in status and TITLE not in status
    assert "works in an incident channel" in room.command(
        "ack", user="U09MALLORY", channel=review["id"]
    )
    # In its channel it works as usual.
    assert "OOR-1" in room.command("ack")


def test_oor_private_then_public_confirm_over_slack(bot: RunningBot, emulator: Emulator) -> None:
    room = IncidentRoom.open(bot, emulator)
    public_id = room.channel_id
    assert "now private" in room.command("private")

    def moved() -> str | None:
        incident = bot.app.incidents.get(1)
        new = incident.channel_id if incident else None
        if (
            new
            and new != public_id
            and emulator.pins(new)
            and emulator.members(new) >= RESPONDERS
            and emulator.channel(public_id).get("is_archived")
        ):
            return new
        return None

    private_id = wait_for(moved, what="the incident in its private channel")
    assert emulator.channel(private_id)["is_private"] is True
    assert emulator.members(private_id) >= RESPONDERS
    notes = [m["text"] for m in emulator.messages(public_id)]
    assert any("now a private incident" in t for t in notes)
    assert not any(emulator.channel(private_id)["name"] in t for t in notes)

    private_room = IncidentRoom(bot, emulator, 1, private_id)
    asked = private_room.command("public")
    assert "/oor public confirm" in asked
    assert bot.app.incidents.get(1).private  # type: ignore[union-attr]
    assert "public again" in private_room.command("public confirm")

    def public_again() -> str | None:
        incident = bot.app.incidents.get(1)
        new = incident.channel_id if incident else None
        if new and new not in (public_id, private_id) and emulator.pins(new):
            archived = emulator.channel(private_id).get("is_archived")
            return new if archived and emulator.members(new) >= RESPONDERS else None
        return None

    again = wait_for(public_again, what="the incident in a new public channel")
    assert emulator.channel(again)["is_private"] is False
    assert len(_incident_channels(emulator, 1)) == 3


def test_declare_private_over_slack(bot: RunningBot, emulator: Emulator) -> None:
    emulator.add_user(user_id="U09MALLORY", name="mallory", email="mallory@example.com")
    review = emulator.channel_by_name("payments-review")
    assert review is not None
    room = IncidentRoom(bot, emulator, 0, review["id"])  # only to run commands from here
    answer = room.command("declare --private payment_failure Card numbers in logs", "U09MALLORY")
    assert "as a private incident" in answer and "OOR-1" in answer

    def opened() -> str | None:
        # Set up: the board pinned and the responders in (the jobs run side by side).
        found = [
            c
            for c in _incident_channels(emulator, 1)
            if emulator.pins(c["id"]) and emulator.members(c["id"]) >= RESPONDERS
        ]
        return str(found[0]["id"]) if found else None

    channel_id = wait_for(opened, what="the declared private incident's channel")
    assert emulator.channel(channel_id)["is_private"] is True
    # Only the plan's responders: not the declarer, who is not one of them.
    assert "U09MALLORY" not in emulator.members(channel_id)
