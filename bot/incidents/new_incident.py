"""A new incident's row, as an event opens it (:mod:`bot.incidents.ingest`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.domain.events import OorEvent
from bot.domain.plan import Plan
from bot.domain.types import IncidentStatus, Severity
from bot.storage import incidents as repo
from bot.storage import next_due


def new_severity(plan: Plan, event: OorEvent) -> Severity:
    """The event's own severity, else the plan's for its type."""
    return event.severity or plan.for_type(event.type).severity


def new_incident_values(plan: Plan, event: OorEvent, now: datetime) -> dict[str, Any]:
    """The ``incident`` row ``event`` opens at ``now``."""
    details = event.details
    severity = new_severity(plan, event)
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
        "next_due_at": next_due.for_new_incident(plan, event.type, severity, now),
        "private": event.private or plan.opens_private(event.type, severity, event.details.extras),
        "details": repo.jsonable(
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
