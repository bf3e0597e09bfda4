"""How every listener answers the person who asked, after acknowledging Slack.

Shared by the core listeners and the features' (notifications, post-mortems, reminders),
so a refusal, a failure and a reply look and behave the same everywhere: refusals are
shown as they are, unexpected failures are logged and reported — never silently dropped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

import structlog
from slack_bolt.async_app import AsyncRespond

from bot.domain.incident import IncidentSnapshot
from bot.domain.lifecycle import CommandRefused
from bot.slack.gateway import SlackFailure, SlackGateway
from bot.slack.text import reply_text
from bot.slack.views import SlackMessage

log = structlog.get_logger(__name__)

FAILED = SlackMessage(
    text="⚠️ Something went wrong while handling that; it was logged. Please try again."
)


async def run_in_thread(
    work: Callable[[], SlackMessage | None], what: str = "slack_handler"
) -> SlackMessage | None:
    """Run blocking work (database, Web API) off the event loop; turn its outcome into
    the reply."""
    try:
        return await asyncio.to_thread(work)
    except CommandRefused as refused:
        return SlackMessage(text=reply_text(refused.said))
    except Exception:
        log.exception(f"{what}_failed")
        return FAILED


async def respond_ephemeral(respond: AsyncRespond, message: SlackMessage | None) -> None:
    """Reply through the request's ``response_url``, visible to the person only."""
    if message is not None:
        await respond(response_type="ephemeral", replace_original=False, **message.as_args())


def post_ephemeral(
    gateway: SlackGateway, channel_id: str | None, user_id: str, message: SlackMessage | None
) -> None:
    """Reply where there is no ``response_url`` (after a modal): ``chat.postEphemeral``."""
    if message is None or not channel_id:
        return
    try:
        gateway.call("chat.postEphemeral", channel=channel_id, user=user_id, **message.as_args())
    except SlackFailure as exc:
        log.warning("ephemeral_reply_failed", channel=channel_id, error=exc.error)


class IncidentLookup(Protocol):
    def incident_by_number(self, number: int) -> IncidentSnapshot: ...


def post_ephemeral_in_incident(
    gateway: SlackGateway,
    incidents: IncidentLookup,
    number: int,
    user_id: str,
    message: SlackMessage | None,
) -> None:
    """After a feature's modal (no ``response_url``): answer in the incident's channel.

    An incident that has gone away (or never had a channel) leaves nowhere to answer."""
    if message is None:
        return
    try:
        channel_id = incidents.incident_by_number(number).channel_id
    except CommandRefused:
        return
    post_ephemeral(gateway, channel_id, user_id, message)
