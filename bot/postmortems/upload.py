"""Outbox jobs of step 6: share a compiled post-mortem in the channel, show who published
it, archive the channel on close.

**Upload** (one job per version, deduplicated by ``upload_postmortem:<n>:v<version>``):
the Markdown goes up as ``OOR-42-postmortem-v2.md``, then the summary message with the
**Publish** button follows. A retried job never shares twice: the file id is stored as
soon as Slack has the file, and a retry after a crash in between finds the file in the
room by its name; the summary is posted at most once per job.

**Archive** (``archive_channel``, enqueued when an incident closes): only when the plan
says ``archive_channel_on_close: true``, and only after the incident's other jobs (the
"closed" notice, the last board refresh, a post-mortem upload) have run — an archived
channel takes no more posts.
"""

from __future__ import annotations

import structlog

from bot.chat.port import ChatMessage, ChatPlatform, Once, SharedFile
from bot.domain.types import IncidentStatus
from bot.outbox.outcomes import NotReady, Permanent
from bot.postmortems import versions_store
from bot.postmortems.model import SUMMARY_MESSAGE, StoredPostmortem, SummaryMessage
from bot.storage import incidents as repo
from bot.storage import jobs
from bot.storage.db import Database
from bot.storage.jobs import ClaimedJob

log = structlog.get_logger(__name__)


def summary_message(stored: StoredPostmortem, title: str) -> ChatMessage:
    text = f"{stored.key} post-mortem v{stored.version}: {title}"
    return ChatMessage(SUMMARY_MESSAGE, text, SummaryMessage(stored, title))


class PostmortemJobs:
    def __init__(self, db: Database, platform: ChatPlatform, archive_on_close: bool) -> None:
        self._db = db
        self._platform = platform
        self._archive_on_close = archive_on_close

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

    def archive(self, job: ClaimedJob) -> None:
        if not self._archive_on_close:
            return
        assert job.incident_id is not None
        with self._db.session() as session:
            incident = repo.snapshot(session, job.incident_id)
            waiting = jobs.pending_for_incident(session, job.incident_id, besides=job.id)
        if incident is None or incident.channel_id is None:
            return  # closed before its channel existed: nothing to archive
        if incident.status is not IncidentStatus.CLOSED:
            return  # reopened meanwhile: people still work in the channel
        if waiting:
            raise NotReady(f"{waiting} job(s) of {incident.key} still to post", 1.0)
        self._platform.archive(incident.channel_id)
        log.info("incident_channel_archived", incident=incident.key)
