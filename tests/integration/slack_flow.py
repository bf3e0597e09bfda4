"""Helpers for driving an incident through Slack in integration tests.

The people's requests reach the bot the way its configuration says Slack would send them:
signed HTTP to ``/slack/events``, or, with ``SLACK_APP_TOKEN``, Socket Mode envelopes over
the bot's WebSocket to the emulator. The same flows run over both.
"""

from __future__ import annotations

import json
from typing import Any

from bot.sandbox.emulator import Emulator
from bot.sandbox.slack_client import (
    Delivery,
    SignedHttp,
    SlackClient,
    SocketModeEnvelopes,
    Transport,
)
from tests.conftest import RunningBot
from tests.support import SIGNING_SECRET, native_event, post_native, wait_for

RESPONDERS = {"U01ALICE", "U02BOB", "U03CAROL", "U05ERIN"}


class IncidentRoom:
    """One incident's channel, as the people in it see it."""

    def __init__(self, bot: RunningBot, emulator: Emulator, number: int, channel_id: str) -> None:
        self.bot = bot
        self.emulator = emulator
        self.number = number
        self.channel_id = channel_id
        self.slack = SlackClient(transport_for(bot, emulator), emulator)

    @classmethod
    def open(cls, bot: RunningBot, emulator: Emulator, **event: Any) -> IncidentRoom:
        response = post_native(bot.url, native_event(**event))
        assert response.status_code == 202, response.text
        number = int(response.json()["incident_id"].removeprefix("OOR-"))

        def ready() -> str | None:
            for channel in emulator.snapshot()["channels"]:
                cid = channel["id"]
                if channel["name"].startswith(f"oor-{number}-") and emulator.pins(cid):
                    return str(cid) if emulator.members(cid) >= RESPONDERS else None
            return None

        return cls(bot, emulator, number, wait_for(ready, what="incident channel ready"))

    # -- acting ----------------------------------------------------------------------
    def command(self, text: str, user: str = "U01ALICE", channel: str | None = None) -> str:
        """Run ``/oor text`` and return the ephemeral reply (waits for it)."""
        delivery = self.command_delivery(text, user, channel)
        return self.reply_to(delivery)

    def command_delivery(
        self, text: str, user: str = "U01ALICE", channel: str | None = None
    ) -> Delivery:
        delivery = self.slack.slash_command(
            text, user_id=user, channel_id=channel or self.channel_id
        )
        assert delivery.status == 200, delivery.body
        return delivery

    def reply_to(self, delivery: Delivery) -> str:
        if delivery.body and delivery.body not in ("", "null"):
            data = json.loads(delivery.body)
            if data.get("text"):
                return str(data["text"])
        assert delivery.response_token
        token = delivery.response_token
        posts = wait_for(lambda: self.emulator.responses(token), what="ephemeral reply")
        return str(posts[-1]["text"])

    def click(self, action_id: str, user: str = "U01ALICE") -> Delivery:
        delivery = self.slack.click(
            user_id=user,
            channel_id=self.channel_id,
            message_ts=self.board_ts,
            action_id=action_id,
            value=str(self.number),
        )
        assert delivery.status == 200, delivery.body
        return delivery

    def latest_view(self, callback_id: str, after: int = 0) -> dict[str, Any]:
        def find() -> dict[str, Any] | None:
            views = [v for v in self.emulator.views[after:] if v.get("callback_id") == callback_id]
            return views[-1] if views else None

        return wait_for(find, what=f"modal {callback_id}")

    def slack_reconnects(self) -> None:
        """Slack asks the bot for a new Socket Mode connection (``disconnect`` with
        ``refresh_requested``) and the bot opens one; over HTTP there is nothing to refresh."""
        if not isinstance(self.slack.transport, SocketModeEnvelopes):
            return
        hub = self.emulator.socket_mode
        opened = hub.opened_total
        assert hub.request_refresh() == 1
        wait_for(lambda: hub.opened_total > opened, what="a new Socket Mode connection")
        # The bot closes the connection it was asked to leave, well before Slack would.
        wait_for(lambda: len(hub.state()["open"]) == 1, 5, "the bot closing the old connection")

    # -- looking ---------------------------------------------------------------------
    @property
    def board_ts(self) -> str:
        return self.emulator.pins(self.channel_id)[0]

    def board(self) -> dict[str, Any]:
        return next(m for m in self.emulator.messages(self.channel_id) if m["ts"] == self.board_ts)

    def board_text(self) -> str:
        return json.dumps(self.board().get("blocks", []), ensure_ascii=False)

    def wait_board(self, *fragments: str) -> str:
        def shows() -> str | None:
            text = self.board_text()
            return text if all(f in text for f in fragments) else None

        return wait_for(shows, what=f"board showing {fragments}")

    def channel_lines(self) -> list[str]:
        return [str(m.get("text", "")) for m in self.emulator.messages(self.channel_id)]

    def wait_line(self, fragment: str) -> str:
        def find() -> str | None:
            return next((line for line in self.channel_lines() if fragment in line), None)

        return wait_for(find, what=f"channel line with {fragment!r}")


def transport_for(bot: RunningBot, emulator: Emulator) -> Transport:
    if bot.app.socket_mode is not None:
        return SocketModeEnvelopes(emulator)
    return SignedHttp(f"{bot.url}/slack/events", SIGNING_SECRET)
