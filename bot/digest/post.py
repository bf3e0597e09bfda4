"""The outbox job that posts a claimed digest: the message, then the chart, once each.

The message goes through :func:`bot.slack.posting.post_once` (a retried job finds its own
earlier post by message metadata). The chart is uploaded with Slack's external upload
flow — ``files.getUploadURLExternal``, the bytes to the returned URL, then
``files.completeUploadExternal`` into the review channel — which is what slack_sdk's
``files_upload_v2`` does, but made through :class:`SlackGateway` so rate limits, outages
and missing scopes are classified (retried or parked) like every other call. A retried job
first looks for the chart's file name (unique per week) in the channel's history.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import structlog

from bot.digest.figures import compute_digest
from bot.digest.render import digest_message, render_digest
from bot.digest.schedule import IsoWeek
from bot.domain.clock import Clock
from bot.domain.plan import Plan
from bot.slack.channels import ChannelIds, call_joining
from bot.slack.gateway import SlackGateway
from bot.slack.posting import post_once
from bot.storage.db import Database
from bot.storage.jobs import ClaimedJob
from bot.storage.models import DigestRunRow

log = structlog.get_logger(__name__)

T = TypeVar("T")
_HISTORY_LOOKBACK = 200


def chart_filename(week: str) -> str:
    return f"oor-digest-{week}.png"


class DigestPoster:
    def __init__(
        self,
        db: Database,
        plan: Plan,
        gateway: SlackGateway,
        clock: Clock,
    ) -> None:
        self._db = db
        self._plan = plan
        self._gateway = gateway
        self._clock = clock
        self._channel_ids = ChannelIds(gateway)

    def handle(self, job: ClaimedJob) -> None:
        week = IsoWeek.parse(str(job.payload["week"]))
        late = bool(job.payload.get("late"))
        if not self._plan.review_channel:
            log.warning("digest_without_review_channel", week=str(week))
            return
        with self._db.session() as session:
            digest = compute_digest(session, self._plan, week, late=late)
        message = digest_message(digest, render_digest(digest, self._plan))
        channel = self.channel_id()
        self._joining(channel, lambda: post_once(self._gateway, channel, message, job))

        from bot.digest.chart import render_chart  # matplotlib: only where a chart is drawn

        name = chart_filename(str(week))
        if job.attempts <= 1 or not self._chart_posted(channel, name):
            png = render_chart(digest.current)
            comment = f"Chart: incidents per day and time to resolve, {week}"
            self._joining(channel, lambda: self.upload(channel, name, png, comment))
        with self._db.session() as session:
            row = session.get(DigestRunRow, str(week))
            if row is not None and row.posted_at is None:
                row.posted_at = self._clock.now()
                session.add(row)
        log.info("digest_posted", week=str(week), late=late, channel=channel)

    # -- Slack -------------------------------------------------------------------------------
    def channel_id(self) -> str:
        """The plan's review channel as an id (``#name`` looked up once per process)."""
        return self._channel_ids.resolve(str(self._plan.review_channel))

    def _joining(self, channel: str, action: Callable[[], T]) -> T:
        return call_joining(self._gateway, channel, action)

    def _chart_posted(self, channel: str, filename: str) -> bool:
        data = self._gateway.call("conversations.history", channel=channel, limit=_HISTORY_LOOKBACK)
        return any(
            file.get("name") == filename
            for message in data.get("messages", [])
            for file in message.get("files") or []
        )

    def upload(self, channel: str, filename: str, content: bytes, comment: str) -> dict[str, Any]:
        """Upload ``content`` as ``filename`` into ``channel`` (the ``files_upload_v2`` flow)."""
        return self._gateway.upload_file(
            channel_id=channel,
            content=content,
            filename=filename,
            title=filename.removesuffix(".png"),
            initial_comment=comment,
            alt_txt="Incidents per day by type and time-to-resolve distribution",
        )
