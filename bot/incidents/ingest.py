"""Turn accepted OOR events into incidents, durably and idempotently.

One call is one database transaction. It stores every event once (``event`` is unique per
source and dedup key), opens an incident or adds the event to the open incident of the
same group (unique among open incidents), writes the timeline, and enqueues the Slack
side effects in the outbox. Only after the commit does the webhook answer 202; the outbox
worker does the Slack work afterwards, with retries.

This is the hottest write path, so it runs SQLAlchemy Core on a plain connection and lets
the unique indexes decide with ``INSERT ... ON CONFLICT DO NOTHING``: a grouped event is
five statements (lock the incident, store the event, count it, the timeline entry, the
jobs) with no savepoints. A concurrent duplicate finds its key taken and changes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.engine import Connection

from bot.domain.events import EventStatus, OorEvent
from bot.domain.plan import Plan
from bot.domain.types import IncidentStatus, Severity, incident_key
from bot.incidents.job_kinds import JobKind
from bot.storage import incidents as repo
from bot.storage import jobs, next_due
from bot.storage.db import Database


class _AlreadyStored(Exception):
    """The event was stored before (same source and dedup key): a duplicate delivery."""


class Outcome(StrEnum):
    OPENED = "opened"
    GROUPED = "grouped"
    RECOVERED = "recovered"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"


# When a request carries several events (an Alertmanager group), the answer reports the
# most significant thing that happened.
_PRECEDENCE = [Outcome.OPENED, Outcome.GROUPED, Outcome.RECOVERED, Outcome.DUPLICATE]

# Opening races with a concurrent opening of the same group; the loser joins the winner.
# Only if the winner is closed in between does it try again, so a few rounds are plenty.
_OPEN_ATTEMPTS = 3


@dataclass(frozen=True)
class IngestResult:
    incident_number: int | None
    outcome: Outcome

    def to_json(self) -> dict[str, Any]:
        number = self.incident_number
        return {
            "incident_id": incident_key(number) if number is not None else None,
            "status": self.outcome.value,
        }


def _severity_rank(severity: Severity) -> int:
    return list(Severity).index(severity)


class IngestService:
    def __init__(self, db: Database, plan: Plan) -> None:
        self._db = db
        self._plan = plan

    def ingest(self, events: list[OorEvent], *, now: datetime) -> IngestResult:
        """Store ``events`` (one delivery) and return what happened, after the commit."""
        if not events:
            raise ValueError("no events")
        with self._db.engine.begin() as conn:
            results = [self._ingest_one(conn, event, now) for event in events]
        outcomes = {r.outcome for r in results}
        for outcome in _PRECEDENCE:
            if outcome in outcomes:
                number = next(r.incident_number for r in results if r.outcome == outcome)
                return IngestResult(number, outcome)
        return IngestResult(results[0].incident_number, Outcome.IGNORED)

    def _ingest_one(self, conn: Connection, event: OorEvent, now: datetime) -> IngestResult:
        # Lock the group's open incident first (when there is one), so the event row can be
        # stored with its final outcome: one statement decides "new or duplicate".
        incident = repo.lock_open_by_group(conn, event.group_key) if event.group_key else None
        try:
            if event.status is EventStatus.RESOLVED:
                return self._recover(conn, event, incident, now)
            if incident is None:
                return self._open(conn, event, now)
            event_id = self._store(conn, event, now, Outcome.GROUPED, incident[0])
            return self._join(conn, event, event_id, incident, now)
        except _AlreadyStored:
            number = repo.stored_event_incident(conn, event.source, event.dedup_key)
            return IngestResult(number, Outcome.DUPLICATE)

    def _store(
        self,
        conn: Connection,
        event: OorEvent,
        now: datetime,
        outcome: Outcome,
        incident_id: int | None,
    ) -> int:
        """The new event row's id; :class:`_AlreadyStored` (before anything else is written)
        when this event was stored before: then it is a duplicate, whatever its path."""
        event_id = repo.insert_event(
            conn,
            {
                "source": event.source,
                "dedup_key": event.dedup_key,
                "status": event.status.value,
                "outcome": outcome.value,
                "incident_id": incident_id,
                "received_at": now,
                "payload": _jsonable(event.payload),
            },
        )
        if event_id is None:
            raise _AlreadyStored
        return event_id

    def _open(self, conn: Connection, event: OorEvent, now: datetime) -> IngestResult:
        event_id = self._store(conn, event, now, Outcome.OPENED, None)
        for _ in range(_OPEN_ATTEMPTS):
            number = repo.insert_incident(conn, self._new_incident(event, now))
            if number is not None:
                break
            # Another delivery of the same group opened it a moment ago: join it.
            assert event.group_key is not None
            winner = repo.lock_open_by_group(conn, event.group_key)
            if winner is not None:
                repo.set_event_result(conn, event_id, Outcome.GROUPED.value, winner[0])
                return self._join(conn, event, event_id, winner, now)
        else:
            raise RuntimeError(f"could not open or join an incident for {event.group_key!r}")
        repo.insert_steps(conn, number)
        repo.insert_timeline(
            conn,
            number,
            at=now,
            actor=event.origin or event.source,
            kind="opened",
            text=f"Incident opened from a {event.source} event: {event.title}",
            data={"event_id": event.dedup_key},
        )
        jobs.insert_jobs(
            conn,
            [
                jobs.job_values(
                    JobKind.CREATE_CHANNEL,
                    now=now,
                    dedup_key=f"{JobKind.CREATE_CHANNEL}:{number}",
                    incident_id=number,
                )
            ],
        )
        repo.set_event_result(conn, event_id, Outcome.OPENED.value, number)
        return IngestResult(number, Outcome.OPENED)

    def _new_incident(self, event: OorEvent, now: datetime) -> dict[str, Any]:
        type_plan = self._plan.for_type(event.type)
        details = event.details
        severity = event.severity or type_plan.severity
        return {
            "type": event.type.value,
            "title": event.title[:200],
            "description": event.description,
            "severity": severity.value,
            "status": IncidentStatus.OPEN.value,
            "source": event.source,
            "origin": event.origin,
            "url": event.url,
            "group_key": event.group_key,
            "occurred_at": event.occurred_at,
            "opened_at": now,
            "updated_at": now,
            "next_due_at": next_due.for_new_incident(self._plan, event.type, severity, now),
            "details": _jsonable(
                {
                    "payment_method": details.payment_method,
                    "merchant_id": details.merchant_id,
                    "amount": str(details.amount) if details.amount is not None else None,
                    "currency": details.currency,
                    "affected_transactions": details.affected_transactions,
                    "error_code": details.error_code,
                    "extras": details.extras,
                }
            ),
        }

    def _join(
        self,
        conn: Connection,
        event: OorEvent,
        event_id: int,
        incident: tuple[int, str],
        now: datetime,
    ) -> IngestResult:
        """Add the stored event to the locked open incident of its group."""
        number, severity = incident
        text = f"Related event grouped into this incident: {event.title}"
        current = Severity(severity)
        raised = None
        if event.severity and _severity_rank(event.severity) < _severity_rank(current):
            raised = event.severity.value
            text += f" (severity raised {current.label} → {event.severity.label})"
        repo.count_grouped_event(conn, number, now=now, severity=raised)
        self._announce(conn, event, event_id, number, now, "grouped", text)
        return IngestResult(number, Outcome.GROUPED)

    def _recover(
        self,
        conn: Connection,
        event: OorEvent,
        incident: tuple[int, str] | None,
        now: datetime,
    ) -> IngestResult:
        if incident is None:
            self._store(conn, event, now, Outcome.IGNORED, None)
            return IngestResult(None, Outcome.IGNORED)
        number = incident[0]
        event_id = self._store(conn, event, now, Outcome.RECOVERED, number)
        text = f"Monitor reports recovered: {event.title}"
        self._announce(conn, event, event_id, number, now, "recovered", text)
        return IngestResult(number, Outcome.RECOVERED)

    def _announce(
        self,
        conn: Connection,
        event: OorEvent,
        event_id: int,
        number: int,
        now: datetime,
        kind: str,
        text: str,
    ) -> None:
        """The timeline entry, its channel notice (keyed by the event row: once per event)
        and a board refresh, absorbed by one already waiting for the incident."""
        repo.insert_timeline(
            conn,
            number,
            at=now,
            actor=event.origin or event.source,
            kind=kind,
            text=text,
            data={"event_id": event.dedup_key},
        )
        jobs.insert_jobs(
            conn,
            [
                jobs.job_values(
                    JobKind.POST_NOTICE,
                    now=now,
                    dedup_key=f"{JobKind.POST_NOTICE}:{event_id}",
                    incident_id=number,
                    payload={"text": text, "kind": kind},
                ),
                jobs.coalesced_job_values(JobKind.REFRESH_BOARD, now=now, incident_id=number),
            ],
        )


def _jsonable(value: Any) -> Any:
    """Payloads go into JSON columns: make dates and decimals plain strings."""
    return json.loads(json.dumps(value, default=str))
