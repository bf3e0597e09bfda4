"""The gateway classifies Slack's failures so the outbox can retry durably."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from bot.metrics import Metrics
from bot.sandbox.emulator import Emulator, EmulatorServer
from bot.slack.gateway import (
    SlackCallError,
    SlackGateway,
    SlackPermanent,
    SlackRateLimited,
    SlackTransient,
    build_web_client,
)
from tests.support import BOT_TOKEN


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeMonotonic:
    return FakeMonotonic()


@pytest.fixture
def gateway(emulator_server: EmulatorServer, clock: FakeMonotonic) -> SlackGateway:
    client = build_web_client(BOT_TOKEN, emulator_server.api_url, timeout=1)
    return SlackGateway(client, Metrics(), monotonic=clock)


def test_ok_calls_return_data(gateway: SlackGateway) -> None:
    data = gateway.call("conversations.create", name="oor-1-test")
    assert data["channel"]["name"] == "oor-1-test"
    assert gateway.bot_user_id()


def test_every_web_api_request_is_a_wait_the_outbox_can_lend_its_turn_for(
    emulator_server: EmulatorServer, clock: FakeMonotonic
) -> None:
    events: list[str] = []

    @contextmanager
    def while_waiting() -> Iterator[None]:
        events.append("lent")
        try:
            yield
        finally:
            events.append("back")

    client = build_web_client(BOT_TOKEN, emulator_server.api_url, timeout=1)
    gateway = SlackGateway(client, Metrics(), monotonic=clock, while_waiting=while_waiting)
    gateway.call("conversations.create", name="oor-1-test")
    with pytest.raises(SlackCallError):
        gateway.call("conversations.create", name="oor-1-test")
    assert events == ["lent", "back", "lent", "back"]


def test_api_errors_are_for_the_caller_to_handle(gateway: SlackGateway) -> None:
    gateway.call("conversations.create", name="oor-1-test")
    with pytest.raises(SlackCallError) as raised:
        gateway.call("conversations.create", name="oor-1-test")
    assert raised.value.error == "name_taken"


def test_429_honours_retry_after_and_cools_the_method_down(
    gateway: SlackGateway, emulator: Emulator, clock: FakeMonotonic
) -> None:
    emulator.faults.add(method="conversations.create", status=429, retry_after=7, times=1)
    with pytest.raises(SlackRateLimited) as raised:
        gateway.call("conversations.create", name="oor-2-test")
    assert raised.value.retry_after == 7
    # A method's limit holds for every job making the call: the outbox pauses the kind.
    assert raised.value.shared
    calls_before = len(emulator.calls_to("conversations.create"))
    # During the cool-down the gateway does not even ask Slack.
    with pytest.raises(SlackRateLimited):
        gateway.call("conversations.create", name="oor-2-test")
    assert len(emulator.calls_to("conversations.create")) == calls_before
    clock.now += 8
    assert gateway.call("conversations.create", name="oor-2-test")["ok"]


def test_brief_5xx_is_retried_in_place(gateway: SlackGateway, emulator: Emulator) -> None:
    emulator.faults.add(method="conversations.create", status=503, times=1)
    assert gateway.call("conversations.create", name="oor-3-test")["ok"]
    assert len(emulator.calls_to("conversations.create")) == 2


def test_lasting_5xx_is_transient(gateway: SlackGateway, emulator: Emulator) -> None:
    emulator.faults.add(method="conversations.create", status=500, times=None)
    with pytest.raises(SlackTransient):
        gateway.call("conversations.create", name="oor-4-test")
    assert emulator.channel_by_name("oor-4-test") is None


def test_auth_and_scope_errors_are_permanent(gateway: SlackGateway, emulator: Emulator) -> None:
    emulator.faults.add(method="conversations.invite", error="missing_scope", times=1)
    with pytest.raises(SlackPermanent) as raised:
        gateway.call("conversations.invite", channel="C1", users=["U02BOB"])
    assert raised.value.method == "conversations.invite"


def test_timeouts_are_transient(gateway: SlackGateway, emulator: Emulator) -> None:
    emulator.faults.add(method="auth.test", latency=2.5, times=None)
    with pytest.raises(SlackTransient):
        gateway.call("auth.test")


def test_a_429_in_one_channel_does_not_hold_up_posting_in_another(
    gateway: SlackGateway, emulator: Emulator, clock: FakeMonotonic
) -> None:
    # Slack limits chat.postMessage per channel (tests/fixtures/slack_methods/NOTES.md,
    # "Rate limits"): one incident's storm must not stop another incident's channel.
    one = gateway.call("conversations.create", name="oor-1-storm")["channel"]["id"]
    two = gateway.call("conversations.create", name="oor-2-quiet")["channel"]["id"]
    with pytest.raises(SlackRateLimited):
        for i in range(10):  # the emulator's burst is a few messages
            gateway.call("chat.postMessage", channel=one, text=f"storm {i}")
    asked = len(emulator.calls_to("chat.postMessage"))
    with pytest.raises(SlackRateLimited) as raised:  # cooling down: Slack is not even asked
        gateway.call("chat.postMessage", channel=one, text="storm again")
    assert not raised.value.shared  # one channel's limit: other jobs of the kind go on
    assert len(emulator.calls_to("chat.postMessage")) == asked
    assert gateway.call("chat.postMessage", channel=two, text="board")["ok"]
    assert emulator.messages(two)[-1]["text"] == "board"


def test_chat_update_cools_down_per_channel_and_other_methods_per_method(
    gateway: SlackGateway, emulator: Emulator, clock: FakeMonotonic
) -> None:
    one = gateway.call("conversations.create", name="oor-1-a")["channel"]["id"]
    two = gateway.call("conversations.create", name="oor-2-b")["channel"]["id"]
    ts_one = gateway.call("chat.postMessage", channel=one, text="board 1")["ts"]
    ts_two = gateway.call("chat.postMessage", channel=two, text="board 2")["ts"]
    emulator.faults.add(method="chat.update", status=429, retry_after=30, times=1)
    with pytest.raises(SlackRateLimited):
        gateway.call("chat.update", channel=one, ts=ts_one, text="v2")
    assert gateway.call("chat.update", channel=two, ts=ts_two, text="v2")["ok"]
    with pytest.raises(SlackRateLimited) as raised:
        gateway.call("chat.update", channel=one, ts=ts_one, text="v2")
    assert 29 < raised.value.retry_after <= 30
    clock.now += 31
    assert gateway.call("chat.update", channel=one, ts=ts_one, text="v2")["ok"]

    emulator.faults.add(method="conversations.setTopic", status=429, retry_after=5, times=1)
    with pytest.raises(SlackRateLimited):
        gateway.call("conversations.setTopic", channel=one, topic="t")
    with pytest.raises(SlackRateLimited):  # not posting: the cool-down is the method's
        gateway.call("conversations.setTopic", channel=two, topic="t")
