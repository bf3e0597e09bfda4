"""``/oor private`` and ``/oor public``: turning an open incident's privacy around.

The request is one transaction on the locked incident: the flag flips, ``privacy_round``
counts the move, the timeline says who did it, and one ``move_room`` outbox job is queued
under a key unique to that round. The job (:mod:`bot.privacy.moves`) then opens the new
room and moves the work there, so however often it is retried or raced the room moves once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.domain.clock import Clock
from bot.domain.lifecycle import CommandRefused
from bot.domain.records import TimelineNote, said
from bot.domain.types import IncidentStatus, incident_key
from bot.incidents import timeline
from bot.storage import incidents as repo
from bot.storage import jobs
from bot.storage.db import Database

MOVE_ROOM = "move_room"  # open the new room and move the incident into it
LEAVE_ROOM = "leave_room"  # a note in the old room, then archive it


@dataclass(frozen=True)
class MoveRequest:
    """What ``move_room`` is given: the room to leave, which kind of room to open, and the
    round the request made (a later request supersedes it)."""

    number: int
    from_room: str
    private: bool
    round: int

    def payload(self) -> dict[str, object]:
        return {"from": self.from_room, "private": self.private, "round": self.round}


class PrivacyService:
    def __init__(self, db: Database, clock: Clock, on_enqueued: Callable[[], None]) -> None:
        self._db = db
        self._clock = clock
        self._on_enqueued = on_enqueued

    def change(self, number: int, actor: str, *, private: bool) -> str:
        """Make the incident private (or public); the reply for whoever asked."""
        key = incident_key(number)
        now = self._clock.now()
        with self._db.session() as session:
            row = repo.get_row(session, number, for_update=True)
            if row is None:
                raise CommandRefused(f"There is no incident {key}.")
            if row.status == IncidentStatus.CLOSED.value:
                raise CommandRefused(f"{key} is closed; reopen it first.")
            if bool(row.private) == private:
                return f"{key} is already {'private' if private else 'public'}."
            if row.channel_id is None:
                raise CommandRefused(f"{key}'s channel is not created yet; try again in a moment.")
            row.private = private
            row.privacy_round += 1
            row.updated_at = now
            session.add(row)
            request = MoveRequest(number, row.channel_id, private, row.privacy_round)
            text = (
                "made the incident private: it moves to a private channel with its responders"
                if private
                else "made the incident public again: it moves to a new public channel"
            )
            # Not announced: the old room gets its own note just before it is archived.
            note = TimelineNote("privacy", said(text), announce=False)
            timeline.write(session, number, at=now, actor=actor, note=note)
            jobs.enqueue(
                session,
                MOVE_ROOM,
                now=now,
                dedup_key=f"{MOVE_ROOM}:{number}:{request.round}",
                incident_id=number,
                payload=request.payload(),
            )
        self._on_enqueued()
        if private:
            return (
                f"{key} is now private. A private channel is being created for the plan's "
                "responders and whoever holds a role; this channel will be archived."
            )
        return (
            f"{key} is public again. A new public channel is being created; "
            "this one will be archived."
        )
