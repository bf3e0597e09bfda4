"""An OOR event as the domain sees it, whatever format it arrived in.

Adapters (the native webhook, Alertmanager, a hand-declared incident from Slack) turn
their payloads into :class:`OorEvent`; the ingest service only ever sees this shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from bot.domain.types import OorType, Severity

# When an event can have happened: not before 2000 (earlier is a typo or a zero value such
# as 0001-01-01), and at most a day after it was received (a sender's clock may be off a
# little; further ahead is garbage). Times outside would show nonsense on the board, and
# near the ends of Python's calendar they cannot even be converted to a local time.
OCCURRED_AT_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
OCCURRED_AT_LEEWAY = timedelta(days=1)


def occurred_at_problem(value: datetime, now: datetime) -> str | None:
    """Why ``value`` (aware) is not a believable time of occurrence at ``now``, or None."""
    latest = now + OCCURRED_AT_LEEWAY
    try:
        inside = OCCURRED_AT_EARLIEST <= value <= latest
    except OverflowError:  # an offset that moves it past year 1 or 9999
        inside = False
    if inside:
        return None
    return (
        f"must be between {OCCURRED_AT_EARLIEST:%Y-%m-%d} and one day after it was "
        f"received ({latest:%Y-%m-%dT%H:%MZ})"
    )


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
    # Opens a private incident whatever the plan says (`/oor declare --private`).
    private: bool = False
