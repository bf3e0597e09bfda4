"""An OOR event as the domain sees it, whatever format it arrived in.

Adapters (the native webhook, Alertmanager, a hand-declared incident from Slack) turn
their payloads into :class:`OorEvent`; the ingest service only ever sees this shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from bot.domain.types import OorType, Severity


class EventStatus(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class PaymentDetails:
    payment_method: str | None = None
    merchant_id: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    affected_transactions: int | None = None
    error_code: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OorEvent:
    """One delivery's worth of information about one OOR occurrence.

    ``source`` names the channel it came through (``native``, ``alertmanager``, ``slack``)
    and ``dedup_key`` is unique within that source: the pair is the idempotency key.
    """

    source: str
    dedup_key: str
    type: OorType
    title: str
    severity: Severity | None = None
    description: str | None = None
    occurred_at: datetime | None = None
    origin: str | None = None
    url: str | None = None
    group_key: str | None = None
    status: EventStatus = EventStatus.FIRING
    details: PaymentDetails = field(default_factory=PaymentDetails)
    payload: dict[str, Any] = field(default_factory=dict)
