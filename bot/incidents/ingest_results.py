"""What a webhook delivery is and what storing it answers (:mod:`bot.incidents.ingest`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.domain.events import OorEvent
from bot.domain.types import incident_key


@dataclass(frozen=True)
class Delivery:
    """One webhook request's events and when it was received."""

    events: list[OorEvent]
    received_at: datetime


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


def most_significant(results: list[IngestResult]) -> IngestResult:
    """A delivery of several events (an Alertmanager group) is answered with the most
    significant thing that happened to them."""
    outcomes = {r.outcome for r in results}
    for outcome in _PRECEDENCE:
        if outcome in outcomes:
            number = next(r.incident_number for r in results if r.outcome == outcome)
            return IngestResult(number, outcome)
    return IngestResult(results[0].incident_number, Outcome.IGNORED)
