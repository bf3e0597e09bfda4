"""Fault injection and rate limits, observed through slack_sdk like the bot would."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.sandbox.emulator import SLACK_RATE_LIMITS, Emulator, EmulatorServer


class FakeClock:
    """Manually advanced clock, so rate-limit windows are tested without sleeping."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(Emulator()) as srv:
        yield srv


@pytest.fixture
def emu(server: EmulatorServer) -> Emulator:
    server.emu.reset()
    server.emu.add_user("U01ALICE", "alice", "alice@example.com")
    return server.emu


@pytest.fixture
def client(server: EmulatorServer, emu: Emulator) -> WebClient:
    return WebClient(token="xoxb-test", base_url=server.api_url)


def test_429_fault_has_retry_after_and_changes_nothing(client: WebClient, emu: Emulator) -> None:
    emu.faults.add(method="conversations.create", status=429, retry_after=7, times=1)
    with pytest.raises(SlackApiError) as info:
        client.conversations_create(name="inc-1")
    response = info.value.response
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response["error"] == "ratelimited"
    assert emu.channel_by_name("inc-1") is None
    assert client.conversations_create(name="inc-1")["ok"]  # the fault was used up
    calls = emu.calls_to("conversations.create")
    assert [(c.http_status, c.ok, c.error) for c in calls] == [
        (429, False, "ratelimited"),
        (200, True, None),
    ]


def test_5xx_and_error_faults(client: WebClient, emu: Emulator) -> None:
    cid = client.conversations_create(name="inc-1")["channel"]["id"]
    emu.faults.add(method="chat.postMessage", status=503, times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as info:
            client.chat_postMessage(channel=cid, text="x")
        assert info.value.response.status_code == 503
    assert client.chat_postMessage(channel=cid, text="x")["ok"]
    assert len(emu.messages(cid)) == 1

    emu.faults.add(method="conversations.invite", error="missing_scope", times=1)
    with pytest.raises(SlackApiError) as info:
        client.conversations_invite(channel=cid, users="U01ALICE")
    assert info.value.response.status_code == 200
    assert info.value.response["error"] == "missing_scope"
    assert emu.members(cid) == {"UBOT"}


def test_wildcard_fault_until_cleared(client: WebClient, emu: Emulator) -> None:
    emu.faults.add(method="*", error="fatal_error")
    for _ in range(3):
        with pytest.raises(SlackApiError):
            client.auth_test()
    assert len(emu.faults.active()) == 1
    emu.faults.clear()
    assert client.auth_test()["ok"]


def test_latency_fault_delays_the_call(client: WebClient, emu: Emulator) -> None:
    emu.faults.add(method="auth.test", latency=0.3, times=1)
    started = time.monotonic()
    assert client.auth_test()["ok"]
    assert time.monotonic() - started >= 0.25
    started = time.monotonic()
    client.auth_test()
    assert time.monotonic() - started < 0.25  # loose: the fault only applied once


def test_fault_validation(emu: Emulator) -> None:
    with pytest.raises(ValueError):
        emu.faults.add(method="auth.test")
    with pytest.raises(ValueError):
        emu.faults.add(method="auth.test", status=200)


def test_sliding_window_rate_limit_with_injected_clock() -> None:
    clock = FakeClock()
    emu = Emulator(clock=clock)
    emu.set_rate_limit("conversations.create", calls=3, per_seconds=60)
    with EmulatorServer(emu) as srv:
        client = WebClient(token="xoxb-test", base_url=srv.api_url)
        for i in range(3):
            client.conversations_create(name=f"inc-{i}")
            clock.now += 10  # calls at t=0, 10, 20
        with pytest.raises(SlackApiError) as info:
            client.conversations_create(name="inc-3")  # t=30: window still holds 3 calls
        assert info.value.response.status_code == 429
        assert info.value.response.headers["Retry-After"] == "30"
        assert info.value.response.data == {"ok": False, "error": "ratelimited"}
        assert emu.channel_by_name("inc-3") is None
        clock.now += 30.5  # t=60.5: the call at t=0 left the window
        assert client.conversations_create(name="inc-3")["ok"]
        clock.now += 9.3  # t=69.8: the call at t=10 leaves the window in 0.2 s
        with pytest.raises(SlackApiError) as info:
            client.conversations_create(name="inc-4")
        assert info.value.response.headers["Retry-After"] == "1"  # rounded up, never 0
        assert client.auth_test()["ok"]  # other methods are not limited


# -- Slack's own limits, on by default --------------------------------------------------------
# Sources: tests/fixtures/slack_methods/NOTES.md, "Rate limits" (chat.postMessage "~1
# message/second/channel, short bursts allowed"; tiers "per method per workspace per app:
# ... T3 50+/min"; "429 + Retry-After seconds"), and methods/<method>.json `rate_limits`.
SLACK_METHODS = Path(__file__).resolve().parents[2] / "fixtures" / "slack_methods" / "methods"
TIER_PER_MINUTE = {"t1": 1, "t2": 20, "t3": 50, "t4": 100}  # NOTES.md, "Rate limits"


def _tier(method: str) -> str:
    return str(json.loads((SLACK_METHODS / f"{method}.json").read_text())["rate_limits"])


def test_post_message_is_limited_per_channel_with_a_short_burst() -> None:
    assert _tier("chat.postMessage") == "t5"  # "Special": per channel, not a tier
    clock = FakeClock()
    emu = Emulator(clock=clock)
    with EmulatorServer(emu) as srv:
        client = WebClient(token="xoxb-test", base_url=srv.api_url)
        one = client.conversations_create(name="inc-1")["channel"]["id"]
        two = client.conversations_create(name="inc-2")["channel"]["id"]
        burst = SLACK_RATE_LIMITS.per_channel["chat.postMessage"].burst
        assert 1 < burst <= 5  # "short bursts allowed"
        for i in range(burst):
            client.chat_postMessage(channel=one, text=f"burst {i}")
        with pytest.raises(SlackApiError) as info:
            client.chat_postMessage(channel=one, text="one too many")
        assert info.value.response.status_code == 429
        assert info.value.response.headers["Retry-After"] == "1"
        assert [m["text"] for m in emu.messages(one)][-1] == f"burst {burst - 1}"
        # Another channel has its own allowance.
        assert client.chat_postMessage(channel=two, text="elsewhere")["ok"]
        clock.now += 1.0  # one message a second
        assert client.chat_postMessage(channel=one, text="a second later")["ok"]
        with pytest.raises(SlackApiError):
            client.chat_postMessage(channel=one, text="too soon")
        clock.now += 0.4
        with pytest.raises(SlackApiError):
            client.chat_postMessage(channel=one, text="still too soon")
        clock.now += 60  # the burst is saved up again, but no more than the burst
        for i in range(burst):
            client.chat_postMessage(channel=one, text=f"again {i}")
        with pytest.raises(SlackApiError):
            client.chat_postMessage(channel=one, text="one too many again")


def test_chat_update_has_its_tier_per_workspace() -> None:
    per_minute = TIER_PER_MINUTE[_tier("chat.update")]  # t3: 50+ per minute
    clock = FakeClock()
    emu = Emulator(clock=clock)
    with EmulatorServer(emu) as srv:
        client = WebClient(token="xoxb-test", base_url=srv.api_url)
        channels = [client.conversations_create(name=f"inc-{i}")["channel"]["id"] for i in (1, 2)]
        posted = []
        for cid in channels:
            posted.append((cid, client.chat_postMessage(channel=cid, text="board")["ts"]))
        for i in range(per_minute):  # spread over both channels: the limit is the workspace's
            cid, ts = posted[i % 2]
            client.chat_update(channel=cid, ts=ts, text=f"v{i}")
            clock.now += 0.5
        with pytest.raises(SlackApiError) as info:
            client.chat_update(channel=posted[0][0], ts=posted[0][1], text="too many")
        assert info.value.response.status_code == 429
        assert int(info.value.response.headers["Retry-After"]) >= 1
        clock.now += 60
        assert client.chat_update(channel=posted[0][0], ts=posted[0][1], text="later")["ok"]


def test_slacks_limits_can_be_turned_off_for_tests_of_method_semantics() -> None:
    emu = Emulator(slack_rate_limits=False)
    with EmulatorServer(emu) as srv:
        client = WebClient(token="xoxb-test", base_url=srv.api_url)
        cid = client.conversations_create(name="inc-1")["channel"]["id"]
        for i in range(20):
            client.chat_postMessage(channel=cid, text=f"m{i}")
    assert len(emu.messages(cid)) == 20
    assert emu.snapshot()["rate_limits"] == {}
