"""Buttons and forms, registered without touching Bolt: the handler gets a plain
:class:`Click` or :class:`Submission`, and :class:`~bot.slack.replies.Replies` does the
acknowledge → thread → reply sequence around it.

A button's handler runs in a thread after the ack and returns the ephemeral reply. A
form's handler runs before the ack, on the event loop, so it must only look at the
submitted values (no database, no Web API): it refuses with field errors, which keeps the
form open, or accepts with the work to run after the ack and where to answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.slack.command_table import Invocation
from bot.slack.replies import InChannel, InIncident, Replies, ViaResponseUrl, Work
from bot.slack.views import SlackMessage


@dataclass(frozen=True)
class Click:
    action_id: str
    value: str
    user_id: str
    channel_id: str
    trigger_id: str | None
    # The message that holds the button (to update it later), when Slack says.
    message: tuple[str, str] | None = None

    @property
    def invocation(self) -> Invocation:
        return Invocation(self.user_id, self.channel_id, self.trigger_id)

    @classmethod
    def from_request(cls, body: dict[str, Any], action: dict[str, Any]) -> Click:
        container = body.get("container") or {}
        channel_id, ts = container.get("channel_id"), container.get("message_ts")
        return cls(
            action_id=str(action["action_id"]),
            value=str(action.get("value", "")),
            user_id=body["user"]["id"],
            channel_id=(body.get("channel") or {}).get("id", ""),
            trigger_id=body.get("trigger_id"),
            message=(str(channel_id), str(ts)) if channel_id and ts else None,
        )


@dataclass(frozen=True)
class Submission:
    callback_id: str
    view: dict[str, Any]
    user_id: str

    @property
    def values(self) -> dict[str, Any]:
        return dict(self.view["state"]["values"])


@dataclass(frozen=True)
class Refuse:
    """Answer Slack with this (field errors) and keep the form open."""

    response: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def errors(cls, errors: dict[str, str]) -> Refuse:
        return cls({"response_action": "errors", "errors": errors})


@dataclass(frozen=True)
class Accept:
    """Close the form, then run ``work`` in a thread and answer there."""

    work: Work
    reply_to: InChannel | InIncident


# None: close the form and do nothing (a form this version did not build).
FormAnswer = Refuse | Accept | None
ButtonHandler = Callable[[Click], SlackMessage | None]
FormHandler = Callable[[Submission], FormAnswer]


class Interactions:
    def __init__(self, bolt: AsyncApp, replies: Replies) -> None:
        self._bolt = bolt
        self._replies = replies

    def on_button(
        self, action_id: str | re.Pattern[str], handle: ButtonHandler, what: str = "button"
    ) -> None:
        replies = self._replies

        async def clicked(
            ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
        ) -> None:
            click = Click.from_request(body, action)
            await replies.acknowledge_then(
                ack, lambda: handle(click), ViaResponseUrl(respond.response_url), what
            )

        self._bolt.action(action_id)(clicked)

    def on_form(self, callback_id: str, handle: FormHandler, what: str = "form") -> None:
        replies = self._replies

        async def submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
            answer = handle(Submission(callback_id, view, body["user"]["id"]))
            if isinstance(answer, Refuse):
                await ack(**answer.response)
            elif answer is None:
                await ack()
            else:
                await replies.acknowledge_then(ack, answer.work, answer.reply_to, what)

        self._bolt.view(callback_id)(submitted)
