"""The one way to write a timeline entry and announce it in the incident's room.

Every writer in a session (step changes, notifications, the post-mortem, snoozes) calls
:func:`write`: the entry is stored through :mod:`bot.storage.timeline` (one truncation),
and when the note is announced, its notice is queued in the same transaction under the
one dedup key ``post_notice:<incident>:timeline:<entry>`` — once per entry, whatever
retries. The notice carries the sentence as data, never markup: the platform renders it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.domain.records import Sentence, TimelineNote, clip
from bot.incidents.job_kinds import JobKind
from bot.storage import jobs
from bot.storage import timeline as store


def notice_payload(actor: str | None, kind: str, sentence: Sentence) -> dict[str, Any]:
    """A ``post_notice`` job's payload: who, what kind, and the sentence's parts (the
    plain ``text`` too, for logs and a platform without a renderer)."""
    return {"actor": actor, "kind": kind, "said": sentence.to_json(), "text": sentence.plain()}


def notice_key(incident_id: int, entry_id: int) -> str:
    return once_key(incident_id, f"timeline:{entry_id}")


def once_key(incident_id: int, once: str) -> str:
    """The dedup key of an incident's notice that is said once whatever retries."""
    return f"{JobKind.POST_NOTICE}:{incident_id}:{once}"[:200]


def write(
    session: Session,
    incident_id: int,
    *,
    at: datetime,
    actor: str,
    note: TimelineNote,
    once: str | None = None,
) -> int | None:
    """Store ``note`` as the incident's timeline entry, and queue its notice when it is
    announced; the entry's id. The caller commits (and wakes the outbox afterwards).

    ``once``: a caller's key for something that happens once whatever retries (an outside
    system's event, say): the notice is queued under it, and when it was queued already
    nothing is written and None is returned."""
    if once is not None:
        added = jobs.enqueue(
            session,
            JobKind.POST_NOTICE,
            now=at,
            dedup_key=once_key(incident_id, once),
            incident_id=incident_id,
            payload=notice_payload(actor, note.kind, clip(note.said, store.TEXT_LIMIT)),
        )
        if not added:
            return None
        note = replace(note, announce=False)
    entry_id = store.add_entry(
        session, incident_id, at=at, actor=actor, kind=note.kind, sentence=note.said,
        facts=note.facts,
    )  # fmt: skip
    if note.announce:
        sentence = clip(note.said, store.TEXT_LIMIT)
        jobs.enqueue(
            session,
            JobKind.POST_NOTICE,
            now=at,
            dedup_key=notice_key(incident_id, entry_id),
            incident_id=incident_id,
            payload=notice_payload(actor, note.kind, sentence),
        )
    return entry_id
