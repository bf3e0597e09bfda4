"""The core's ``archive_channel`` job, queued by the incident service when an incident
closes: archive its room, when the plan says ``archive_channel_on_close: true``.

Only after the incident's other jobs (the "closed" notice, the last board refresh, a
feature's last post such as a post-mortem upload) have run — an archived room takes no
more posts. A job parked for a person (``needs_attention``) is not waited for.
"""

from __future__ import annotations

import structlog

from bot.chat.port import ChatPlatform
from bot.domain.types import IncidentStatus
from bot.incidents.job_kinds import JobKind
from bot.outbox.outcomes import NotReady
from bot.storage import incidents as repo
from bot.storage import jobs
from bot.storage.db import Database
from bot.storage.jobs import ClaimedJob
from bot.worker import JobHandler

log = structlog.get_logger(__name__)

# Waiting for the incident's other jobs: retried this soon.
RECHECK_SECONDS = 1.0


class RoomArchiver:
    def __init__(self, db: Database, platform: ChatPlatform, archive_on_close: bool) -> None:
        self._db = db
        self._platform = platform
        self._archive_on_close = archive_on_close

    def handlers(self) -> dict[str, JobHandler]:
        return {JobKind.ARCHIVE_CHANNEL: self.archive}

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
            raise NotReady(f"{waiting} job(s) of {incident.key} still to post", RECHECK_SECONDS)
        self._platform.archive(incident.channel_id)
        log.info("incident_channel_archived", incident=incident.key)
