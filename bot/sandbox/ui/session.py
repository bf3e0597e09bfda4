"""What the sandbox page does on a person's behalf, through the bot's real entry points.

Slash commands, button clicks and modal submissions go through `SlackClient` (signed, to the
bot's own ``/slack/events``); OOR events go to its ``/webhooks/oor`` over HTTP with the
sandbox's webhook credentials. Nothing here calls the bot's Python code directly.

All methods block (HTTP to the same server), so the routes run them in a worker thread.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import httpx

from bot.sandbox.emulator import Emulator
from bot.sandbox.slack_client import Delivery, SignedHttp, SlackClient

JSON = dict[str, Any]


class SandboxError(Exception):
    """Something the person should be told (a bad command, a modal that is gone)."""


@dataclass(frozen=True)
class SandboxTarget:
    """Where the bot listens, and the secrets Slack and the payment monitor would use."""

    base_url: str  # e.g. http://127.0.0.1:3000
    signing_secret: str
    webhook_token: str | None = None
    webhook_secret: str | None = None

    @property
    def events_url(self) -> str:
        return f"{self.base_url}/slack/events"

    @property
    def webhook_url(self) -> str:
        return f"{self.base_url}/webhooks/oor"


@dataclass(frozen=True)
class Outcome:
    """How the bot answered: ``ok`` and an optional line to show under the composer."""

    ok: bool
    message: str = ""
    data: JSON = field(default_factory=dict)


class _TriggerTap:
    """The emulator as `SlackClient` sees it, noting whom each trigger_id was issued for.

    The emulator has no user sessions; a modal the bot opens carries the trigger_id of the
    click or command that caused it, which is how the page knows whose screen it belongs on.
    """

    def __init__(self, emulator: Emulator) -> None:
        self._emulator = emulator
        self._local = threading.local()
        self._lock = threading.Lock()
        self._owners: dict[str, str] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._emulator, name)

    @contextmanager
    def acting_as(self, user_id: str) -> Iterator[None]:
        self._local.user = user_id
        try:
            yield
        finally:
            self._local.user = None

    def new_trigger_id(self) -> str:
        trigger = self._emulator.new_trigger_id()
        user = getattr(self._local, "user", None)
        if user:
            with self._lock:
                self._owners[trigger] = user
        return trigger

    def owner(self, trigger_id: str | None) -> str | None:
        with self._lock:
            return self._owners.get(trigger_id or "")


@dataclass(frozen=True)
class OpenModal:
    view: JSON
    values: Mapping[str, str]
    errors: Mapping[str, str]
    revision: int

    @property
    def key(self) -> str:
        return f"{self.view['id']}:{self.view.get('hash', '')}:{self.revision}"


class SandboxSession:
    def __init__(self, emulator: Emulator, target: SandboxTarget) -> None:
        self.emulator = emulator
        self.target = target
        self._tap = _TriggerTap(emulator)
        self._client = SlackClient(
            SignedHttp(target.events_url, target.signing_secret), cast(Emulator, self._tap)
        )
        self._lock = threading.Lock()
        self._acks: list[JSON] = []  # replies Slack shows from the ack body itself
        self._closed: set[str] = set()
        self._forms: dict[str, tuple[dict[str, str], dict[str, str], int]] = {}

    # ------------------------------------------------------------------ Slack's part
    def slash_command(self, user_id: str, channel_id: str, text: str) -> Delivery:
        """``/oor <text>`` as ``user_id`` in ``channel_id``; an ack body is kept as a reply."""
        with self._tap.acting_as(user_id):
            delivery = self._client.slash_command(text, user_id=user_id, channel_id=channel_id)
        self._keep_ack_reply(delivery, user_id, channel_id)
        return delivery

    def compose(self, user_id: str, channel_id: str, text: str) -> Outcome:
        """What the composer sends: ``/oor …`` as a slash command, anything else as a post."""
        text = text.strip()
        self._check(user_id, channel_id)
        if not text:
            raise SandboxError("Type a command, e.g. /oor help")
        if not text.startswith("/"):
            self.emulator.post_as_user(channel_id, user_id, text)
            return Outcome(True, "")
        command, _, rest = text.partition(" ")
        if command.lower() != "/oor":
            raise SandboxError(f"{command} is not installed here; the sandbox app has /oor.")
        return _answer(self.slash_command(user_id, channel_id, rest.strip()))

    def click(
        self, user_id: str, channel_id: str, message_ts: str, action_id: str, value: str
    ) -> Outcome:
        self._check(user_id, channel_id)
        with self._tap.acting_as(user_id):
            delivery = self._client.click(
                user_id=user_id,
                channel_id=channel_id,
                message_ts=message_ts,
                action_id=action_id,
                value=value,
            )
        return _answer(delivery)

    def submit_view(self, user_id: str, view_id: str, values: Mapping[str, str]) -> Outcome:
        """Submit a modal; ``response_action: errors`` keeps it open with the messages."""
        view = next((v for v in self.emulator.views if v["id"] == view_id), None)
        if view is None or view_id in self._closed:
            raise SandboxError("That form is no longer open.")
        submitted = _form_values(view, values, lambda u: self.emulator.user(u) is not None)
        with self._tap.acting_as(user_id):
            delivery = self._client.submit_view(view, submitted, user_id=user_id)
        if delivery.status != 200:
            return _answer(delivery)
        body = _json_or_none(delivery.body)
        action = body.get("response_action") if isinstance(body, dict) else None
        if action == "errors" and isinstance(body, dict):
            errors = {str(k): str(v) for k, v in (body.get("errors") or {}).items()}
            with self._lock:
                revision = self._forms.get(view_id, ({}, {}, 0))[2] + 1
                self._forms[view_id] = (dict(values), errors, revision)
            return Outcome(False, "Please fix the form.", {"errors": errors})
        self._close(view, whole_stack=action == "clear")
        return Outcome(True, "")

    def close_view(self, view_id: str) -> None:
        view = next((v for v in self.emulator.views if v["id"] == view_id), None)
        if view is not None:
            self._close(view, whole_stack=view.get("root_view_id") == view_id)

    def fire_event(self, fields: Mapping[str, str]) -> Outcome:
        """A native OOR event, posted to the bot's webhook as a payment monitor would."""
        event = native_event(fields)
        body = json.dumps(event)
        headers = {"content-type": "application/json", **self._webhook_auth(body)}
        response = httpx.post(self.target.webhook_url, content=body, headers=headers, timeout=10)
        answer = _json_or_none(response.text)
        data = answer if isinstance(answer, dict) else {}
        if response.status_code == 202:
            return Outcome(True, f"{data.get('incident_id')} {data.get('status')}", data)
        detail = data.get("message") or data.get("error") or response.text[:200]
        where = f" ({data['field']})" if data.get("field") else ""
        return Outcome(False, f"HTTP {response.status_code}{where}: {detail}", data)

    def _webhook_auth(self, body: str) -> dict[str, str]:
        if self.target.webhook_token:
            return {"authorization": f"Bearer {self.target.webhook_token}"}
        if self.target.webhook_secret:
            from standardwebhooks import Webhook

            msg_id = f"msg_{uuid.uuid4().hex}"
            now = datetime.now(UTC)
            return {
                "webhook-id": msg_id,
                "webhook-timestamp": str(int(now.timestamp())),
                "webhook-signature": Webhook(self.target.webhook_secret).sign(msg_id, now, body),
            }
        return {}

    # ------------------------------------------------------------------ what the page shows
    def replies(self, user_id: str, channel_id: str) -> list[JSON]:
        """Messages only ``user_id`` sees in ``channel_id``: ephemerals and ack replies."""
        shown = [e for e in self.emulator.ephemerals(channel_id) if e.get("user") == user_id]
        with self._lock:
            shown += [
                dict(a)
                for a in self._acks
                if a["user"] == user_id and a["channel_id"] == channel_id
            ]
        return sorted(shown, key=lambda m: float(m.get("ts") or 0))

    def open_modal(self, user_id: str) -> OpenModal | None:
        """The modal on ``user_id``'s screen: the top of the stack they last opened."""
        views = self.emulator.views
        roots = [
            v
            for v in views
            if v.get("opened_via") == "views.open"
            and self._tap.owner(v.get("trigger_id")) == user_id
        ]
        if not roots:
            return None
        root = roots[-1]
        with self._lock:
            stack = [
                v
                for v in views
                if v.get("root_view_id") == root["id"] and v["id"] not in self._closed
            ]
            if not stack:
                return None
            top = stack[-1]
            values, errors, revision = self._forms.get(top["id"], ({}, {}, 0))
        return OpenModal(top, values, errors, revision)

    # ------------------------------------------------------------------ helpers
    def _check(self, user_id: str, channel_id: str) -> None:
        if self.emulator.user(user_id) is None:
            raise SandboxError(f"No user {user_id} in the sandbox workspace.")
        try:
            self.emulator.channel(channel_id)
        except KeyError:
            raise SandboxError("Choose a channel first.") from None

    def _close(self, view: JSON, *, whole_stack: bool) -> None:
        with self._lock:
            if whole_stack:
                root = view.get("root_view_id") or view["id"]
                self._closed.update(
                    v["id"] for v in self.emulator.views if v["root_view_id"] == root
                )
            self._closed.add(view["id"])
            self._forms.pop(view["id"], None)

    def _keep_ack_reply(self, delivery: Delivery, user_id: str, channel_id: str) -> None:
        body = _json_or_none(delivery.body)
        if delivery.status != 200 or not isinstance(body, dict):
            return
        if not body.get("text") and not body.get("blocks"):
            return
        with self._lock:
            self._acks.append(
                {
                    "type": "message",
                    "ts": f"{time.time():.6f}",
                    "user": user_id,
                    "from_user": self.emulator.bot_user_id,
                    "bot_id": self.emulator.bot_id,
                    "channel_id": channel_id,
                    "text": body.get("text") or "",
                    "blocks": body.get("blocks"),
                    "source": "ack",
                }
            )


def native_event(fields: Mapping[str, str]) -> JSON:
    """The native event JSON from the page's form (blank fields left out)."""

    def get(name: str) -> str:
        return str(fields.get(name) or "").strip()

    event: JSON = {
        "id": f"sandbox-{uuid.uuid4().hex[:12]}",
        "type": get("type") or "payment_failure",
        "title": get("title") or "Sandbox incident",
        "source": "sandbox",
    }
    if get("severity"):
        event["severity"] = get("severity")
    if get("description"):
        event["description"] = get("description")
    details = {
        "amount": get("amount"),
        "currency": get("currency").upper(),
        "merchant_id": get("merchant"),
        "payment_method": get("payment_method"),
    }
    details = {k: v for k, v in details.items() if v}
    if details:
        event["details"] = details
    return event


def _form_values(
    view: JSON, values: Mapping[str, str], is_user: Callable[[str], bool]
) -> dict[str, str]:
    """Only what Slack would send: filled text inputs and dates, selects set to a real
    option, user pickers set to a real user."""
    out: dict[str, str] = {}
    for item in view.get("blocks") or []:
        if item.get("type") != "input" or not item.get("block_id"):
            continue
        value = str(values.get(item["block_id"]) or "")
        element = item.get("element") or {}
        kind = element.get("type")
        if kind in ("static_select", "external_select"):
            if any(o.get("value") == value for o in element.get("options") or []):
                out[item["block_id"]] = value
        elif kind == "users_select":
            if value and is_user(value):
                out[item["block_id"]] = value
        elif value.strip():
            out[item["block_id"]] = value
    return out


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text) if text.strip() else None
    except ValueError:
        return None


def _answer(delivery: Delivery) -> Outcome:
    if delivery.status == 200:
        return Outcome(True, "", {"response_token": delivery.response_token})
    return Outcome(False, f"The bot answered HTTP {delivery.status}: {delivery.body[:200]}")
