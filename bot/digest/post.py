"""The outbox job that posts a claimed digest: the message, then the chart, once each.

Both go through the chat platform at most once per job: a retried job finds its own
earlier post, and the chart by its file name (unique per week) in the review room.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from bot.chat.port import ChatMessage, ChatPlatform, Once, SharedFile
from bot.digest.figures import Digest, compute_digest
from bot.digest.render import summary_text
from bot.digest.schedule import IsoWeek
from bot.domain.clock import Clock
from bot.domain.plan import Plan
from bot.storage.db import Database
from bot.storage.jobs import ClaimedJob
from bot.storage.models import DigestRunRow

log = structlog.get_logger(__name__)

DIGEST_MESSAGE = "weekly_digest"  # chat message kind: the week's figures


@dataclass(frozen=True)
class DigestMessage:
    """The week's figures; each platform renders them (Slack: :mod:`bot.digest.views`)."""

    digest: Digest


def chart_filename(week: str) -> str:
    return f"oor-digest-{week}.png"


class DigestPoster:
    def __init__(self, db: Database, plan: Plan, platform: ChatPlatform, clock: Clock) -> None:
        self._db = db
        self._plan = plan
        self._platform = platform
        self._clock = clock

    def handle(self, job: ClaimedJob) -> None:
        week = IsoWeek.parse(str(job.payload["week"]))
        late = bool(job.payload.get("late"))
        if not self._plan.review_channel:
            log.warning("digest_without_review_channel", week=str(week))
            return
        with self._db.session() as session:
            digest = compute_digest(session, self._plan, week, late=late)
        message = ChatMessage(DIGEST_MESSAGE, summary_text(digest), DigestMessage(digest))
        room = self.channel_id()
        once = Once.for_job(job)
        self._platform.post(room, message, once=once)

        from bot.digest.chart import render_chart  # matplotlib: only where a chart is drawn

        name = chart_filename(str(week))
        chart = SharedFile(
            filename=name,
            content=render_chart(digest.current),
            title=name.removesuffix(".png"),
            comment=f"Chart: incidents per day and time to resolve, {week}",
            alt_text="Incidents per day by type and time-to-resolve distribution",
        )
        self._platform.share_file(room, chart, once=once)
        with self._db.session() as session:
            row = session.get(DigestRunRow, str(week))
            if row is not None and row.posted_at is None:
                row.posted_at = self._clock.now()
                session.add(row)
        log.info("digest_posted", week=str(week), late=late, channel=room)

    def channel_id(self) -> str:
        """The plan's review room (``#name`` looked up once per process)."""
        return self._platform.room_named(str(self._plan.review_channel))
