"""What the bot needs from a chat platform, in the platform's neutral terms.

The core (incident room setup, the board, notices, and the features' outbox jobs) talks to
a :class:`ChatPlatform`; Slack implements it in :mod:`bot.slack.platform`, a test-only
recorder in ``tests/chat_recorder.py``, and a second platform (Feishu/Lark) would sit
beside Slack as ``bot/<platform>/platform.py``.

Rooms, messages and files are opaque references (strings) to the core: storage keeps them
as the platform gave them (``channel_id``, ``board_ts``, ``message_ts``, ``file_id``).
What is posted is a :class:`ChatMessage` — a kind, typed data and a plain-text fallback —
that each platform renders its own way (Slack: Block Kit from ``bot/slack/views``).
Failures are the outbox's outcomes (:mod:`bot.outbox.outcomes`): adapters translate their
own errors, so a job handler never sees a platform's error codes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.domain.plan import ResponderRef
from bot.outbox.outcomes import Permanent


@dataclass(frozen=True)
class ChatMessage:
    """Something to say: ``kind`` picks the platform's renderer for ``data``; ``text`` is
    the plain-text fallback (notifications, screen readers, a platform without a renderer).
    """

    kind: str
    text: str
    data: Any = None

    def __post_init__(self) -> None:
        if not self.text:
            raise ValueError("every message needs a plain-text fallback")


class OutboxJob(Protocol):
    """What :meth:`Once.for_job` needs of an outbox job."""

    @property
    def id(self) -> int: ...

    @property
    def attempts(self) -> int: ...


@dataclass(frozen=True)
class Once:
    """Post at most once for ``key`` (an outbox job id): when ``maybe_done`` (a retry), the
    platform first looks for what an earlier attempt already posted or shared."""

    key: int
    maybe_done: bool

    @classmethod
    def for_job(cls, job: OutboxJob) -> Once:
        """Once per outbox job: any attempt after the first may follow one that posted and
        died before recording it."""
        return cls(job.id, job.attempts > 1)


@dataclass(frozen=True)
class Room:
    ref: str  # the platform's id for it (Slack: the channel id)
    name: str


@dataclass(frozen=True)
class SharedFile:
    filename: str  # unique enough that a retry recognises it in the room
    content: str | bytes
    title: str
    comment: str | None = None
    alt_text: str | None = None


@dataclass(frozen=True)
class People:
    """The plan's responder references as the platform's people."""

    ids: list[str] = field(default_factory=list)
    # (what the plan said, why it could not be used)
    unresolved: list[tuple[str, str]] = field(default_factory=list)


class RoomClosed(Permanent):
    """The room is archived (closed): it takes no more messages."""


class ChatPlatform(Protocol):
    # -- rooms -------------------------------------------------------------------------------
    def open_room(self, name: str, *, private: bool = False) -> Room | None:
        """Create a room called ``name`` (``private``: only those invited can find or read
        it), or adopt the bot's own open room of that name and kind (an attempt that died
        before recording it); None when someone else has the name."""
        ...

    def invite(self, room: str, people: Sequence[str]) -> list[tuple[str, str]]:
        """Add ``people`` (already-members are fine); (person, why) for those who could
        not be added."""
        ...

    def describe(self, room: str, topic: str, purpose: str) -> None: ...

    def bookmark(self, room: str, links: Sequence[tuple[str, str]]) -> None:
        """Add each (title, url) the room does not have yet; links the platform cannot take
        are skipped."""
        ...

    def archive(self, room: str) -> None:
        """Archive the room (already archived, or the bot no longer in it: nothing to do)."""
        ...

    def room_named(self, target: str) -> str:
        """The room the plan names (``#name`` or a platform id), as a reference the bot may
        post to (joining it if it has to)."""
        ...

    # -- messages ----------------------------------------------------------------------------
    def post(self, room: str, message: ChatMessage, *, once: Once | None = None) -> str:
        """Post ``message``; the message's reference. Raises :class:`RoomClosed` when the
        room is archived."""
        ...

    def update(self, room: str, message_ref: str, message: ChatMessage) -> None: ...

    def pin(self, room: str, message_ref: str) -> None:
        """Pin a message (already pinned is fine)."""
        ...

    def direct_message(self, person: str, message: ChatMessage, *, once: Once | None = None) -> str:
        """Message one person privately; the message's reference."""
        ...

    def share_file(self, room: str, file: SharedFile, *, once: Once | None = None) -> str:
        """Share a file in the room; the file's reference. With ``once`` on a retry, a file
        of the same name already in the room is taken as the earlier attempt's."""
        ...

    # -- people ------------------------------------------------------------------------------
    def resolve_people(self, refs: Iterable[ResponderRef]) -> People: ...

    def person_by_email(self, email: str) -> str | None:
        """The person with this email (a pager names people by email), or None."""
        ...

    def bot_person(self) -> str:
        """The bot's own id on the platform (never invited, never reminded)."""
        ...

    def room_link(self, room: str) -> str | None:
        """A web address that opens the room (from a pager's phone app, say), or None."""
        ...

    def display_name(self, person: str) -> str | None:
        """The person's name ("" if they have none), or None when the platform cannot say."""
        ...


MAX_NAME_LOOKUPS = 30


class DisplayNames:
    """People's names for ids, as the platform knows them (a post-mortem names people)."""

    def __init__(self, platform: ChatPlatform) -> None:
        self._platform = platform

    def __call__(self, people: Iterable[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for person in list(people)[:MAX_NAME_LOOKUPS]:
            name = self._platform.display_name(person)
            if name:
                found[person] = name
        return found
