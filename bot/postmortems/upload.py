"""Outbox jobs of step 6: share a compiled post-mortem in the channel, show who published
it, archive the channel on close.

**Upload** (one job per version, deduplicated by ``upload_postmortem:<n>:v<version>``):
the Markdown goes up as ``OOR-42-postmortem-v2.md``, then the summary message with the
**Publish** button follows. A retried job never shares twice: the file id is stored as
soon as Slack has the file, and a retry after a crash in between finds the file in the
channel's history by its name; the summary is posted with :func:`post_once`.

**Archive** (``archive_channel``, enqueued when an incident closes): only when the plan
says ``archive_channel_on_close: true``, and only after the incident's other jobs (the
"closed" notice, the last board refresh, a post-mortem upload) have run — an archived
channel takes no more posts.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import structlog

from bot.domain.types import IncidentStatus
from bot.outbox.outcomes import NotReady
from bot.postmortems import store
from bot.postmortems.model import StoredPostmortem
from bot.postmortems.views import build_summary_message
from bot.slack.gateway import SlackCallError, SlackGateway, SlackPermanent
from bot.slack.posting import post_once
from bot.storage import incidents as repo
from bot.storage.db import Database
from bot.storage.jobs import ClaimedJob

log = structlog.get_logger(__name__)

HISTORY_LOOKBACK = 200


def find_shared_file(gateway: SlackGateway, channel_id: str, filename: str) -> str | None:
    """The id of a file named ``filename`` the bot already shared in the channel."""
    data = gateway.call("conversations.history", channel=channel_id, limit=HISTORY_LOOKBACK)
    for message in data.get("messages", []):
        for file in message.get("files") or []:
            if file.get("name") == filename and file.get("id"):
                return str(file["id"])
    return None


class PostmortemJobs:
    def __init__(
        self, db: Database, gateway: SlackGateway, tz: ZoneInfo, archive_on_close: bool
    ) -> None:
        self._db = db
        self._gateway = gateway
        self._tz = tz
        self._archive_on_close = archive_on_close

    def _load(self, job: ClaimedJob) -> tuple[StoredPostmortem, str, str]:
        postmortem_id = int(job.payload["postmortem_id"])
        with self._db.session() as session:
            stored = store.postmortem_by_id(session, postmortem_id)
            incident = repo.snapshot(session, stored.incident_number) if stored else None
        if stored is None or incident is None:
            raise SlackPermanent(job.kind, f"post-mortem {postmortem_id} not found")
        if incident.channel_id is None:
            raise NotReady("the incident channel is not created yet")
        return stored, incident.channel_id, incident.title

    def upload(self, job: ClaimedJob) -> None:
        stored, channel_id, title = self._load(job)
        file_id = stored.file_id
        if file_id is None and job.attempts > 1:
            file_id = find_shared_file(self._gateway, channel_id, stored.filename)
        if file_id is None:
            shared = self._gateway.upload_file(
                channel_id=channel_id,
                content=stored.markdown,
                filename=stored.filename,
                title=f"{stored.key} post-mortem v{stored.version}",
            )
            file_id = str(shared["files"][0]["id"])
        if stored.file_id is None:
            with self._db.session() as session:
                store.set_file_id(session, stored.id, file_id)
        post_once(self._gateway, channel_id, build_summary_message(stored, title, self._tz), job)

    def refresh_summary(self, job: ClaimedJob) -> None:
        """After Publish: the summary message says who published it, without the button."""
        stored, _channel, title = self._load(job)
        if stored.published_at is None:
            return
        message = build_summary_message(stored, title, self._tz)
        self._gateway.call(
            "chat.update",
            channel=str(job.payload["channel_id"]),
            ts=str(job.payload["ts"]),
            **message.as_args(),
        )

    def archive(self, job: ClaimedJob) -> None:
        if not self._archive_on_close:
            return
        assert job.incident_id is not None
        with self._db.session() as session:
            incident = repo.snapshot(session, job.incident_id)
            waiting = store.other_pending_jobs(session, job.incident_id, job.id)
        if incident is None or incident.channel_id is None:
            return  # closed before its channel existed: nothing to archive
        if incident.status is not IncidentStatus.CLOSED:
            return  # reopened meanwhile: people still work in the channel
        if waiting:
            raise NotReady(f"{waiting} job(s) of {incident.key} still to post", 1.0)
        try:
            self._gateway.call("conversations.archive", channel=incident.channel_id)
        except SlackCallError as exc:
            if exc.error == "already_archived":
                return
            if exc.error == "not_in_channel":
                log.warning("archive_skipped_not_in_channel", incident=incident.key)
                return
            raise
        log.info("incident_channel_archived", incident=incident.key)
