"""chat.*, pins.* and bookmarks.* through slack_sdk over real HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.sandbox.emulator import Emulator, EmulatorServer

ALICE, BOB = "U01ALICE", "U02BOB"


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    # Method semantics, not rates: these tests post faster than Slack's one message a
    # second per channel, which test_faults.py tests on its own.
    with EmulatorServer(Emulator(slack_rate_limits=False)) as srv:
        yield srv


@pytest.fixture
def emu(server: EmulatorServer) -> Emulator:
    emu = server.emu
    emu.reset()
    emu.add_user(ALICE, "alice", "alice@example.com", "Alice")
    emu.add_user(BOB, "bob", "bob@example.com", "Bob")
    return emu


@pytest.fixture
def client(server: EmulatorServer, emu: Emulator) -> WebClient:
    return WebClient(token="xoxb-test", base_url=server.api_url)


@pytest.fixture
def cid(client: WebClient) -> str:
    channel_id = client.conversations_create(name="inc-1")["channel"]["id"]
    client.conversations_invite(channel=channel_id, users=ALICE)
    return str(channel_id)


def error_of(call: Callable[[], Any]) -> str:
    with pytest.raises(SlackApiError) as info:
        call()
    return str(info.value.response["error"])


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def test_post_message_by_id_name_and_hash(client: WebClient, emu: Emulator, cid: str) -> None:
    blocks = [section("*INC-1* opened")]
    posted = client.chat_postMessage(channel=cid, text="a", blocks=blocks)
    assert posted["channel"] == cid and posted["message"]["blocks"] == blocks
    assert client.chat_postMessage(channel="#inc-1", text="b")["channel"] == cid
    assert client.chat_postMessage(channel="inc-1", text="c")["channel"] == cid
    stored = emu.messages(cid)
    assert [m["text"] for m in stored] == ["a", "b", "c"]
    assert stored[0]["user"] == "UBOT" and stored[0]["bot_id"] == "BBOT"
    assert stored[0]["ts"] == posted["ts"]
    assert float(stored[0]["ts"]) < float(stored[1]["ts"]) < float(stored[2]["ts"])


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_post_message_errors(client: WebClient, emu: Emulator, cid: str) -> None:
    foreign = emu.add_channel("general", members=[ALICE])["id"]
    assert error_of(lambda: client.chat_postMessage(channel=foreign, text="x")) == (
        "not_in_channel"
    )
    assert error_of(lambda: client.chat_postMessage(channel="#nope", text="x")) == (
        "channel_not_found"
    )
    assert error_of(lambda: client.chat_postMessage(channel=cid, text="")) == "no_text"
    assert error_of(lambda: client.chat_postMessage(channel=cid, text="x" * 40_001)) == (
        "msg_too_long"
    )
    bad_blocks: list[Any] = [
        [{"text": "no type"}],
        [section("x")] * 51,
        [section("x" * 3001)],
    ]
    for blocks in bad_blocks:
        post = lambda b=blocks: client.chat_postMessage(channel=cid, text="t", blocks=b)  # noqa: E731
        assert error_of(post) == "invalid_blocks"
    # Form-encoded blocks that are not a list of objects are rejected the same way.
    form = {"channel": cid, "text": "t", "blocks": '{"a": 1}'}
    assert error_of(lambda: client.api_call("chat.postMessage", data=form)) == "invalid_blocks"
    assert client.chat_postMessage(channel=cid, text="t", blocks=[section("x" * 3000)])["ok"]
    assert len(emu.messages(cid)) == 1


def test_threads_and_update_history(client: WebClient, emu: Emulator, cid: str) -> None:
    parent = client.chat_postMessage(channel=cid, text="status: investigating")["ts"]
    client.chat_postMessage(channel=cid, text="detail", thread_ts=parent)
    updated = client.chat_update(channel=cid, ts=parent, text="status: mitigated")
    assert updated["text"] == "status: mitigated"
    client.chat_update(channel=cid, ts=parent, text="status: resolved", blocks=[section("ok")])
    message = emu.messages(cid)[0]
    assert message["text"] == "status: resolved" and message["edit_count"] == 2
    assert [h["text"] for h in message["edit_history"]] == [
        "status: investigating",
        "status: mitigated",
    ]
    assert message["reply_count"] == 1 and emu.messages(cid)[1]["thread_ts"] == parent
    assert error_of(lambda: client.chat_update(channel=cid, ts="1.000001", text="x")) == (
        "message_not_found"
    )
    human = emu.post_as_user(cid, ALICE, "I am on it")
    assert error_of(lambda: client.chat_update(channel=cid, ts=human["ts"], text="x")) == (
        "cant_update_message"
    )


def test_post_ephemeral(client: WebClient, emu: Emulator, cid: str) -> None:
    result = client.chat_postEphemeral(channel=cid, user=ALICE, text="only you")
    assert result["message_ts"]
    assert error_of(lambda: client.chat_postEphemeral(channel=cid, user=BOB, text="x")) == (
        "user_not_in_channel"
    )
    ephemerals = emu.ephemerals(cid)
    assert [(e["user"], e["text"]) for e in ephemerals] == [(ALICE, "only you")]
    assert emu.messages(cid) == []


def test_permalink_and_pins(client: WebClient, emu: Emulator, cid: str) -> None:
    ts = client.chat_postMessage(channel=cid, text="summary")["ts"]
    link = client.chat_getPermalink(channel=cid, message_ts=ts)["permalink"]
    assert link == f"https://oor-sandbox.slack.com/archives/{cid}/p{ts.replace('.', '')}"
    client.pins_add(channel=cid, timestamp=ts)
    assert error_of(lambda: client.pins_add(channel=cid, timestamp=ts)) == "already_pinned"
    assert error_of(lambda: client.pins_add(channel=cid, timestamp="1.000001")) == (
        "message_not_found"
    )
    assert emu.pins(cid) == [ts]
    items = client.pins_list(channel=cid)["items"]
    assert items[0]["message"]["text"] == "summary" and items[0]["type"] == "message"


def test_bookmarks(client: WebClient, emu: Emulator, cid: str) -> None:
    added = client.bookmarks_add(
        channel_id=cid, title="Runbook", type="link", link="https://wiki/runbook", emoji=":book:"
    )["bookmark"]
    assert added["id"].startswith("Bk") and added["channel_id"] == cid
    assert client.bookmarks_list(channel_id=cid)["bookmarks"][0]["title"] == "Runbook"
    assert emu.bookmarks(cid)[0]["link"] == "https://wiki/runbook"
    assert error_of(
        lambda: client.bookmarks_add(channel_id=cid, title="x", type="link", link="wiki")
    ) == ("invalid_link")
    assert error_of(
        lambda: client.bookmarks_add(channel_id="C404", title="x", type="link", link="https://a")
    ) == ("channel_not_found")
