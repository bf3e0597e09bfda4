"""A Webhooks v3 delivery as a plain record (tests/fixtures/pagerduty/NOTES.md "Webhooks v3").

The body is ``{"event": {id, event_type, resource_type, occurred_at, agent, client, data}}``,
exactly one event per delivery. For ``incident.*`` types ``data`` is the incident, whose
``incident_key`` is the dedup key of the alert that opened it: for our pages, one of the
keys :func:`bot.paging.port.dedup_key_for` makes, which names our incident. ``agent`` is a
user reference (id and name, no email: the email is asked for later, off the request).

Values are clipped to the columns that keep them; nothing here trusts PagerDuty's text to
be display-safe (it is outside text, escaped by whoever shows it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.paging.port import incident_key_of

ACKNOWLEDGED = "incident.acknowledged"
RESOLVED = "incident.resolved"
ESCALATED = "incident.escalated"
# What the bot acts on; every other type is accepted (2xx) and ignored.
ACTED_ON = frozenset({ACKNOWLEDGED, RESOLVED, ESCALATED})


class NotAWebhookEvent(ValueError):
    """A signed body that is not a Webhooks v3 event."""


@dataclass(frozen=True)
class PagerDutyWebhookEvent:
    event_id: str | None
    event_type: str
    occurred_at: datetime | None
    pd_incident_id: str | None
    dedup_key: str | None  # data.incident_key
    agent_id: str | None
    agent_name: str | None

    @property
    def incident_key(self) -> str | None:
        """Our incident (``OOR-42``) when the page is one of ours."""
        return incident_key_of(self.dedup_key) if self.dedup_key else None

    @property
    def acted_on(self) -> bool:
        return self.event_type in ACTED_ON and self.incident_key is not None


def _text(value: Any, limit: int) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return value.replace("\x00", "")[:limit]


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def parse_webhook_event(body: bytes) -> PagerDutyWebhookEvent:
    """The event of one delivery; :class:`NotAWebhookEvent` for anything else."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise NotAWebhookEvent("the body is not JSON") from None
    event = document.get("event") if isinstance(document, dict) else None
    if not isinstance(event, dict):
        raise NotAWebhookEvent("no event object")
    event_type = _text(event.get("event_type"), 100)
    if event_type is None:
        raise NotAWebhookEvent("no event.event_type")
    data = _object(event.get("data"))
    is_incident = event_type.startswith("incident.") and data.get("type") == "incident"
    agent = _object(event.get("agent"))
    return PagerDutyWebhookEvent(
        event_id=_text(event.get("id"), 100),
        event_type=event_type,
        occurred_at=_time(event.get("occurred_at")),
        pd_incident_id=_text(data.get("id"), 40) if is_incident else None,
        dedup_key=_text(data.get("incident_key"), 255) if is_incident else None,
        agent_id=_text(agent.get("id"), 40) if agent.get("type") == "user_reference" else None,
        agent_name=_text(agent.get("summary"), 200),
    )
