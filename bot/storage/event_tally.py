"""The monitoring events of an incident, as the incident row counts them.

Every grouped or recovered event updates its incident (already locked by the ingest): the
count, the latest event for the board, and the *pending tally* the next summary will tell
(see :mod:`bot.domain.event_tally`). The summary job takes the tally and zeroes it in one
transaction, so however summaries are retried or raced, each event is told once.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Integer, bindparam, case, func, update
from sqlalchemy import select as core_select
from sqlalchemy.engine import Connection
from sqlalchemy.sql.dml import Update

from bot.domain.event_tally import EventTally
from bot.storage.incidents import INCIDENT
from bot.storage.types import UtcDateTime


@cache
def _note_event(*, grouped: bool, tallied: bool, raises: bool) -> Update:
    """The UPDATE that records one more monitoring event on its (locked) incident.

    ``grouped`` counts it among the incident's events (a recovery is not one more alert);
    ``tallied`` adds it to the pending tally unconditionally, otherwise (the channel heard
    of it at once) only when a tally is already pending: then the summary that follows
    covers every event since the previous one, and ``last_event_*`` always describe the
    latest tallied event while anything is pending.
    """
    pending = INCIDENT.c.pending_events
    recovered = bindparam("recovered", type_=Integer())
    count = bindparam("count", type_=Integer())
    values: dict[str, Any] = {
        "updated_at": bindparam("now"),
        "last_event_at": bindparam("now"),
        "last_event_title": bindparam("headline"),
    }
    if grouped:
        values["event_count"] = INCIDENT.c.event_count + count
    if raises:
        values["severity"] = bindparam("severity")
        # A higher severity may have tighter deadlines: the next-due time becomes now, and
        # the reminder scan, reading it, recomputes it from the stored state (an early time
        # is harmless, a late one would hold a reminder back; see bot.storage.next_due).
        values["next_due_at"] = bindparam("now")
    if tallied:
        values["pending_events"] = pending + count
        values["pending_recovered"] = INCIDENT.c.pending_recovered + recovered
        values["pending_since"] = func.coalesce(
            INCIDENT.c.pending_since, bindparam("since", type_=UtcDateTime())
        )
    else:
        values["pending_events"] = case((pending > 0, pending + count), else_=0)
        values["pending_recovered"] = case(
            (pending > 0, INCIDENT.c.pending_recovered + recovered), else_=0
        )
    return update(INCIDENT).where(INCIDENT.c.id == bindparam("incident_id")).values(values)


def note_event(
    conn: Connection,
    incident_id: int,
    *,
    now: datetime,
    headline: str,
    grouped: bool,
    recovered: bool,
    tallied: bool,
    severity: str | None = None,
    count: int = 1,
) -> None:
    """``count`` more monitoring events joined the (locked) incident, the latest with
    ``headline``; all recoveries if ``recovered``. ``severity`` raises it."""
    stmt = _note_event(grouped=grouped, tallied=tallied, raises=severity is not None)
    params: dict[str, Any] = {
        "incident_id": incident_id,
        "now": now,
        "headline": headline[:200],
        "count": count,
        "recovered": count if recovered else 0,
    }
    if tallied:
        params["since"] = now
    if severity is not None:
        params["severity"] = severity
    conn.execute(stmt, params)


def note_grouped_events(conn: Connection, counted: list[tuple[int, datetime, str, int]]) -> None:
    """:func:`note_event` for grouped, tallied events of several incidents at once, given
    as (incident id, latest arrival, latest headline, how many): one statement executed
    for many rows (psycopg sends them in one pipeline)."""
    if not counted:
        return
    stmt = _note_event(grouped=True, tallied=True, raises=False)
    conn.execute(
        stmt,
        [
            {
                "incident_id": incident_id,
                "now": now,
                "headline": headline[:200],
                "count": count,
                "recovered": 0,
                "since": now,
            }
            for incident_id, now, headline, count in counted
        ],
    )


_PENDING_TALLY = (
    core_select(
        INCIDENT.c.pending_events,
        INCIDENT.c.pending_recovered,
        INCIDENT.c.pending_since,
        INCIDENT.c.last_event_at,
        INCIDENT.c.last_event_title,
    )
    .where(INCIDENT.c.id == bindparam("incident_id"))
    .with_for_update()
)
_CLEAR_TALLY = (
    update(INCIDENT)
    .where(INCIDENT.c.id == bindparam("incident_id"))
    .values(pending_events=0, pending_recovered=0, pending_since=None)
)


def take_event_tally(conn: Connection, incident_id: int) -> EventTally | None:
    """The incident's pending tally, zeroed in the same transaction; None when nothing is
    pending. LookupError: no such incident."""
    row = conn.execute(_PENDING_TALLY, {"incident_id": incident_id}).first()
    if row is None:
        raise LookupError(f"incident {incident_id} not found")
    if not row.pending_events:
        return None
    conn.execute(_CLEAR_TALLY, {"incident_id": incident_id})
    # Set together with the first tallied event; the fallbacks only guard a hand-edited row.
    first_at: datetime = row.pending_since or row.last_event_at
    last_at: datetime = row.last_event_at or first_at
    return EventTally(
        count=int(row.pending_events),
        recovered=int(row.pending_recovered),
        first_at=first_at,
        last_at=last_at,
        latest=row.last_event_title or "",
    )


_HAS_PENDING = core_select(INCIDENT.c.pending_events).where(
    INCIDENT.c.id == bindparam("incident_id")
)


def has_pending_events(conn: Connection, incident_id: int) -> bool:
    return bool(conn.execute(_HAS_PENDING, {"incident_id": incident_id}).scalar())
