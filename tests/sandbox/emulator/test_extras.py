"""views.*, files upload v2, response_url, control endpoints, mounting and reset."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.sandbox.emulator import Emulator, EmulatorServer

ALICE = "U01ALICE"
MODAL: dict[str, Any] = {
    "type": "modal",
    "callback_id": "declare_incident",
    "title": {"type": "plain_text", "text": "Declare incident"},
    "blocks": [{"type": "input", "label": {"type": "plain_text", "text": "Summary"}}],
}


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(Emulator()) as srv:
        yield srv


@pytest.fixture
def emu(server: EmulatorServer) -> Emulator:
    server.emu.reset()
    server.emu.add_user(ALICE, "alice", "alice@example.com")
    return server.emu


@pytest.fixture
def client(server: EmulatorServer, emu: Emulator) -> WebClient:
    return WebClient(token="xoxb-test", base_url=server.api_url)


def test_views_open_update_push(client: WebClient, emu: Emulator) -> None:
    for trigger in ("", "not-a-trigger"):
        with pytest.raises(SlackApiError) as info:
            client.views_open(trigger_id=trigger, view=MODAL)
        assert info.value.response["error"] == "invalid_trigger_id"
    opened = client.views_open(trigger_id=emu.new_trigger_id(), view=MODAL)["view"]
    assert opened["id"].startswith("V") and opened["callback_id"] == "declare_incident"
    updated = client.views_update(view_id=opened["id"], view={**MODAL, "callback_id": "step2"})
    assert updated["view"]["callback_id"] == "step2" and updated["view"]["hash"] != opened["hash"]
    with pytest.raises(SlackApiError) as info:
        client.views_update(view_id=opened["id"], hash="stale", view=MODAL)
    assert info.value.response["error"] == "hash_conflict"
    pushed = client.views_push(trigger_id=emu.new_trigger_id(), view=MODAL)["view"]
    assert pushed["root_view_id"] == opened["id"] and pushed["previous_view_id"] == opened["id"]
    with pytest.raises(SlackApiError) as info:
        client.views_open(trigger_id=emu.new_trigger_id(), view={"type": "modal"})
    assert info.value.response["error"] == "invalid_arguments"
    assert [v["opened_via"] for v in emu.views] == ["views.open", "views.push"]


def test_files_upload_v2_end_to_end(client: WebClient, emu: Emulator) -> None:
    cid = client.conversations_create(name="inc-1")["channel"]["id"]
    result = client.files_upload_v2(
        channel=cid,
        content="timeline\n10:00 alert",
        filename="timeline.txt",
        title="Timeline",
        initial_comment="Incident timeline",
    )
    file_id = result["file"]["id"]
    assert result["file"]["title"] == "Timeline"
    record, data = emu.file(file_id)
    assert data == b"timeline\n10:00 alert" and record["channels"] == [cid]
    message = emu.messages(cid)[-1]
    assert message["text"] == "Incident timeline" and message["files"][0]["id"] == file_id
    with pytest.raises(SlackApiError) as info:  # an upload can only be completed once
        client.files_completeUploadExternal(files=[{"id": file_id}], channel_id=cid)
    assert info.value.response["error"] == "file_not_found"


def test_multipart_upload(server: EmulatorServer, client: WebClient, emu: Emulator) -> None:
    url = client.files_getUploadURLExternal(filename="a.csv", length=3)
    response = httpx.post(url["upload_url"], files={"file": ("a.csv", b"a,b")})
    assert response.status_code == 200
    assert emu.file(url["file_id"])[1] == b"a,b"
    assert httpx.post(f"{server.base_url}_emulator/upload/F404", content=b"x").status_code == 404


def test_response_url(client: WebClient, emu: Emulator) -> None:
    cid = client.conversations_create(name="inc-1")["channel"]["id"]
    url = emu.new_response_url(cid, ALICE)
    assert httpx.post(url, json={"text": "Working on it"}).text == "ok"
    assert httpx.post(url, json={"text": "Declared", "response_type": "in_channel"}).text == "ok"
    token = url.rsplit("/", 1)[1]
    assert [r["response_type"] for r in emu.responses(token)] == ["ephemeral", "in_channel"]
    assert emu.ephemerals(cid)[0]["text"] == "Working on it"
    assert emu.messages(cid)[0]["text"] == "Declared"
    assert len(emu.response_log) == 2
    assert httpx.post(url.replace(token, "nope"), json={"text": "x"}).status_code == 404


def test_control_endpoints(server: EmulatorServer, emu: Emulator) -> None:
    base = f"{server.base_url}_emulator"
    user = {"user_id": "U02BOB", "name": "bob", "email": "bob@example.com"}
    assert httpx.post(f"{base}/users", json=user).json()["user"]["id"] == "U02BOB"
    assert httpx.post(f"{base}/users", json=user).status_code == 400  # duplicate id
    group = {"handle": "oncall", "user_ids": ["U02BOB"]}
    assert httpx.post(f"{base}/usergroups", json=group).json()["usergroup"]["users"] == ["U02BOB"]
    fault = {"method": "auth.test", "status": 503, "times": 1}
    assert httpx.post(f"{base}/faults", json=fault).json()["fault"]["status"] == 503
    client = WebClient(token="xoxb-test", base_url=server.api_url)
    with pytest.raises(SlackApiError):
        client.auth_test()
    httpx.post(f"{base}/faults", json={"method": "*", "error": "fatal_error"})
    assert httpx.delete(f"{base}/faults").json() == {"ok": True}
    limit = {"method": "auth.test", "calls": 1, "per_seconds": 60}
    assert httpx.post(f"{base}/rate_limits", json=limit).json()["ok"]
    client.auth_test()
    with pytest.raises(SlackApiError):
        client.auth_test()
    calls = httpx.get(f"{base}/calls", params={"method": "auth.test"}).json()
    assert [c["http_status"] for c in calls] == [503, 200, 429]
    state = httpx.get(f"{base}/state").json()
    assert {u["id"] for u in state["users"]} == {"UBOT", ALICE, "U02BOB"}
    assert state["rate_limits"] == {
        "auth.test": {"calls": 1, "per_seconds": 60.0},
        # Slack's own, on from the start (see test_faults.py).
        "chat.update": {"calls": 50, "per_seconds": 60.0},
        "apps.connections.open": {"calls": 50, "per_seconds": 60.0},
        "chat.postMessage per channel": {"per_second": 1.0, "burst": 3},
    }
    per_channel = {"method": "chat.postMessage", "per_channel": True, "per_second": 2, "burst": 1}
    limits = httpx.post(f"{base}/rate_limits", json=per_channel).json()["rate_limits"]
    assert limits["chat.postMessage per channel"] == {"per_second": 2.0, "burst": 1}
    assert httpx.delete(f"{base}/rate_limits").json() == {"ok": True, "rate_limits": {}}
    client.auth_test()  # no limits at all now
    assert httpx.post(f"{base}/reset").json() == {"ok": True}
    assert [u["id"] for u in httpx.get(f"{base}/state").json()["users"]] == ["UBOT"]
    assert emu.calls == []


def test_snapshot_is_json_and_reset_keeps_only_the_bot(client: WebClient, emu: Emulator) -> None:
    cid = client.conversations_create(name="inc-1")["channel"]["id"]
    client.chat_postMessage(channel=cid, text="hello")
    client.files_upload_v2(channel=cid, content=b"\x00\x01", filename="bin.dat")
    snapshot = json.loads(json.dumps(emu.snapshot()))
    assert snapshot["channels"][0]["messages"][0]["text"] == "hello"
    assert snapshot["files"][0]["uploaded_bytes"] == 2
    emu.reset()
    assert emu.channel_by_name("inc-1") is None and emu.calls == []
    assert client.conversations_create(name="inc-1")["channel"]["id"] == "C0000000001"


def test_mounted_under_a_prefix() -> None:
    emu = Emulator()
    with EmulatorServer(emu, mount_path="/sandbox/slack") as srv:
        assert srv.api_url.endswith("/sandbox/slack/api/")
        client = WebClient(token="xoxb-test", base_url=srv.api_url)
        cid = client.conversations_create(name="inc-1")["channel"]["id"]
        client.files_upload_v2(channel=cid, content="x", filename="x.txt")
        assert emu.base_url == srv.base_url
        state = httpx.get(f"{srv.base_url}_emulator/state").json()
        assert state["files"][0]["uploaded_bytes"] == 1


def test_base_url_learned_from_first_request_when_unset() -> None:
    emu = Emulator()
    with EmulatorServer(emu) as srv:
        emu.base_url = ""
        httpx.post(f"{srv.api_url}auth.test")
        assert emu.base_url == srv.base_url
