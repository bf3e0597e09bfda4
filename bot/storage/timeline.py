"""Timeline rows: a record in, a :class:`~bot.domain.incident.TimelineEntry` out.

A row keeps its sentence twice: ``text`` is the plain text with people by id (what SQL,
exports and old readers see), and where the sentence names people ``data["said"]`` holds
its parts (``["made ", {"person": "U1"}, " the tech lead"]``) so each surface can render
them its way. The rest of ``data`` is the entry's typed facts (step, role, event id…).
Rows from before records (migration 0010 parsed their mentions) read the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Table, Text, cast
from sqlalchemy import select as core_select
from sqlalchemy.engine import Connection
from sqlmodel import Session

from bot.domain.incident import TimelineEntry
from bot.domain.records import Sentence, clip, said
from bot.storage.models import TimelineRow

TEXT_LIMIT = 4000  # the ``text`` column's size: longer sentences are cut, with "…"
SAID = "said"  # the key of the sentence's parts in ``data``
TIMELINE: Table = TimelineRow.__table__  # type: ignore[attr-defined]
_INSERT = TIMELINE.insert()


def timeline_values(
    incident_id: int,
    *,
    at: datetime,
    actor: str,
    kind: str,
    sentence: Sentence,
    facts: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The column values of one entry: every writer stores its sentence this way."""
    sentence = clip(sentence, TEXT_LIMIT)
    data = {k: v for k, v in (facts or {}).items() if k != SAID}
    if sentence.people():
        data[SAID] = sentence.to_json()
    return {
        "incident_id": incident_id,
        "at": at,
        "actor": actor[:100],
        "kind": kind,
        "text": sentence.plain()[:TEXT_LIMIT],
        "data": data,
    }


def add_entry(
    session: Session,
    incident_id: int,
    *,
    at: datetime,
    actor: str,
    kind: str,
    sentence: Sentence,
    facts: Mapping[str, Any] | None = None,
) -> int:
    """Store an entry in the caller's transaction; its id."""
    row = TimelineRow(
        **timeline_values(
            incident_id, at=at, actor=actor, kind=kind, sentence=sentence, facts=facts
        )
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    return row.id


def add_timeline(
    session: Session,
    incident_id: int,
    *,
    at: datetime,
    actor: str,
    kind: str,
    text: str,
    data: dict[str, Any] | None = None,
) -> None:
    """An entry of plain text (the bot's own words about the room; no one named)."""
    add_entry(session, incident_id, at=at, actor=actor, kind=kind, sentence=said(text), facts=data)


def insert_timeline(
    conn: Connection,
    incident_id: int,
    *,
    at: datetime,
    actor: str,
    kind: str,
    text: str,
    data: dict[str, Any],
) -> None:
    """The ingest's and the scans' entries, on a plain connection (no ORM on hot paths)."""
    insert_timelines(conn, [(incident_id, at, actor, kind, text, data)])


def insert_timelines(
    conn: Connection, entries: list[tuple[int, datetime, str, str, str, dict[str, Any]]]
) -> None:
    """:func:`insert_timeline` for several entries, as (incident id, at, actor, kind, text,
    data), in one multi-row INSERT."""
    rows = [
        timeline_values(number, at=at, actor=actor, kind=kind, sentence=said(text), facts=data)
        for number, at, actor, kind, text, data in entries
    ]
    if rows:
        conn.execute(_INSERT, rows)


def entry_of(at: datetime, actor: str, kind: str, text: str, data: Any) -> TimelineEntry:
    facts = dict(data) if isinstance(data, dict) else {}
    parts = facts.pop(SAID, None)
    if isinstance(parts, list):
        sentence = Sentence.from_json(parts)
    else:  # no one named: the text is the sentence (most entries; no parsing)
        sentence = Sentence((text,) if text else ())
    return TimelineEntry(at=at, actor=actor, kind=kind, said=sentence, facts=facts)


def timeline_of(session: Session, incident_id: int) -> list[TimelineEntry]:
    """The incident's timeline, oldest first, read as plain rows: for 10,000 entries (a
    post-mortem), ORM objects cost several times the whole compile."""
    t = TIMELINE.c
    rows = session.connection().execute(
        core_select(t.at, t.actor, t.kind, t.text, t.data)
        .where(t.incident_id == incident_id)
        .order_by(t.at, t.id)
    )
    return [entry_of(*row) for row in rows]


def actors_and_people(session: Session, incident_id: int) -> set[str]:
    """Everyone who wrote in the timeline or is named in it (ids and system names alike).
    Reads the actors and only the entries that name someone, not the whole timeline."""
    t = TIMELINE.c
    conn = session.connection()
    mine = t.incident_id == incident_id
    found = set(conn.execute(core_select(t.actor).where(mine).distinct()).scalars())
    naming = cast(t.data, Text).like(f'%"{SAID}"%')
    for data in conn.execute(core_select(t.data).where(mine, naming)).scalars():
        parts = data.get(SAID) if isinstance(data, dict) else None
        if isinstance(parts, list):
            found.update(Sentence.from_json(parts).people())
    return found
