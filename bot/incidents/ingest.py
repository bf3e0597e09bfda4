"""Turn accepted OOR events into incidents, durably and idempotently.

One call is one database transaction. It stores every event once (``event`` is unique per
source and dedup key), opens an incident or adds the event to the open incident of the
same group (unique among open incidents), writes the timeline, and enqueues the Slack
side effects in the outbox. Only after the commit does the webhook answer 202; the outbox
worker does the Slack work afterwards, with retries.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.domain.events import EventStatus, OorEvent
from bot.domain.plan import Plan
from bot.domain.types import IncidentStatus, Severity, incident_key
from bot.incidents.job_kinds import JobKind
from bot.storage import incidents as repo
from bot.storage import jobs
from bot.storage.db import Database
from bot.storage.models import EventRow, IncidentRow


class Outcome(StrEnum):
    OPENED = "opened"
    GROUPED = "grouped"
    RECOVERED = "recovered"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"


# When a request carries several events (an Alertmanager group), the answer reports the
# most significant thing that happened.
_PRECEDENCE = [Outcome.OPENED, Outcome.GROUPED, Outcome.RECOVERED, Outcome.DUPLICATE]


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
        with self._db.session() as session:
            results = [self._ingest_one(session, event, now) for event in events]
        outcomes = {r.outcome for r in results}
        for outcome in _PRECEDENCE:
            if outcome in outcomes:
                number = next(r.incident_number for r in results if r.outcome == outcome)
                return IngestResult(number, outcome)
        return IngestResult(results[0].incident_number, Outcome.IGNORED)

    def _ingest_one(self, session: Session, event: OorEvent, now: datetime) -> IngestResult:
        row = EventRow(
            source=event.source,
            dedup_key=event.dedup_key,
            outcome="pending",
            status=event.status.value,
            received_at=now,
            payload=_jsonable(event.payload),
        )
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            return self._duplicate(session, event)

        if event.status is EventStatus.RESOLVED:
            result = self._recover(session, event, row, now)
        else:
            result = self._open_or_group(session, event, row, now)
        row.outcome = result.outcome.value
        row.incident_id = result.incident_number
        session.add(row)
        return result

    def _duplicate(self, session: Session, event: OorEvent) -> IngestResult:
        existing = session.exec(
            select(EventRow).where(
                EventRow.source == event.source, EventRow.dedup_key == event.dedup_key
            )
        ).one()
        return IngestResult(existing.incident_id, Outcome.DUPLICATE)

    def _open_or_group(
        self, session: Session, event: OorEvent, row: EventRow, now: datetime
    ) -> IngestResult:
        if event.group_key:
            existing = repo.find_open_by_group(session, event.group_key, for_update=True)
            if existing is not None:
                return self._group(session, existing, event, row, now)
        incident = self._new_incident(event, now)
        try:
            with session.begin_nested():
                session.add(incident)
        except IntegrityError:
            # Another delivery of the same group opened it a moment ago: join it.
            assert event.group_key is not None
            winner = repo.find_open_by_group(session, event.group_key, for_update=True)
            assert winner is not None
            return self._group(session, winner, event, row, now)
        assert incident.id is not None
        repo.add_steps(session, incident.id)
        repo.add_timeline(
            session,
            incident.id,
            at=now,
            actor=event.origin or event.source,
            kind="opened",
            text=f"Incident opened from a {event.source} event: {event.title}",
            data={"event_id": event.dedup_key},
        )
        jobs.enqueue(
            session,
            JobKind.CREATE_CHANNEL,
            now=now,
            dedup_key=f"{JobKind.CREATE_CHANNEL}:{incident.id}",
            incident_id=incident.id,
        )
        return IngestResult(incident.id, Outcome.OPENED)

    def _new_incident(self, event: OorEvent, now: datetime) -> IncidentRow:
        type_plan = self._plan.for_type(event.type)
        details = event.details
        return IncidentRow(
            type=event.type.value,
            title=event.title[:200],
            description=event.description,
            severity=(event.severity or type_plan.severity).value,
            status=IncidentStatus.OPEN.value,
            source=event.source,
            origin=event.origin,
            url=event.url,
            group_key=event.group_key,
            occurred_at=event.occurred_at,
            opened_at=now,
            updated_at=now,
            details=_jsonable(
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
        )

    def _group(
        self, session: Session, incident: IncidentRow, event: OorEvent, row: EventRow, now: datetime
    ) -> IngestResult:
        assert incident.id is not None
        incident.event_count += 1
        incident.updated_at = now
        text = f"Related event grouped into this incident: {event.title}"
        current = Severity(incident.severity)
        if event.severity and _severity_rank(event.severity) < _severity_rank(current):
            incident.severity = event.severity.value
            text += f" (severity raised {current.label} → {event.severity.label})"
        session.add(incident)
        session.flush()
        repo.add_timeline(
            session,
            incident.id,
            at=now,
            actor=event.origin or event.source,
            kind="grouped",
            text=text,
            data={"event_id": event.dedup_key},
        )
        self._notice(session, incident.id, row, now, "grouped", text)
        return IngestResult(incident.id, Outcome.GROUPED)

    def _recover(
        self, session: Session, event: OorEvent, row: EventRow, now: datetime
    ) -> IngestResult:
        incident = (
            repo.find_open_by_group(session, event.group_key, for_update=True)
            if event.group_key
            else None
        )
        if incident is None or incident.id is None:
            return IngestResult(None, Outcome.IGNORED)
        text = f"Monitor reports recovered: {event.title}"
        repo.add_timeline(
            session,
            incident.id,
            at=now,
            actor=event.origin or event.source,
            kind="recovered",
            text=text,
            data={"event_id": event.dedup_key},
        )
        self._notice(session, incident.id, row, now, "recovered", text)
        return IngestResult(incident.id, Outcome.RECOVERED)

    def _notice(
        self, session: Session, incident_id: int, row: EventRow, now: datetime, kind: str, text: str
    ) -> None:
        session.flush()  # gives the event row its id, the notice's idempotency key
        jobs.enqueue(
            session,
            JobKind.POST_NOTICE,
            now=now,
            dedup_key=f"{JobKind.POST_NOTICE}:{row.id}",
            incident_id=incident_id,
            payload={"text": text, "kind": kind},
        )
        jobs.enqueue_coalesced(session, JobKind.REFRESH_BOARD, now=now, incident_id=incident_id)


def _jsonable(value: Any) -> Any:
    """Payloads go into JSON columns: make dates and decimals plain strings."""
    return json.loads(json.dumps(value, default=str))
