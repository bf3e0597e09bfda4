"""auth.test, users.*, usergroups.* and the request/auth conventions of the Web API."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.sandbox.emulator import Emulator, EmulatorServer


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(Emulator()) as srv:
        yield srv


@pytest.fixture
def emu(server: EmulatorServer) -> Emulator:
    emu = server.emu
    emu.reset()
    for i in range(5):
        emu.add_user(f"U0{i}", f"user{i}", f"user{i}@example.com", f"User {i}")
    return emu


@pytest.fixture
def client(server: EmulatorServer, emu: Emulator) -> WebClient:
    return WebClient(token="xoxb-test", base_url=server.api_url)


def test_auth_test(client: WebClient) -> None:
    data = client.auth_test().data
    assert isinstance(data, dict)
    assert data["ok"] is True
    assert data["user_id"] == "UBOT" and data["bot_id"] == "BBOT" and data["team_id"] == "T0OOR"
    assert data["url"] == "https://oor-sandbox.slack.com/" and data["user"] == "oor-bot"


def test_users_info_list_and_lookup(client: WebClient) -> None:
    assert client.users_info(user="U01")["user"]["profile"]["email"] == "user1@example.com"
    with pytest.raises(SlackApiError) as info:
        client.users_info(user="U404")
    assert info.value.response["error"] == "user_not_found"

    ids: list[str] = []
    cursor = None
    while True:
        page = client.users_list(limit=2, cursor=cursor)
        ids += [m["id"] for m in page["members"]]
        cursor = page["response_metadata"]["next_cursor"]
        if not cursor:
            break
    assert ids == ["UBOT", "U00", "U01", "U02", "U03", "U04"]
    assert len(client.users_list()["members"]) == 6

    assert client.users_lookupByEmail(email="USER3@example.com")["user"]["id"] == "U03"
    with pytest.raises(SlackApiError) as info:
        client.users_lookupByEmail(email="ghost@example.com")
    assert info.value.response["error"] == "users_not_found"


def test_usergroups(client: WebClient, emu: Emulator) -> None:
    group = emu.add_usergroup("payments-oncall", ["U01", "U02"])
    assert group["id"] == "S0000000001"
    emu.add_usergroup("ops", ["U03"], usergroup_id="S0OPS")
    listed = client.usergroups_list(include_users=True, include_count=True)["usergroups"]
    assert [(g["handle"], g["users"], g["user_count"]) for g in listed] == [
        ("payments-oncall", ["U01", "U02"], 2),
        ("ops", ["U03"], 1),
    ]
    assert "users" not in client.usergroups_list()["usergroups"][0]
    assert client.usergroups_users_list(usergroup="S0OPS")["users"] == ["U03"]
    with pytest.raises(SlackApiError) as info:
        client.usergroups_users_list(usergroup="S404")
    assert info.value.response["error"] == "no_such_subteam"


def test_auth_errors_and_unknown_method(server: EmulatorServer, emu: Emulator) -> None:
    for token, code in ((None, "not_authed"), ("xoxb-wrong", "invalid_auth")):
        with pytest.raises(SlackApiError) as info:
            WebClient(token=token, base_url=server.api_url).auth_test()
        assert info.value.response["error"] == code
    response = httpx.post(f"{server.api_url}nope.method", headers={"Authorization": "Bearer x"})
    assert response.status_code == 404
    assert response.json() == {"ok": False, "error": "unknown_method"}
    assert [(c.method, c.error) for c in emu.calls] == [
        ("auth.test", "not_authed"),
        ("auth.test", "invalid_auth"),
        ("nope.method", "unknown_method"),
    ]


def test_token_as_form_field_get_with_query_and_json(server: EmulatorServer, emu: Emulator) -> None:
    form = httpx.post(f"{server.api_url}users.info", data={"token": "xoxb-test", "user": "U02"})
    assert form.json()["user"]["id"] == "U02"
    query = httpx.get(f"{server.api_url}users.info", params={"token": "xoxb-test", "user": "U03"})
    assert query.json()["user"]["id"] == "U03"
    as_json = httpx.post(
        f"{server.api_url}conversations.create",
        json={"name": "inc-json", "is_private": True},
        headers={"Authorization": "Bearer xoxb-test"},
    )
    assert as_json.json()["channel"]["is_private"] is True
    broken = httpx.post(
        f"{server.api_url}auth.test",
        content=b"{not json",
        headers={"Authorization": "Bearer xoxb-test", "Content-Type": "application/json"},
    )
    assert broken.json() == {"ok": False, "error": "invalid_json"}
    assert emu.calls[0].token == "xoxb-test" and "token" not in emu.calls[0].args


def test_missing_scope_when_scopes_restricted() -> None:
    emu = Emulator(scopes=["chat:write", "channels:read"])
    with EmulatorServer(emu) as srv:
        client = WebClient(token="xoxb-test", base_url=srv.api_url)
        with pytest.raises(SlackApiError) as info:
            client.conversations_create(name="inc-1")
        assert info.value.response["error"] == "missing_scope"
        assert info.value.response["needed"] == "channels:manage"
        assert info.value.response["provided"] == "channels:read,chat:write"
        assert client.conversations_list()["ok"]
