"""A test-only chat platform: it records what the bot asked of it, and nothing else.

No Slack, no Slack emulator: if the whole incident runs against this, the core and the
features reach the chat platform only through :class:`bot.chat.port.ChatPlatform`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.chat.port import ChatMessage, Once, People, Room, RoomClosed, SharedFile
from bot.domain.plan import ResponderRef

BOT = "BOT"


@dataclass
class RecordedRoom:
    ref: str
    name: str
    members: set[str] = field(default_factory=set)
    topic: str = ""
    purpose: str = ""
    bookmarks: list[tuple[str, str]] = field(default_factory=list)
    pinned: set[str] = field(default_factory=set)
    archived: bool = False
    private: bool = False


@dataclass
class Posted:
    ref: str
    room: str
    message: ChatMessage
    once: int | None
    history: list[ChatMessage] = field(default_factory=list)  # earlier versions (updates)


@dataclass
class Shared:
    ref: str
    room: str
    file: SharedFile


class ChatRecorder:
    """Implements the port in memory. ``emails`` and ``groups`` are its directory."""

    def __init__(
        self,
        emails: dict[str, str] | None = None,
        groups: dict[str, list[str]] | None = None,
        names: dict[str, str] | None = None,
    ) -> None:
        self._emails = {k.lower(): v for k, v in (emails or {}).items()}
        self._groups = {k.lower(): v for k, v in (groups or {}).items()}
        self._names = names or {}
        self._lock = threading.Lock()
        self.rooms: dict[str, RecordedRoom] = {}
        self.messages: list[Posted] = []
        self.files: list[Shared] = []
        self.calls: list[tuple[str, Any]] = []  # (operation, what it was about), in order

    # -- what tests read -------------------------------------------------------------------
    def room_named(self, target: str) -> str:
        name = target.removeprefix("#")
        with self._lock:
            self.calls.append(("room_named", target))
            for room in self.rooms.values():
                if room.name == name:
                    return room.ref
            ref = f"R{len(self.rooms) + 1}"
            self.rooms[ref] = RecordedRoom(ref, name, members={BOT})
            return ref

    def in_room(self, room: str, kind: str | None = None) -> list[ChatMessage]:
        return [
            p.message
            for p in self.messages
            if p.room == room and (kind is None or p.message.kind == kind)
        ]

    def operations(self) -> list[str]:
        return [operation for operation, _ in self.calls]

    # -- rooms -------------------------------------------------------------------------------
    def open_room(self, name: str, *, private: bool = False) -> Room | None:
        with self._lock:
            self.calls.append(("open_room", name))
            for room in self.rooms.values():
                if room.name == name:
                    if room.archived or room.private != private:
                        return None
                    return Room(room.ref, room.name)
            ref = f"R{len(self.rooms) + 1}"
            self.rooms[ref] = RecordedRoom(ref, name, members={BOT}, private=private)
            return Room(ref, name)

    def invite(self, room: str, people: Sequence[str]) -> list[tuple[str, str]]:
        with self._lock:
            self.calls.append(("invite", (room, tuple(people))))
            self.rooms[room].members.update(people)
        return []

    def describe(self, room: str, topic: str, purpose: str) -> None:
        with self._lock:
            self.calls.append(("describe", room))
            self.rooms[room].topic, self.rooms[room].purpose = topic, purpose

    def bookmark(self, room: str, links: Sequence[tuple[str, str]]) -> None:
        with self._lock:
            self.calls.append(("bookmark", room))
            have = self.rooms[room].bookmarks
            have.extend(link for link in links if link not in have)

    def archive(self, room: str) -> None:
        with self._lock:
            self.calls.append(("archive", room))
            self.rooms[room].archived = True

    # -- messages ----------------------------------------------------------------------------
    def post(self, room: str, message: ChatMessage, *, once: Once | None = None) -> str:
        with self._lock:
            self.calls.append(("post", (room, message.kind)))
            if room in self.rooms and self.rooms[room].archived:
                raise RoomClosed("post", "is_archived")
            if once is not None:
                for posted in self.messages:
                    if posted.room == room and posted.once == once.key:
                        return posted.ref  # an earlier attempt of the same job
            ref = f"M{len(self.messages) + 1}"
            self.messages.append(Posted(ref, room, message, once.key if once else None))
            return ref

    def update(self, room: str, message_ref: str, message: ChatMessage) -> None:
        with self._lock:
            self.calls.append(("update", (room, message.kind)))
            [posted] = [p for p in self.messages if p.ref == message_ref and p.room == room]
            posted.history.append(posted.message)
            posted.message = message

    def pin(self, room: str, message_ref: str) -> None:
        with self._lock:
            self.calls.append(("pin", (room, message_ref)))
            self.rooms[room].pinned.add(message_ref)

    def direct_message(self, person: str, message: ChatMessage, *, once: Once | None = None) -> str:
        return self.post(f"DM:{person}", message, once=once)

    def share_file(self, room: str, file: SharedFile, *, once: Once | None = None) -> str:
        with self._lock:
            self.calls.append(("share_file", (room, file.filename)))
            for shared in self.files:
                if shared.room == room and shared.file.filename == file.filename:
                    return shared.ref
            ref = f"F{len(self.files) + 1}"
            self.files.append(Shared(ref, room, file))
            return ref

    # -- people ------------------------------------------------------------------------------
    def resolve_people(self, refs: Iterable[ResponderRef]) -> People:
        found: list[str] = []
        unresolved: list[tuple[str, str]] = []
        for ref in refs:
            if ref.kind == "user":
                ids = [ref.value]
            elif ref.kind == "email":
                ids = [self._emails[ref.value.lower()]] if ref.value.lower() in self._emails else []
            else:
                ids = self._groups.get(ref.value.lower(), [])
            if not ids:
                unresolved.append((ref.value, "unknown"))
            found.extend(person for person in ids if person not in found)
        return People(found, unresolved)

    def person_by_email(self, email: str) -> str | None:
        return self._emails.get(email.strip().lower())

    def bot_person(self) -> str:
        return BOT

    def room_link(self, room: str) -> str | None:
        return f"https://chat.example/rooms/{room}"

    def display_name(self, person: str) -> str | None:
        return self._names.get(person)
