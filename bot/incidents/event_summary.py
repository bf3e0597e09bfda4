"""The summary of an incident's monitoring events: one channel line per window.

The ingest counts every grouped or recovered event on its incident and enqueues one
delayed, coalesced :attr:`JobKind.SUMMARIZE_EVENTS` job per incident and window. The job
takes the pending tally, zeroing it, writes the timeline entry and records the tally in
its own payload, all in one transaction; only then does it post. A retry finds the tally
in its payload and posts the same line (or, via the message metadata naming the job, finds
the line it already posted), so each event is told exactly once whatever fails where.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog

from bot.chat import messages
from bot.chat.port import ChatMessage, ChatPlatform, Once, RoomClosed
from bot.domain.clock import Clock
from bot.domain.event_tally import SUMMARY_WINDOW, EventTally, tally_sentence
from bot.domain.plan import Plan
from bot.incidents.job_kinds import JobKind
from bot.outbox.outcomes import NotReady, Permanent
from bot.storage import event_tally, jobs
from bot.storage import incidents as repo
from bot.storage.db import Database
from bot.storage.jobs import ClaimedJob
from bot.worker import JobHandler

log = structlog.get_logger(__name__)

SUMMARY_ACTOR = "monitoring"  # who the timeline says it was: the monitors, not a person
_TALLY = "tally"  # the job payload's key for the tally it took


class EventSummaries:
    def __init__(
        self,
        db: Database,
        platform: ChatPlatform,
        plan: Plan,
        clock: Clock,
        on_enqueued: Callable[[], None] = lambda: None,
    ) -> None:
        self._db = db
        self._platform = platform
        self._plan = plan
        self._clock = clock
        self._on_enqueued = on_enqueued

    def handlers(self) -> dict[str, JobHandler]:
        return {JobKind.SUMMARIZE_EVENTS: self.summarize}

    def summarize(self, job: ClaimedJob) -> None:
        assert job.incident_id is not None
        number = job.incident_id
        with self._db.engine.connect() as conn:
            try:
                channel_id = repo.channel_id_of(conn, number)
            except LookupError:
                raise Permanent(job.kind, f"incident {number} not found") from None
        if channel_id is None:
            # The tally keeps growing meanwhile; the first summary tells all of it.
            raise NotReady("the incident channel is not created yet")
        taken = job.payload.get(_TALLY)
        tally = EventTally.from_json(taken) if isinstance(taken, dict) else self._take(job)
        if tally is None:
            return  # nothing pending: an earlier summary took it
        sentence = tally_sentence(tally, self._plan.tz)
        message = ChatMessage(messages.EVENT_SUMMARY, sentence, sentence)
        try:
            self._platform.post(channel_id, message, once=Once.for_job(job))
        except RoomClosed:
            # Closed and archived meanwhile: the timeline has the summary, nobody reads here.
            log.info("event_summary_channel_archived", incident=number)
            return
        self._again_if_pending(number)

    def _take(self, job: ClaimedJob) -> EventTally | None:
        assert job.incident_id is not None
        with self._db.engine.begin() as conn:
            tally = event_tally.take_event_tally(conn, job.incident_id)
            if tally is None:
                return None
            repo.insert_timeline(
                conn,
                job.incident_id,
                at=tally.last_at,
                actor=SUMMARY_ACTOR,
                kind="events",
                text=tally_sentence(tally, self._plan.tz),
                data=tally.to_json(),
            )
            jobs.set_payload(conn, job.id, {**job.payload, _TALLY: tally.to_json()})
        return tally

    def _again_if_pending(self, number: int) -> None:
        """Events that arrived while this job was put back for a retry found it waiting and
        were absorbed by it, but its tally was already taken: they get a summary of their
        own, a window from now."""
        with self._db.engine.begin() as conn:
            if not event_tally.has_pending_events(conn, number):
                return
            row = jobs.coalesced_job_values(
                JobKind.SUMMARIZE_EVENTS, now=self._clock.now(), incident_id=number,
                delay=SUMMARY_WINDOW,
            )  # fmt: skip
            added = jobs.insert_jobs(conn, [row])
        if added:
            self._on_enqueued()
