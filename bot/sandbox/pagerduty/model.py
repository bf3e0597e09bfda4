"""The PagerDuty emulator's records and how they render as PagerDuty JSON.

Field names and types follow tests/.../fields_*.txt (PagerDuty's published API description,
names and types only); nothing here is PagerDuty's text.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

JSON = dict[str, Any]

SEVERITIES = ("critical", "error", "warning", "info")
EVENT_ACTIONS = ("trigger", "acknowledge", "resolve")
PAGE_STATUSES = ("triggered", "acknowledged", "resolved")

_ID_CHARS = string.ascii_uppercase + string.digits
_ULID_CHARS = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32, as event ids look


def new_id(prefix: str = "P") -> str:
    """A PagerDuty-looking id: a letter and six upper-case letters or digits."""
    return prefix + "".join(secrets.choice(_ID_CHARS) for _ in range(6))


def new_event_id() -> str:
    return "".join(secrets.choice(_ULID_CHARS) for _ in range(26))


def iso(value: datetime | None, tz: tzinfo = UTC) -> str | None:
    """ISO 8601 in ``tz``; UTC is written with ``Z``."""
    if value is None:
        return None
    text = value.astimezone(tz).isoformat()
    return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text


def iso_ms(value: datetime) -> str:
    """``2026-11-23T01:00:00.000Z``: how Webhooks v3 write ``occurred_at``."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{value.microsecond // 1000:03d}Z"
    )


@dataclass
class User:
    id: str
    name: str
    email: str
    time_zone: str = "UTC"
    role: str = "user"
    job_title: str = ""
    description: str | None = None
    color: str = "purple"


@dataclass
class EscalationPolicy:
    """``levels[i]`` are the targets of escalation level i + 1: schedule or user ids."""

    id: str
    name: str
    levels: list[list[str]]
    escalation_delay_in_minutes: int = 30


@dataclass
class Service:
    id: str
    name: str
    escalation_policy_id: str
    integration_key: str


@dataclass
class WebhookSubscription:
    """Where webhooks go. ``secrets``: one normally, two while PagerDuty rotates it;
    ``events``: the event types sent (None: all)."""

    id: str
    url: str
    secrets: list[str]
    events: list[str] | None = None
    active: bool = True
    # Dropped webhooks in a row; three disable the subscription for a day (redelivery.py).
    consecutive_drops: int = 0
    disabled_until: datetime | None = None

    def wants(self, event_type: str) -> bool:
        return self.active and (self.events is None or event_type in self.events)

    def to_json(self) -> JSON:
        return asdict(self) | {"disabled_until": iso(self.disabled_until)}


@dataclass
class Page:
    """An alert and the incident it opened (one alert per incident here)."""

    id: str
    number: int
    routing_key: str
    service_id: str
    dedup_key: str
    summary: str
    source: str
    severity: str
    created_at: datetime
    updated_at: datetime
    status: str = "triggered"
    custom_details: Any = None
    links: list[JSON] = field(default_factory=list)
    assignees: list[str] = field(default_factory=list)
    acknowledged_by: str | None = None
    resolved_by: str | None = None
    events: list[JSON] = field(default_factory=list)

    @property
    def open(self) -> bool:
        return self.status != "resolved"

    def to_json(self) -> JSON:
        data = asdict(self)
        data["created_at"] = iso(self.created_at)
        data["updated_at"] = iso(self.updated_at)
        return data


@dataclass
class WebhookDelivery:
    """One POST of a webhook (a retry is another delivery with the same ``webhook_id``)."""

    webhook_id: str
    subscription_id: str
    url: str
    event_type: str
    event_id: str
    body: str
    headers: dict[str, str]
    at: str
    attempt: int = 1
    status: int | None = None
    response: str | None = None
    error: str | None = None

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def to_json(self) -> JSON:
        return asdict(self) | {"delivered": self.delivered}


@dataclass(frozen=True)
class Call:
    """One request the emulator received, answered or not."""

    endpoint: str
    method: str
    path: str
    query: list[tuple[str, str]]
    body: Any
    token: str | None
    at: str
    status: int

    def to_json(self) -> JSON:
        return asdict(self)
