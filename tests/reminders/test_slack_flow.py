"""Reminders in Slack, against the emulator: the message and its buttons, snoozing, marking
done, and escalation (invite + DM). Time is a ManualClock; scans are called directly."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import select

from bot.app import create_app
from bot.domain.clock import ManualClock
from bot.domain.plan import Plan
from bot.domain.types import Step
from bot.reminders import Reminders
from bot.sandbox.emulator import Emulator, EmulatorServer
from bot.sandbox.slack_client import Delivery
from bot.storage.migrate import upgrade_url
from bot.storage.models import TimelineRow
from bot.worker import WorkerOptions
from tests.conftest import RunningBot, make_settings, without_slack_rate_limits
from tests.integration.slack_flow import IncidentRoom
from tests.support import ServerThread, wait_for

RESPOND_OVERDUE = "⏰ Step 1 rapid response (快速响应) is overdue"


@dataclass
class Harness:
    bot: RunningBot
    clock: ManualClock
    reminders: Reminders

    def scan(self) -> list[tuple[int, Step, int]]:
        return [(c.incident, c.step, c.level) for c in self.reminders.scanner.scan()]


@pytest.fixture(autouse=True)
def _manual_clock_outpaces_slack(emulator: Emulator) -> None:
    without_slack_rate_limits(emulator)


@pytest.fixture
def harness(database_url: str, emulator_server: EmulatorServer, plan: Plan) -> Iterator[Harness]:
    upgrade_url(database_url)
    # Near real time: webhook signatures are checked against the bot's clock.
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    app = create_app(
        make_settings(database_url, emulator_server.api_url),
        plan=plan,
        clock=clock,
        worker_options=WorkerOptions(threads=4, poll_interval=0.05),
    )
    server = ServerThread(app.asgi).start()
    assert app.wiring is not None
    reminders = app.wiring.exposed["reminders"]
    assert isinstance(reminders, Reminders) and reminders.running  # started with the app
    reminders.stop()  # the test scans by hand, at the times it chooses
    yield Harness(RunningBot(app, server), clock, reminders)
    server.stop()


def reminder_messages(room: IncidentRoom, fragment: str = "⏰") -> list[dict[str, Any]]:
    return [m for m in room.emulator.messages(room.channel_id) if fragment in m.get("text", "")]


def wait_messages(room: IncidentRoom, count: int, fragment: str = "⏰") -> list[dict[str, Any]]:
    def enough() -> list[dict[str, Any]]:
        found = reminder_messages(room, fragment)
        return found if len(found) >= count else []

    return wait_for(enough, what=f"{count} messages with {fragment!r}")


def click(room: IncidentRoom, message: dict[str, Any], action_id: str, user: str) -> str:
    return room.reply_to(press(room, message, action_id, user))


def press(room: IncidentRoom, message: dict[str, Any], action_id: str, user: str) -> Delivery:
    delivery = room.slack.click(
        user_id=user,
        channel_id=room.channel_id,
        message_ts=message["ts"],
        action_id=action_id,
        value=f"{room.number}:{_value_step(message)}",
    )
    assert delivery.status == 200, delivery.body
    return delivery


def _value_step(message: dict[str, Any]) -> str:
    for block in message.get("blocks") or []:
        for element in block.get("elements", []):
            return str(element["value"]).split(":")[1]
    raise AssertionError("no buttons")


def test_reminder_snooze_and_mark_done(harness: Harness, emulator: Emulator) -> None:
    room = IncidentRoom.open(harness.bot, emulator)  # payment_failure sev2: respond in 10m
    harness.clock.advance(minutes=9)
    assert harness.scan() == []
    harness.clock.advance(minutes=1)
    assert harness.scan() == [(room.number, Step.RESPOND, 1)]
    [message] = wait_messages(room, 1)
    assert message["text"].startswith(RESPOND_OVERDUE)
    assert "UTC+8)" in message["text"]  # the due time, in the plan's zone
    for user in ("U01ALICE", "U02BOB", "U03CAROL", "U05ERIN"):  # nobody took it yet: the plan's
        assert f"<@{user}>" in message["text"]
    buttons = [e for b in message["blocks"] for e in b.get("elements", [])]
    assert [b["action_id"] for b in buttons] == [
        "reminder_snooze_15",
        "reminder_snooze_60",
        "reminder_done",
    ]
    assert {b["value"] for b in buttons} == {f"{room.number}:respond"}
    assert harness.scan() == []  # nothing twice

    # Someone who is neither in the channel nor in the plan may not snooze it.
    assert "Only OOR-1's responders" in click(room, message, "reminder_snooze_15", "U09MALLORY")
    assert "Snoozed until" in click(room, message, "reminder_snooze_15", "U02BOB")
    room.wait_line("snoozed the reminder for step 1 rapid response")
    harness.clock.advance(minutes=14)
    assert harness.scan() == []  # not before the snooze ends (nor the escalation, pushed too)
    harness.clock.advance(minutes=1)
    assert harness.scan() == [(room.number, Step.RESPOND, 1)]
    again = wait_messages(room, 2)[-1]
    assert "overdue by 15m" in again["text"]

    assert "You have OOR-1" in click(room, again, "reminder_done", "U01ALICE")
    room.wait_board("✅ *1. Rapid response*")
    harness.clock.advance(minutes=10)  # respond's escalation would have been due now
    assert (room.number, Step.RESPOND, 2) not in harness.scan()

    # record needs facts: Mark done opens the record form instead.
    record = next(m for m in wait_messages(room, 3) if "Step 2 record" in m["text"])
    views_before = len(emulator.views)
    press(room, record, "reminder_done", "U01ALICE")
    view = room.latest_view("record_modal", after=views_before)
    assert view["private_metadata"] == str(room.number)


def test_escalation_invites_and_messages_the_escalation_contacts(
    harness: Harness, emulator: Emulator
) -> None:
    room = IncidentRoom.open(harness.bot, emulator)  # escalation: dave@example.com (U04DAVE)
    assert "U04DAVE" not in emulator.members(room.channel_id)
    harness.clock.advance(minutes=20)  # respond: the 10m deadline missed twice
    assert harness.scan() == [(room.number, Step.RESPOND, 1), (room.number, Step.RESPOND, 2)]
    line = wait_messages(room, 1, "🚨 Escalation")[0]
    assert "Step 1 rapid response (快速响应) is overdue by 10m" in line["text"]
    assert "Escalated to <@U04DAVE>" in line["text"]
    wait_for(lambda: "U04DAVE" in emulator.members(room.channel_id), what="Dave invited")

    def dave_dm() -> list[dict[str, Any]]:
        for channel in emulator.snapshot()["channels"]:
            if channel.get("is_im") and channel.get("user") == "U04DAVE":
                return list(channel["messages"])
        return []

    [dm] = wait_for(dave_dm, what="a DM to Dave")
    assert "OOR-1" in dm["text"] and f"<#{room.channel_id}>" in dm["text"]
    assert harness.scan() == []
    with harness.bot.app.db.session() as session:
        kinds = [t.kind for t in session.exec(select(TimelineRow)).all()]
    assert kinds.count("escalation") == 1 and kinds.count("reminder") == 1
    assert [c.args.get("users") for c in emulator.calls_to("conversations.open")] == ["U04DAVE"]
    assert len(dave_dm()) == 1
