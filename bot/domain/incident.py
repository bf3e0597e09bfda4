"""Read models of an incident: what views, flows and the API are given.

Storage turns rows into these frozen snapshots, so nothing above storage depends on
SQLModel and views can be unit-tested with hand-built snapshots.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.domain.records import Sentence
from bot.domain.types import (
    CauseCategory,
    IncidentStatus,
    OorType,
    Role,
    Severity,
    Step,
    StepState,
    incident_key,
)


@dataclass(frozen=True)
class StepRecord:
    step: Step
    state: StepState = StepState.PENDING
    started_at: datetime | None = None
    started_by: str | None = None
    completed_at: datetime | None = None
    completed_by: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    actor: str  # a person's id, or a system's name (``alertmanager``, ``oor-bot``)
    kind: str
    said: Sentence
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """What it says as plain text, people by id (surfaces render :attr:`said`)."""
        return self.said.plain()


@dataclass(frozen=True)
class IncidentSnapshot:
    number: int
    type: OorType
    title: str
    severity: Severity
    status: IncidentStatus
    source: str
    opened_at: datetime
    description: str | None = None
    occurred_at: datetime | None = None
    origin: str | None = None
    url: str | None = None
    group_key: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    channel_id: str | None = None
    channel_name: str | None = None
    board_ts: str | None = None
    event_count: int = 1
    last_event_at: datetime | None = None  # the latest grouped or recovered event
    last_event_title: str | None = None  # its headline
    steps: tuple[StepRecord, ...] = ()
    roles: dict[Role, str] = field(default_factory=dict)
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    resolution_summary: str | None = None
    cause_category: CauseCategory | None = None
    generation: int = 0  # how many times it was reopened
    reopened_at: datetime | None = None  # when it was last reopened
    private: bool = False  # see bot.domain.privacy
    privacy_round: int = 0  # how many times /oor private or /oor public moved it

    @property
    def key(self) -> str:
        return incident_key(self.number)

    def step(self, step: Step) -> StepRecord:
        for record in self.steps:
            if record.step == step:
                return record
        return StepRecord(step)

    @property
    def amount(self) -> Decimal | None:
        raw = self.details.get("amount")
        if raw in (None, ""):
            return None
        try:
            return Decimal(str(raw))
        except InvalidOperation:
            return None

    @property
    def payment_method(self) -> str | None:
        value = self.details.get("payment_method")
        return str(value) if value else None


def initial_steps() -> tuple[StepRecord, ...]:
    """A new incident: the six steps of the plan, all pending."""
    return tuple(StepRecord(step) for step in Step)
