"""conversations.* against a real HTTP emulator through the official slack_sdk client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.sandbox.emulator import Emulator, EmulatorServer

ALICE, BOB, CAROL = "U01ALICE", "U02BOB", "U03CAROL"


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
    emu.add_user(CAROL, "carol", "carol@example.com", "Carol")
    return emu


@pytest.fixture
def client(server: EmulatorServer, emu: Emulator) -> WebClient:
    return WebClient(token="xoxb-test", base_url=server.api_url)


def error_of(call: object) -> str:
    """Run a zero-arg client call expected to fail and return Slack's error code."""
    with pytest.raises(SlackApiError) as info:
        call()  # type: ignore[operator]
    return str(info.value.response["error"])


def test_create_channel_stores_slack_shaped_state(client: WebClient, emu: Emulator) -> None:
    first = client.conversations_create(name="inc-2024-001")["channel"]
    second = client.conversations_create(name="inc_2", is_private=True)["channel"]
    assert first["id"] == "C0000000001" and second["id"] == "C0000000002"
    assert first["creator"] == "UBOT" and first["is_member"] is True
    assert isinstance(first["created"], int)
    assert first["topic"] == {"value": "", "creator": "", "last_set": 0}
    assert second["is_private"] is True and second["is_channel"] is False
    assert emu.members(first["id"]) == {"UBOT"}
    assert emu.channel_by_name("inc_2")["id"] == second["id"]  # type: ignore[index]


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("", "invalid_name_required"),
        ("x" * 81, "invalid_name_maxlength"),
        ("Incident", "invalid_name_specials"),
        ("inc 1", "invalid_name_specials"),
        ("inc.1", "invalid_name_specials"),
    ],
)
def test_create_rejects_bad_names(client: WebClient, name: str, code: str) -> None:
    assert error_of(lambda: client.conversations_create(name=name)) == code


def test_name_taken_includes_archived_channels(client: WebClient) -> None:
    channel = client.conversations_create(name="x" * 80)["channel"]
    assert error_of(lambda: client.conversations_create(name="x" * 80)) == "name_taken"
    client.conversations_archive(channel=channel["id"])
    assert error_of(lambda: client.conversations_create(name="x" * 80)) == "name_taken"


def test_invite_rules(client: WebClient, emu: Emulator) -> None:
    foreign = emu.add_channel("general", members=[ALICE])["id"]
    assert error_of(lambda: client.conversations_invite(channel=foreign, users=BOB)) == (
        "not_in_channel"
    )
    assert error_of(lambda: client.conversations_invite(channel="C999", users=BOB)) == (
        "channel_not_found"
    )
    cid = client.conversations_create(name="inc-1")["channel"]["id"]
    assert error_of(lambda: client.conversations_invite(channel=cid, users="U404")) == (
        "user_not_found"
    )
    assert error_of(lambda: client.conversations_invite(channel=cid, users="UBOT")) == (
        "cant_invite_self"
    )
    assert client.conversations_invite(channel=cid, users=[ALICE, BOB])["ok"]
    assert emu.members(cid) == {"UBOT", ALICE, BOB}
    assert error_of(lambda: client.conversations_invite(channel=cid, users=ALICE)) == (
        "already_in_channel"
    )


def test_invite_with_one_bad_user_invites_nobody(client: WebClient, emu: Emulator) -> None:
    cid = client.conversations_create(name="inc-1")["channel"]["id"]
    with pytest.raises(SlackApiError) as info:
        client.conversations_invite(channel=cid, users=[ALICE, "U404", "UBOT"])
    assert info.value.response["error"] == "user_not_found"
    assert info.value.response["errors"] == [
        {"user": "U404", "ok": False, "error": "user_not_found"},
        {"user": "UBOT", "ok": False, "error": "cant_invite_self"},
    ]
    assert emu.members(cid) == {"UBOT"}
    forced = client.conversations_invite(channel=cid, users=[ALICE, "U404"], force=True)
    assert forced["errors"][0]["user"] == "U404"
    assert emu.members(cid) == {"UBOT", ALICE}


def test_topic_and_purpose(client: WebClient, emu: Emulator) -> None:
    cid = client.conversations_create(name="inc-1")["channel"]["id"]
    topic = "t" * 250
    assert client.conversations_setTopic(channel=cid, topic=topic)["channel"]["topic"]["value"]
    assert error_of(lambda: client.conversations_setTopic(channel=cid, topic="t" * 251)) == (
        "too_long"
    )
    client.conversations_setPurpose(channel=cid, purpose="Payments outage")
    channel = emu.channel(cid)
    assert channel["topic"]["value"] == topic and channel["topic"]["creator"] == "UBOT"
    assert channel["purpose"]["value"] == "Payments outage"
    foreign = emu.add_channel("general", members=[ALICE])["id"]
    assert error_of(lambda: client.conversations_setTopic(channel=foreign, topic="x")) == (
        "not_in_channel"
    )


def test_list_info_members_join_archive(client: WebClient, emu: Emulator) -> None:
    general = emu.add_channel("general", members=[ALICE, BOB], is_general=True)["id"]
    secret = emu.add_channel("secret", members=[ALICE], is_private=True)["id"]
    own = [client.conversations_create(name=f"inc-{i}")["channel"]["id"] for i in range(3)]
    client.conversations_archive(channel=own[0])

    names: list[str] = []
    cursor = None
    while True:
        page = client.conversations_list(limit=2, cursor=cursor, exclude_archived=True)
        names += [c["name"] for c in page["channels"]]
        cursor = page["response_metadata"]["next_cursor"]
        if not cursor:
            break
    assert names == ["general", "inc-1", "inc-2"]  # private channel without the bot is hidden
    all_types = client.conversations_list(types="public_channel,private_channel")
    assert len(all_types["channels"]) == 4

    assert error_of(lambda: client.conversations_info(channel=secret)) == "channel_not_found"
    info = client.conversations_info(channel=general, include_num_members=True)["channel"]
    assert info["is_member"] is False and info["num_members"] == 2
    client.conversations_join(channel=general)
    assert client.conversations_join(channel=general)["warning"] == "already_in_channel"
    members = client.conversations_members(channel=general, limit=2)
    assert members["members"] == [ALICE, BOB] and members["response_metadata"]["next_cursor"]
    rest = client.conversations_members(
        channel=general, cursor=members["response_metadata"]["next_cursor"]
    )
    assert rest["members"] == ["UBOT"]
    assert error_of(lambda: client.conversations_archive(channel=general)) == (
        "cant_archive_general"
    )
    assert error_of(lambda: client.conversations_archive(channel=own[0])) == "already_archived"
    assert error_of(lambda: client.conversations_join(channel=own[0])) == "is_archived"
    assert error_of(lambda: client.conversations_members(channel=general, cursor="bad")) == (
        "invalid_cursor"
    )


def test_history_newest_first_with_pagination_and_bounds(client: WebClient) -> None:
    cid = client.conversations_create(name="inc-1")["channel"]["id"]
    ts = [client.chat_postMessage(channel=cid, text=f"m{i}")["ts"] for i in range(5)]
    assert ts == sorted(ts) and len(set(ts)) == 5
    client.chat_postMessage(channel=cid, text="reply", thread_ts=ts[0])

    first = client.conversations_history(channel=cid, limit=3)
    assert [m["text"] for m in first["messages"]] == ["m4", "m3", "m2"]
    assert first["has_more"] is True
    second = client.conversations_history(
        channel=cid, limit=3, cursor=first["response_metadata"]["next_cursor"]
    )
    assert [m["text"] for m in second["messages"]] == ["m1", "m0"]
    assert second["has_more"] is False and second["messages"][1]["reply_count"] == 1

    window = client.conversations_history(channel=cid, oldest=ts[1], latest=ts[3])
    assert [m["text"] for m in window["messages"]] == ["m2"]
    inclusive = client.conversations_history(
        channel=cid, oldest=ts[1], latest=ts[3], inclusive=True
    )
    assert [m["text"] for m in inclusive["messages"]] == ["m3", "m2", "m1"]
    assert error_of(lambda: client.conversations_history(channel=cid, oldest="soon")) == (
        "invalid_ts_oldest"
    )


def test_history_metadata_only_on_request(client: WebClient) -> None:
    cid = client.conversations_create(name="inc-1")["channel"]["id"]
    metadata = {"event_type": "incident_opened", "event_payload": {"incident": "INC-1"}}
    client.chat_postMessage(channel=cid, text="opened", metadata=metadata)
    plain = client.conversations_history(channel=cid)["messages"][0]
    assert "metadata" not in plain
    full = client.conversations_history(channel=cid, include_all_metadata=True)["messages"][0]
    assert full["metadata"] == metadata
