"""The outbox jobs of a privacy change: open the new room and move the incident into it,
then leave the old room with a note and archive it.

``move_room`` opens a private (or public) room under the incident's channel name (the old
room still holds the plain name, so the next free one: ``…-2``), records it in place of the
old one only if the incident is still in the old room (compare and set), forgets the old
board and queues the room's setup again (responders, topic, bookmarks, the board) under
keys of this round, and ``leave_room``. A retry after a crash adopts the room it had
opened (the platform finds the bot's own room of that name and kind), so each move opens
one room, says one note and archives once.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from typing import Any

import structlog

from bot.chat import messages
from bot.chat.port import ChatMessage, ChatPlatform, Once, Room, RoomClosed
from bot.domain.clock import Clock
from bot.domain.incident import IncidentSnapshot
from bot.domain.naming import incident_channel_name
from bot.domain.records import TimelineNote, said
from bot.incidents import timeline
from bot.incidents.job_kinds import JobKind
from bot.incidents.room_setup import BOT, MAX_NAME_ATTEMPTS
from bot.incidents.timeline import notice_payload
from bot.outbox.outcomes import Permanent
from bot.privacy.service import LEAVE_ROOM, MOVE_ROOM
from bot.storage import incidents as repo
from bot.storage import jobs
from bot.storage.db import Database
from bot.storage.jobs import ClaimedJob
from bot.worker import JobHandler

log = structlog.get_logger(__name__)

# The room's setup, again, for the new room (the announcement is not repeated).
SETUP_AGAIN = (
    JobKind.INVITE_RESPONDERS,
    JobKind.DESCRIBE_CHANNEL,
    JobKind.POST_BOARD,
    JobKind.ADD_BOOKMARKS,
)


def leave_note(key: str, private: bool, new_room_name: str) -> str:
    """What the old room is told before it is archived (a private room's name is not said
    in a public room)."""
    if private:
        return (
            f"🔒 {key} is now a private incident: its work continues in a private channel "
            "with the plan's responders. This channel is archived."
        )
    return (
        f"{key} is public again: its work continues in #{new_room_name}. This channel is archived."
    )


class RoomMoves:
    def __init__(
        self,
        db: Database,
        platform: ChatPlatform,
        clock: Clock,
        on_enqueued: Callable[[], None] = lambda: None,
    ) -> None:
        self._db = db
        self._platform = platform
        self._clock = clock
        self._on_enqueued = on_enqueued

    def handlers(self) -> dict[str, JobHandler]:
        return {MOVE_ROOM: self.move_room, LEAVE_ROOM: self.leave_room}

    def _incident(self, job: ClaimedJob) -> IncidentSnapshot:
        assert job.incident_id is not None
        with self._db.session() as session:
            incident = repo.snapshot(session, job.incident_id)
        if incident is None:
            raise Permanent(job.kind, f"incident {job.incident_id} not found")
        return incident

    def move_room(self, job: ClaimedJob) -> None:
        from_room, private, round_ = _payload(job.payload)
        incident = self._incident(job)
        if incident.privacy_round != round_:
            return  # a later /oor private or /oor public supersedes this one
        if incident.channel_id == from_room:
            room = self._open_room(incident, private)
            self._record_move(incident.number, from_room, room, private)
            incident = self._incident(job)
        if incident.channel_id is None or incident.channel_id == from_room:
            raise Permanent(job.kind, f"{incident.key} did not move out of {from_room}")
        now = self._clock.now()
        with self._db.session() as session:
            for kind in SETUP_AGAIN:
                jobs.enqueue(
                    session,
                    kind,
                    now=now,
                    dedup_key=f"{kind}:{incident.number}:room{round_}",
                    incident_id=incident.number,
                )
            jobs.enqueue(
                session,
                LEAVE_ROOM,
                now=now,
                dedup_key=f"{LEAVE_ROOM}:{incident.number}:{round_}",
                incident_id=incident.number,
                payload={
                    "room": from_room,
                    "private": private,
                    "new_name": incident.channel_name or "",
                },
            )
        self._on_enqueued()

    def _open_room(self, incident: IncidentSnapshot, private: bool) -> Room:
        for attempt in range(MAX_NAME_ATTEMPTS):
            name = incident_channel_name(incident.number, incident.type, incident.title, attempt)
            room = self._platform.open_room(name, private=private)
            if room is not None:
                return room
        raise Permanent("open_room", "no free channel name")

    def _record_move(self, number: int, from_room: str, room: Room, private: bool) -> None:
        """Put ``room`` in place of ``from_room``, unless the incident left it already."""
        now = self._clock.now()
        with self._db.session() as session:
            row = repo.get_row(session, number, for_update=True)
            if row is None or row.channel_id != from_room:
                return
            row.channel_id, row.channel_name, row.board_ts = room.ref, room.name, None
            row.updated_at = now
            session.add(row)
            kind = "private" if private else "public"
            moved = said(f"Incident moved to a new {kind} channel #{room.name}")
            note = TimelineNote("channel", moved, announce=False)
            timeline.write(session, number, at=now, actor=BOT, note=note)
        log.info("incident_room_moved", incident=number, private=private)

    def leave_room(self, job: ClaimedJob) -> None:
        room = str(job.payload["room"])
        private = bool(job.payload.get("private"))
        incident = self._incident(job)
        text = leave_note(incident.key, private, str(job.payload.get("new_name", "")))
        payload = notice_payload(None, "status", said(text))
        note = ChatMessage(messages.NOTICE, text, payload)
        # Archived already (by an earlier attempt, or by hand): nothing more to tell.
        with suppress(RoomClosed):
            self._platform.post(room, note, once=Once.for_job(job))
        self._platform.archive(room)


def _payload(payload: dict[str, Any]) -> tuple[str, bool, int]:
    return str(payload["from"]), bool(payload["private"]), int(payload["round"])
