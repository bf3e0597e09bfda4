"""The emulator's Socket Mode: apps.connections.open and the envelope protocol on its socket.

Rules from tests/fixtures/slack_methods/methods/apps.connections.open.json (app-level token,
no bot scope, Tier 3, missing_args / invalid_auth) and NOTES.md ("Socket Mode protocol":
hello first, envelopes acked by envelope_id, payloads when accepts_response_payload,
disconnect refresh_requested).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import httpx
import pytest

from bot.sandbox.emulator import METHODS, Emulator, EmulatorServer
from bot.sandbox.emulator.methods import ALL_APP_SCOPES, ALL_SCOPES
from bot.sandbox.emulator.socket_mode import SocketModeError
from tests.support import APP_TOKEN, BOT_TOKEN, FIXTURES

DOC = json.loads(
    (FIXTURES / "slack_methods" / "methods" / "apps.connections.open.json").read_text()
)


def _open(api_url: str, token: str | None) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return dict(httpx.post(f"{api_url}apps.connections.open", headers=headers).json())


def test_only_a_live_app_level_token_opens_a_connection(
    emulator: Emulator, emulator_server: EmulatorServer
) -> None:
    api = emulator_server.api_url
    opened = _open(api, APP_TOKEN)
    assert opened["ok"]
    assert opened["url"].startswith(f"ws://127.0.0.1:{emulator_server.port}/link/?ticket=")
    assert _open(api, BOT_TOKEN)["error"] == "not_allowed_token_type"
    assert _open(api, None)["error"] == "missing_args"  # "An app-level token wasn't provided"
    assert _open(api, "xapp-someone-else")["error"] == "invalid_auth"
    # An app-level token is no bot token either.
    posted = httpx.post(
        f"{api}chat.postMessage",
        headers={"authorization": f"Bearer {APP_TOKEN}"},
        json={"channel": "C1", "text": "hi"},
    ).json()
    assert posted["error"] == "not_allowed_token_type"
    emulator.revoke_app_token()
    assert _open(api, APP_TOKEN)["error"] == "invalid_auth"
    assert set(METHODS["apps.connections.open"].errors) <= set(DOC["errors"])


def test_connections_write_is_an_app_scope_not_a_bot_scope() -> None:
    assert DOC["scope"] == {}  # no bot or user scope: the token is app-level
    assert METHODS["apps.connections.open"].token_type == "app"
    assert "connections:write" in ALL_APP_SCOPES
    assert "connections:write" not in ALL_SCOPES
    emu = Emulator(app_scopes=())
    emu.base_url = "http://emulator.test/"
    refused = emu.execute("apps.connections.open", {}, emu.app_token).body
    assert refused["error"] == "missing_scope" and refused["needed"] == "connections:write"


def test_apps_connections_open_is_tier_3() -> None:
    assert DOC["rate_limits"] == "t3"  # Tier 3: 50+ per minute
    now = [1000.0]
    emu = Emulator(clock=lambda: now[0])
    emu.base_url = "http://emulator.test/"
    for _ in range(50):
        assert emu.execute("apps.connections.open", {}, emu.app_token).body["ok"]
    limited = emu.execute("apps.connections.open", {}, emu.app_token)
    assert limited.status == 429 and int(limited.headers["Retry-After"]) >= 1
    now[0] += 61
    assert emu.execute("apps.connections.open", {}, emu.app_token).body["ok"]


@asynccontextmanager
async def _socket(api_url: str) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    async with aiohttp.ClientSession() as session:
        url = _open(api_url, APP_TOKEN)["url"]
        async with session.ws_connect(url) as ws:
            yield ws


async def _frame(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    return dict(json.loads(await asyncio.wait_for(ws.receive_str(), 5)))


def test_hello_then_envelopes_acked_by_envelope_id(
    emulator: Emulator, emulator_server: EmulatorServer
) -> None:
    hub = emulator.socket_mode
    assert hub.wait_until_closed(10)  # an earlier test's connection, seen closed

    async def scenario() -> None:
        async with _socket(emulator_server.api_url) as ws:
            hello = await _frame(ws)
            assert hello["type"] == "hello" and hello["num_connections"] == 1
            assert hello["connection_info"] == {"app_id": emulator.app_id}

            command = {"command": "/oor", "text": "status"}
            delivery = asyncio.create_task(
                asyncio.to_thread(hub.deliver, "slash_commands", command)
            )
            envelope = await _frame(ws)
            assert envelope["type"] == "slash_commands" and envelope["payload"] == command
            assert envelope["accepts_response_payload"] is True
            await ws.send_str(json.dumps({"envelope_id": "not-" + envelope["envelope_id"]}))
            await ws.send_str(
                json.dumps({"envelope_id": envelope["envelope_id"], "payload": {"text": "ok"}})
            )
            ack = await delivery
            assert ack.envelope_id == envelope["envelope_id"] and ack.payload == {"text": "ok"}

            click = {"type": "block_actions", "actions": []}
            delivery = asyncio.create_task(asyncio.to_thread(hub.deliver, "interactive", click))
            envelope = await _frame(ws)
            assert envelope["accepts_response_payload"] is False  # nothing to answer a click
            await ws.send_str(json.dumps({"envelope_id": envelope["envelope_id"]}))
            assert (await delivery).payload is None

            submission = {"type": "view_submission", "view": {}}
            delivery = asyncio.create_task(
                asyncio.to_thread(hub.deliver, "interactive", submission)
            )
            envelope = await _frame(ws)
            assert envelope["accepts_response_payload"] is True  # response_action goes here
            await ws.send_str(json.dumps({"envelope_id": envelope["envelope_id"]}))
            await delivery

            event = {"type": "event_callback", "event": {"type": "app_mention"}}
            delivery = asyncio.create_task(asyncio.to_thread(hub.deliver, "events_api", event))
            envelope = await _frame(ws)
            assert envelope["retry_attempt"] == 0 and envelope["retry_reason"] == ""
            await ws.send_str(json.dumps({"envelope_id": envelope["envelope_id"]}))
            await delivery

    asyncio.run(scenario())
    state = hub.state()
    assert state["opened_total"] == 1 and state["open"] == [] and state["pending_envelopes"] == 0
    assert [json.loads(f)["envelope_id"][:4] for f in state["stray_frames"]] == ["not-"]


def test_an_envelope_without_ack_fails_the_delivery(
    emulator: Emulator, emulator_server: EmulatorServer
) -> None:
    hub = emulator.socket_mode

    async def scenario() -> None:
        async with _socket(emulator_server.api_url) as ws:
            await _frame(ws)
            delivery = asyncio.to_thread(hub.deliver, "slash_commands", {}, timeout=0.3)
            with pytest.raises(SocketModeError, match="no ack"):
                await delivery

    asyncio.run(scenario())
    # The server sees the close a moment after the client sent it (a busy machine: later).
    assert hub.wait_until_closed(10)
    with pytest.raises(SocketModeError, match="no Socket Mode connection"):
        hub.deliver("slash_commands", {}, connection_wait=0.1)


def test_a_url_is_single_use(emulator: Emulator, emulator_server: EmulatorServer) -> None:
    async def scenario() -> None:
        url = _open(emulator_server.api_url, APP_TOKEN)["url"]
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(url) as ws:
                assert (await _frame(ws))["type"] == "hello"
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await session.ws_connect(url)
            assert refused.value.status == 403

    asyncio.run(scenario())


def test_refresh_requested_sends_disconnect_and_takes_no_more_envelopes(
    emulator: Emulator, emulator_server: EmulatorServer
) -> None:
    hub = emulator.socket_mode

    async def scenario() -> None:
        async with _socket(emulator_server.api_url) as ws:
            await _frame(ws)
            assert await asyncio.to_thread(hub.request_refresh) == 1
            disconnect = await _frame(ws)
            assert disconnect["type"] == "disconnect"
            assert disconnect["reason"] == "refresh_requested"
            with pytest.raises(SocketModeError, match="no Socket Mode connection"):
                await asyncio.to_thread(hub.deliver, "slash_commands", {}, connection_wait=0.2)
            async with _socket(emulator_server.api_url) as fresh:
                assert (await _frame(fresh))["num_connections"] == 2
                delivery = asyncio.create_task(asyncio.to_thread(hub.deliver, "events_api", {}))
                envelope = await _frame(fresh)  # the new connection gets it, not the old
                await fresh.send_str(json.dumps({"envelope_id": envelope["envelope_id"]}))
                await delivery

    asyncio.run(scenario())


def test_control_endpoints_deliver_and_refresh(
    emulator: Emulator, emulator_server: EmulatorServer
) -> None:
    control = f"{emulator_server.base_url}_emulator/socket_mode"

    async def scenario() -> None:
        async with _socket(emulator_server.api_url) as ws, httpx.AsyncClient() as http:
            await _frame(ws)
            body = {"type": "slash_commands", "payload": {"text": "help"}}
            answer = asyncio.create_task(http.post(f"{control}/deliver", json=body))
            envelope = await _frame(ws)
            await ws.send_str(
                json.dumps({"envelope_id": envelope["envelope_id"], "payload": {"text": "Hi"}})
            )
            delivered = (await answer).json()
            assert delivered["ok"] and delivered["ack_payload"] == {"text": "Hi"}
            assert (await http.post(f"{control}/refresh")).json()["connections"] == 1
            assert (await _frame(ws))["type"] == "disconnect"
            state = (await http.get(control)).json()
            assert state["open"][0]["refreshing"] and state["open"][0]["envelopes"] == 1

    asyncio.run(scenario())
    assert "socket_mode" in emulator.snapshot()
