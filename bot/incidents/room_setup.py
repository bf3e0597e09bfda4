"""Opening an incident's room: the outbox job handlers, one per side effect.

Every handler reads the incident fresh from the database, does one idempotent piece of
work on the chat platform (through :class:`bot.chat.port.ChatPlatform`) and records what it
learned (the room, the board's message) through the incidents repository. Any of them can
be retried, on any replica, after any crash.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog

from bot.chat import messages
from bot.chat.port import ChatMessage, ChatPlatform, Once, Room
from bot.domain.clock import Clock, in_zone, utc_offset_label
from bot.domain.incident import IncidentSnapshot
from bot.domain.naming import incident_channel_name
from bot.domain.plan import Plan
from bot.domain.records import Part, Person, Sentence, TimelineNote, said
from bot.domain.types import Role
from bot.incidents import timeline
from bot.incidents.event_summary import EventSummaries
from bot.incidents.job_kinds import AFTER_CHANNEL_CREATED, JobKind
from bot.incidents.timeline import notice_payload
from bot.outbox.outcomes import NotReady, Permanent
from bot.storage import incidents as repo
from bot.storage import jobs
from bot.storage.db import Database
from bot.storage.jobs import ClaimedJob
from bot.worker import JobHandler

log = structlog.get_logger(__name__)

# The actor of what the bot does by itself (not a person: no mention).
BOT = "oor-bot"
MAX_NAME_ATTEMPTS = 20


class ChannelSetup:
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
        self._summaries = EventSummaries(db, platform, plan, clock, on_enqueued)

    def handlers(self) -> dict[str, JobHandler]:
        return {
            JobKind.CREATE_CHANNEL: self.create_channel,
            JobKind.INVITE_RESPONDERS: self.invite_responders,
            JobKind.DESCRIBE_CHANNEL: self.describe_channel,
            JobKind.ADD_BOOKMARKS: self.add_bookmarks,
            JobKind.POST_BOARD: self.post_board,
            JobKind.ANNOUNCE: self.announce,
            JobKind.POST_NOTICE: self.post_notice,
            JobKind.REFRESH_BOARD: self.refresh_board,
            JobKind.REFRESH_BOARD_EVENTS: self.refresh_board,
            **self._summaries.handlers(),
        }

    # -- helpers -----------------------------------------------------------------
    def _incident(self, job: ClaimedJob) -> IncidentSnapshot:
        assert job.incident_id is not None
        with self._db.session() as session:
            incident = repo.snapshot(session, job.incident_id)
        if incident is None:
            raise Permanent(job.kind, f"incident {job.incident_id} not found")
        return incident

    def _channel_of(self, job: ClaimedJob) -> tuple[IncidentSnapshot, str]:
        incident = self._incident(job)
        if incident.channel_id is None:
            raise NotReady("the incident channel is not created yet")
        return incident, incident.channel_id

    def _timeline(self, incident_id: int, kind: str, text: str) -> None:
        with self._db.session() as session:
            note = TimelineNote(kind, said(text), announce=False)
            timeline.write(session, incident_id, at=self._clock.now(), actor=BOT, note=note)

    def _notice(self, incident_id: int, key: str, sentence: Sentence) -> None:
        """Say something in the incident channel, once (its own job, own retries)."""
        with self._db.session() as session:
            jobs.enqueue(
                session,
                JobKind.POST_NOTICE,
                now=self._clock.now(),
                dedup_key=timeline.once_key(incident_id, key),
                incident_id=incident_id,
                payload=notice_payload(None, "responders", sentence),
            )
        self._on_enqueued()

    # -- the room --------------------------------------------------------------------
    def create_channel(self, job: ClaimedJob) -> None:
        incident = self._incident(job)
        if incident.channel_id is None:
            room = self._open_room(incident)
            with self._db.session() as session:
                now = self._clock.now()
                if repo.record_room(session, incident.number, room.ref, room.name, now):
                    created = said(f"Incident channel #{room.name} created")
                    note = TimelineNote("channel", created, announce=False)
                    timeline.write(session, incident.number, at=now, actor=BOT, note=note)
        # Enqueueing is idempotent, so a retried job after a crash just finds them there.
        with self._db.session() as session:
            for kind in AFTER_CHANNEL_CREATED:
                jobs.enqueue(
                    session,
                    kind,
                    now=self._clock.now(),
                    dedup_key=f"{kind}:{incident.number}",
                    incident_id=incident.number,
                )
        self._on_enqueued()

    def _open_room(self, incident: IncidentSnapshot) -> Room:
        for attempt in range(MAX_NAME_ATTEMPTS):
            name = incident_channel_name(incident.number, incident.type, incident.title, attempt)
            room = self._platform.open_room(name, private=incident.private)
            if room is not None:
                return room
        raise Permanent("open_room", "no free channel name")

    def invite_responders(self, job: ClaimedJob) -> None:
        incident, channel_id = self._channel_of(job)
        resolution = self._platform.resolve_people(self._plan.all_responder_refs(incident.type))
        bot = self._platform.bot_person()
        users = [u for u in resolution.ids if u != bot]
        # Whoever holds a role already (a room moved by /oor private or public keeps the
        # people working the incident).
        users += [u for u in dict.fromkeys(incident.roles.values()) if u not in users and u != bot]
        if incident.private:
            pass  # only those: not its declarer, not onlookers
        elif incident.source == "slack" and incident.origin and incident.origin not in users:
            users.append(incident.origin)  # whoever declared it by hand joins too
        refused = self._platform.invite(channel_id, users)
        failures: list[tuple[Part, str]] = [
            *resolution.unresolved,
            *((Person(who), why) for who, why in refused),
        ]
        self._timeline(
            incident.number,
            "responders",
            f"{len(users)} responders from the plan are in the channel"
            + (f"; {len(failures)} could not be added" if failures else ""),
        )
        if failures:
            listed: list[Part | Sentence] = []
            for who, why in failures:
                listed += [", " if listed else "", who, f" ({why})"]
            self._notice(
                incident.number,
                "invite-failures",
                said(
                    "⚠️ Could not add these responders named in the plan: ",
                    *listed,
                    ". Please add them by hand and fix the plan.",
                ),
            )

    def describe_channel(self, job: ClaimedJob) -> None:
        incident, channel_id = self._channel_of(job)
        opened = in_zone(incident.opened_at, self._plan.tz)
        topic = (
            f"{incident.severity.label} {incident.type.label} · {incident.title} · {incident.key}"
        )
        purpose = (
            f"{incident.key}: {incident.type.label} ({incident.type.label_zh}) opened "
            f"{opened.strftime('%Y-%m-%d %H:%M')} {utc_offset_label(opened)} "
            f"from {incident.origin or incident.source}. Work it with /oor."
        )
        self._platform.describe(channel_id, topic, purpose)

    def add_bookmarks(self, job: ClaimedJob) -> None:
        incident, channel_id = self._channel_of(job)
        wanted: list[tuple[str, str]] = []
        if incident.url:
            wanted.append(("Alert source", incident.url))
        runbook = self._plan.for_type(incident.type).runbook_url
        if runbook:
            wanted.append((f"Runbook: {incident.type.label}", str(runbook)))
        self._platform.bookmark(channel_id, wanted)

    # -- the board ---------------------------------------------------------------------
    @staticmethod
    def _board(incident: IncidentSnapshot) -> ChatMessage:
        text = f"{incident.key} {incident.severity.label} {incident.type.label}: {incident.title}"
        return ChatMessage(messages.BOARD, text, incident)

    def post_board(self, job: ClaimedJob) -> None:
        incident, channel_id = self._channel_of(job)
        ts = incident.board_ts
        if ts is None:
            ts = self._platform.post(channel_id, self._board(incident), once=Once.for_job(job))
            with self._db.session() as session:
                ts = repo.record_board(session, incident.number, ts)
        self._platform.pin(channel_id, ts)

    def refresh_board(self, job: ClaimedJob) -> None:
        incident = self._incident(job)
        if incident.channel_id is None or incident.board_ts is None:
            return  # the board is not posted yet; when it is, it shows the current state
        self._platform.update(incident.channel_id, incident.board_ts, self._board(incident))

    # -- messages ------------------------------------------------------------------------
    def post_notice(self, job: ClaimedJob) -> None:
        # Frequent (every step change says so in the channel): it reads only the channel id.
        assert job.incident_id is not None
        with self._db.engine.connect() as conn:
            try:
                channel_id = repo.channel_id_of(conn, job.incident_id)
            except LookupError:
                raise Permanent(job.kind, f"incident {job.incident_id} not found") from None
        if channel_id is None:
            raise NotReady("the incident channel is not created yet")
        text = str(job.payload.get("text", "")) or "·"
        message = ChatMessage(messages.NOTICE, text, dict(job.payload))
        self._platform.post(channel_id, message, once=Once.for_job(job))

    def _private_announcement(self, incident: IncidentSnapshot) -> ChatMessage:
        commander = incident.roles.get(Role.COMMANDER)
        if commander is None:
            planned = self._plan.for_type(incident.type).responders.get(Role.COMMANDER, [])
            found = self._platform.resolve_people(planned[:1]).ids
            commander = found[0] if found else None
        text = f"A private incident {incident.key} was opened" + (
            f"; its commander is @{commander}" if commander else ""
        )
        return ChatMessage(
            messages.PRIVATE_ANNOUNCEMENT,
            text,
            messages.PrivateAnnouncement(incident.key, commander),
        )

    def announce(self, job: ClaimedJob) -> None:
        target = self._plan.broadcast_channel
        if not target:
            return
        incident, channel_id = self._channel_of(job)
        room = self._platform.room_named(str(target))
        if incident.private:
            self._platform.post(room, self._private_announcement(incident), once=Once.for_job(job))
            return
        message = ChatMessage(
            messages.ANNOUNCEMENT,
            f"{incident.key} {incident.severity.label} {incident.type.label} — {incident.title}",
            messages.Announcement(incident, channel_id),
        )
        self._platform.post(room, message, once=Once.for_job(job))
