"""Outbox jobs of step 6: share a compiled post-mortem in the channel, show who published
it. (Archiving the channel on close is the core's job: :mod:`bot.incidents.archive`.)

**Upload** (one job per version, deduplicated by ``upload_postmortem:<n>:v<version>``):
the Markdown goes up as ``OOR-42-postmortem-v2.md``, then the summary message with the
**Publish** button follows. A retried job never shares twice: the file id is stored as
soon as Slack has the file, and a retry after a crash in between finds the file in the
room by its name; the summary is posted at most once per job.
"""

from __future__ import annotations

import structlog

from bot.chat.port import ChatMessage, ChatPlatform, Once, SharedFile
from bot.outbox.outcomes import NotReady, Permanent
from bot.postmortems import versions_store
from bot.postmortems.model import SUMMARY_MESSAGE, StoredPostmortem, SummaryMessage
from bot.storage import incidents as repo
from bot.storage.db import Database
from bot.storage.jobs import ClaimedJob

log = structlog.get_logger(__name__)


def summary_message(stored: StoredPostmortem, title: str) -> ChatMessage:
    text = f"{stored.key} post-mortem v{stored.version}: {title}"
    return ChatMessage(SUMMARY_MESSAGE, text, SummaryMessage(stored, title))


class PostmortemJobs:
    def __init__(self, db: Database, platform: ChatPlatform) -> None:
        self._db = db
        self._platform = platform

    def _load(self, job: ClaimedJob) -> tuple[StoredPostmortem, str, str]:
        postmortem_id = int(job.payload["postmortem_id"])
        with self._db.session() as session:
            stored = versions_store.postmortem_by_id(session, postmortem_id)
            incident = repo.snapshot(session, stored.incident_number) if stored else None
        if stored is None or incident is None:
            raise Permanent(job.kind, f"post-mortem {postmortem_id} not found")
        if incident.channel_id is None:
            raise NotReady("the incident channel is not created yet")
        return stored, incident.channel_id, incident.title

    def upload(self, job: ClaimedJob) -> None:
        stored, channel_id, title = self._load(job)
        once = Once.for_job(job)
        file_id = stored.file_id
        if file_id is None:
            file = SharedFile(
                filename=stored.filename,
                content=stored.markdown,
                title=f"{stored.key} post-mortem v{stored.version}",
            )
            file_id = self._platform.share_file(channel_id, file, once=once)
            with self._db.session() as session:
                versions_store.set_file_id(session, stored.id, file_id)
        self._platform.post(channel_id, summary_message(stored, title), once=once)

    def refresh_summary(self, job: ClaimedJob) -> None:
        """After Publish: the summary message says who published it, without the button."""
        stored, _channel, title = self._load(job)
        if stored.published_at is None:
            return
        self._platform.update(
            str(job.payload["channel_id"]), str(job.payload["ts"]), summary_message(stored, title)
        )
