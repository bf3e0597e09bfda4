"""How every listener answers the person who asked: acknowledge Slack, run the work in a
thread, reply.

Shared by the core's listeners and the features' (through :mod:`bot.slack.interactions`),
so a refusal, a failure and a reply look and behave the same everywhere: refusals are
shown as they are, unexpected failures are logged and reported — never silently dropped.
Slack gets its ack before the database or the Web API is touched (its 3-second limit).

The work runs on a bounded :class:`~bot.slack.work_queue.WorkQueue`: a place is taken
before the ack, and when none is free the person is told at once that the bot is busy
(in the ack itself for a slash command) and the work is not done — rather than an ack
promising a reply that would come tens of seconds later. Work that was admitted is done
once and answered. The thread does the whole of it — the work, the reply's JSON, the
``chat.postEphemeral`` after a form — so the event loop that acks only writes bytes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import structlog

from bot.domain.incident import IncidentSnapshot
from bot.domain.lifecycle import CommandRefused
from bot.slack.gateway import SlackFailure, SlackGateway
from bot.slack.response_urls import ResponseUrls, reply_body
from bot.slack.text import reply_text
from bot.slack.views import SlackMessage
from bot.slack.work_queue import WorkQueue

log = structlog.get_logger(__name__)

FAILED = SlackMessage(
    text="⚠️ Something went wrong while handling that; it was logged. Please try again."
)

BUSY = SlackMessage(
    text="⏳ The bot is too busy to take that right now; nothing was done. Please try again"
    " in a few seconds."
)

Work = Callable[[], SlackMessage | None]


@dataclass(frozen=True)
class ViaResponseUrl:
    """A command or a button: the request's ``response_url`` (None: nowhere to answer).

    ``in_ack``: the ack itself can carry a message (a slash command's can, a button's
    cannot), so a "busy" answer needs no request of its own."""

    url: str | None
    in_ack: bool = False


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


def outcome(work: Work, what: str = "slack_handler") -> SlackMessage | None:
    """Run the work; turn its outcome (a refusal, a failure) into the reply."""
    try:
        return work()
    except CommandRefused as refused:
        return SlackMessage(text=reply_text(refused.said))
    except Exception:
        log.exception(f"{what}_failed")
        return FAILED


class Replies:
    def __init__(
        self,
        gateway: SlackGateway,
        incidents: IncidentLookup,
        queue: WorkQueue | None = None,
        response_urls: ResponseUrls | None = None,
    ) -> None:
        self._gateway = gateway
        self._incidents = incidents
        self._queue = queue or WorkQueue()
        self._response_urls = response_urls or ResponseUrls()

    async def acknowledge_then(
        self,
        ack: Callable[..., Awaitable[Any]],
        work: Work,
        to: ReplyTo,
        what: str = "slack_handler",
    ) -> None:
        """The one sequence of every listener: ack, the work in a thread, the reply — or,
        with no place for the work, ack and say the bot is busy."""
        if not self._queue.reserve():
            log.warning("slack_work_refused_busy", what=what, held=self._queue.held)
            if isinstance(to, ViaResponseUrl) and to.in_ack:
                await ack(response_type="ephemeral", text=BUSY.text)
                return
            await ack()
            await self.deliver(BUSY, to)
            return
        try:
            await ack()
            body = await self._queue.run(lambda: self._perform(work, to, what))
            if body is not None and isinstance(to, ViaResponseUrl) and to.url:
                await self._response_urls.post(to.url, body)
        finally:
            # Held until the reply is sent, so a stop waits for it (aclose). Were this
            # task cancelled mid-work, the place would come back before the thread is
            # done: one more piece of work than the bound, at shutdown only.
            self._queue.release()

    async def deliver(self, message: SlackMessage | None, to: ReplyTo) -> None:
        """Send a reply made on the event loop (not through the work queue)."""
        if message is None:
            return
        if isinstance(to, ViaResponseUrl):
            if to.url:
                await self._response_urls.post(to.url, reply_body(message))
            return
        # chat.postEphemeral blocks (the gateway is synchronous): off the event loop.
        await asyncio.to_thread(self._post_ephemeral, message, to)

    async def aclose(self, timeout: float = 10.0) -> None:
        """At shutdown: let admitted work finish and be answered, then close."""
        if not await self._queue.wait_idle(timeout):
            log.warning("slack_work_unfinished_at_stop", held=self._queue.held)
        self._queue.close()
        await self._response_urls.aclose()

    def _perform(self, work: Work, to: ReplyTo, what: str) -> bytes | None:
        """In the work thread: the work, then the reply's body (response_url) or the
        ephemeral post itself (after a form)."""
        message = outcome(work, what)
        if message is None:
            return None
        if isinstance(to, ViaResponseUrl):
            return reply_body(message)
        self._post_ephemeral(message, to)
        return None

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
