"""Playing Slack's part towards the bot: slash commands, button clicks and modal
submissions, shaped exactly as Slack sends them.

Two ways to deliver them, as Slack has: `SignedHttp` posts them signed to ``/slack/events``
(form-encoded; interactions as a ``payload`` field), `SocketModeEnvelopes` sends the same
payloads as Socket Mode envelopes over the app's WebSocket to the emulator (type
``slash_commands`` / ``interactive``; tests/fixtures/slack_methods/NOTES.md) and returns the
app's ack. Used by the tests and by the sandbox, so both exercise the real request path:
signature verification or the socket, Bolt's routing, the 3-second ack.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode

import httpx
from slack_sdk.signature import SignatureVerifier

from bot.sandbox.emulator import Emulator

TEAM = {"id": "T0OOR", "domain": "oor-sandbox"}
# Where Slack puts a picked value in view state, for the pickers that are not selects.
_PICKED = {  # the pickers the bot's forms use, and where Slack puts their value
    "users_select": "selected_user",
    "datepicker": "selected_date",
}
APP_ID = "A0OORBOT"


@dataclass(frozen=True)
class Delivery:
    """What the bot answered (the ack) and where its later replies land."""

    status: int
    body: str
    seconds: float
    response_token: str | None = None

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class Transport(Protocol):
    """How a request reaches the app: ``kind`` is ``slash_commands`` or ``interactive``."""

    def send(self, kind: str, payload: dict[str, Any], response_token: str | None) -> Delivery: ...


class SignedHttp:
    """Slack's HTTP request URLs: a signed, form-encoded POST to ``/slack/events``."""

    def __init__(self, events_url: str, signing_secret: str) -> None:
        self._url = events_url
        self._verifier = SignatureVerifier(signing_secret)

    def send(self, kind: str, payload: dict[str, Any], response_token: str | None) -> Delivery:
        fields = payload if kind == "slash_commands" else {"payload": json.dumps(payload)}
        body = urlencode(fields)
        timestamp = str(int(time.time()))
        signature = self._verifier.generate_signature(timestamp=timestamp, body=body)
        assert signature is not None
        headers = {
            "content-type": "application/x-www-form-urlencoded",
            "x-slack-request-timestamp": timestamp,
            "x-slack-signature": signature,
        }
        started = time.perf_counter()
        response = httpx.post(self._url, content=body, headers=headers, timeout=10)
        return Delivery(
            response.status_code, response.text, time.perf_counter() - started, response_token
        )


class SocketModeEnvelopes:
    """Socket Mode: the emulator sends an envelope over the app's WebSocket; the app's ack
    (and its ``payload``, if any) is the answer, as an HTTP 200 body would be."""

    def __init__(self, emulator: Emulator) -> None:
        self._hub = emulator.socket_mode

    def send(self, kind: str, payload: dict[str, Any], response_token: str | None) -> Delivery:
        ack = self._hub.deliver(kind, payload)
        body = json.dumps(ack.payload) if ack.payload is not None else ""
        return Delivery(200, body, ack.seconds, response_token)


class SlackClient:
    def __init__(self, transport: Transport, emulator: Emulator) -> None:
        self.transport = transport
        self._emulator = emulator

    def slash_command(self, text: str, *, user_id: str, channel_id: str) -> Delivery:
        response_url = self._emulator.new_response_url(channel_id, user_id)
        user = self._emulator.user(user_id) or {}
        fields = {
            "token": "unused-verification-token",
            "team_id": TEAM["id"],
            "team_domain": TEAM["domain"],
            "channel_id": channel_id,
            "channel_name": self._channel_name(channel_id),
            "user_id": user_id,
            "user_name": user.get("name", user_id.lower()),
            "command": "/oor",
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": self._emulator.new_trigger_id(),
        }
        return self.transport.send("slash_commands", fields, response_url.rsplit("/", 1)[-1])

    def click(
        self, *, user_id: str, channel_id: str, message_ts: str, action_id: str, value: str
    ) -> Delivery:
        response_url = self._emulator.new_response_url(channel_id, user_id)
        message = next(
            (m for m in self._emulator.messages(channel_id) if m["ts"] == message_ts), {}
        )
        payload = {
            "type": "block_actions",
            "team": TEAM,
            "user": {"id": user_id, "team_id": TEAM["id"]},
            "api_app_id": APP_ID,
            "token": "unused-verification-token",
            "container": {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": channel_id,
                "is_ephemeral": False,
            },
            "trigger_id": self._emulator.new_trigger_id(),
            "channel": {"id": channel_id, "name": self._channel_name(channel_id)},
            "message": message,
            "response_url": response_url,
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": _block_of(message, action_id),
                    "type": "button",
                    "value": value,
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        return self.transport.send("interactive", payload, response_url.rsplit("/", 1)[-1])

    def submit_view(
        self, view: dict[str, Any], values: dict[str, str], *, user_id: str
    ) -> Delivery:
        """Submit a modal the bot opened, with ``values`` by block id (select: option value;
        user and date pickers: the user id or ``YYYY-MM-DD``)."""
        state: dict[str, dict[str, Any]] = {}
        for block in view.get("blocks", []):
            if block.get("type") != "input":
                continue
            element = block["element"]
            value = values.get(block["block_id"])
            if element["type"] in ("static_select", "external_select"):
                selected = None
                if value is not None:
                    option = next(o for o in element["options"] if o["value"] == value)
                    selected = {"text": option["text"], "value": value}
                entry = {"type": element["type"], "selected_option": selected}
            elif element["type"] in _PICKED:
                entry = {"type": element["type"], _PICKED[element["type"]]: value}
            else:
                entry = {"type": element["type"], "value": value}
            state[block["block_id"]] = {element["action_id"]: entry}
        payload = {
            "type": "view_submission",
            "team": TEAM,
            "user": {"id": user_id, "team_id": TEAM["id"]},
            "api_app_id": APP_ID,
            "token": "unused-verification-token",
            "trigger_id": self._emulator.new_trigger_id(),
            "view": {**view, "state": {"values": state}, "hash": uuid.uuid4().hex},
            "response_urls": [],
        }
        return self.transport.send("interactive", payload, None)

    def _channel_name(self, channel_id: str) -> str:
        for channel in self._emulator.snapshot()["channels"]:
            if channel["id"] == channel_id:
                return str(channel["name"])
        return "unknown"


def _block_of(message: dict[str, Any], action_id: str) -> str:
    for block in message.get("blocks") or []:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                return str(block.get("block_id", ""))
    return ""
