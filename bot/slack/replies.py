"""How every listener answers the person who asked: acknowledge Slack, run the work in a
thread, reply.

Shared by the core's listeners and the features' (through :mod:`bot.slack.interactions`),
so a refusal, a failure and a reply look and behave the same everywhere: refusals are
shown as they are, unexpected failures are logged and reported — never silently dropped.
Slack gets its ack before the database or the Web API is touched (its 3-second limit).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

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

Work = Callable[[], SlackMessage | None]


@dataclass(frozen=True)
class ViaResponseUrl:
    """A command or a button: the request's ``response_url``."""

    respond: AsyncRespond


@dataclass(frozen=True)
class InChannel:
    """After a modal (no ``response_url``): ``chat.postEphemeral`` in a channel."""

    channel_id: str | None
    user_id: str


@dataclass(frozen=True)
class InIncident:
    """After a modal about an incident: ephemeral in its channel. An incident that has
    gone away (or never had a channel) leaves nowhere to answer."""

    number: int
    user_id: str


ReplyTo = ViaResponseUrl | InChannel | InIncident


class IncidentLookup(Protocol):
    def incident_by_number(self, number: int) -> IncidentSnapshot: ...


async def run_in_thread(work: Work, what: str = "slack_handler") -> SlackMessage | None:
    """Run blocking work (database, Web API) off the event loop; turn its outcome into
    the reply."""
    try:
        return await asyncio.to_thread(work)
    except CommandRefused as refused:
        return SlackMessage(text=reply_text(refused.said))
    except Exception:
        log.exception(f"{what}_failed")
        return FAILED


class Replies:
    def __init__(self, gateway: SlackGateway, incidents: IncidentLookup) -> None:
        self._gateway = gateway
        self._incidents = incidents

    async def acknowledge_then(
        self,
        ack: Callable[..., Awaitable[Any]],
        work: Work,
        to: ReplyTo,
        what: str = "slack_handler",
    ) -> None:
        """The one sequence of every listener: ack, the work in a thread, the reply."""
        await ack()
        await self.deliver(await run_in_thread(work, what), to)

    async def deliver(self, message: SlackMessage | None, to: ReplyTo) -> None:
        if message is None:
            return
        if isinstance(to, ViaResponseUrl):
            await to.respond(response_type="ephemeral", replace_original=False, **message.as_args())
            return
        # chat.postEphemeral blocks (the gateway is synchronous): off the event loop.
        await asyncio.to_thread(self._post_ephemeral, message, to)

    def _post_ephemeral(self, message: SlackMessage, to: InChannel | InIncident) -> None:
        channel_id: str | None
        if isinstance(to, InIncident):
            try:
                channel_id = self._incidents.incident_by_number(to.number).channel_id
            except CommandRefused:
                return
        else:
            channel_id = to.channel_id
        if not channel_id:
            return
        try:
            self._gateway.call(
                "chat.postEphemeral", channel=channel_id, user=to.user_id, **message.as_args()
            )
        except SlackFailure as exc:
            log.warning("ephemeral_reply_failed", channel=channel_id, error=exc.error)
        except Exception:  # a reply that cannot be posted is logged, never raised into Bolt
            log.exception("ephemeral_reply_failed", channel=channel_id)
