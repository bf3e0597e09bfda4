"""The reminders' chat messages: kinds and typed data (the Slack rendering is in views)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.domain.incident import IncidentSnapshot
from bot.domain.types import Step

REMINDER = "reminder"  # level 1, in the incident room, with Snooze / Mark done
ESCALATION = "reminder_escalation"  # level 2, in the incident room
ESCALATION_DM = "reminder_escalation_dm"  # level 2, to each escalation contact


@dataclass(frozen=True)
class Overdue:
    incident: IncidentSnapshot
    step: Step
    deadline_at: datetime
    now: datetime
    owners: list[str] = field(default_factory=list)  # people to name
    contacts: list[str] = field(default_factory=list)  # people the plan escalates to
