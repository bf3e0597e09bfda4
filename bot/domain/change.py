"""What a lifecycle command returns: a :class:`Change` to store, or a refusal.

A change holds the step records, incident columns, facts and roles to store, the timeline
notes to write (records: text and people as data, see :mod:`bot.domain.records`) and the
reply for the person who ran the command.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.domain.incident import IncidentSnapshot, StepRecord
from bot.domain.records import Part, Sentence, TimelineNote, said
from bot.domain.types import IncidentStatus, Role, Step, StepState

# What the person who ran a command is told: plain text, or a sentence naming people.
Reply = str | Sentence


class CommandRefused(Exception):
    """The command cannot apply now; :attr:`said` is meant for the person who ran it
    (``str(exc)`` is its plain text, people by id)."""

    def __init__(self, *parts: Part | Sentence) -> None:
        self.said = said(*parts)
        super().__init__(self.said.plain())


@dataclass(frozen=True)
class Change:
    steps: tuple[StepRecord, ...] = ()
    incident: dict[str, Any] = field(default_factory=dict)  # column -> new value
    details: dict[str, Any] = field(default_factory=dict)  # recorded facts to merge
    roles: dict[Role, str] = field(default_factory=dict)
    timeline: tuple[TimelineNote, ...] = ()
    reply: Reply = ""  # what the person who ran the command is told

    @property
    def changed(self) -> bool:
        return bool(self.steps or self.incident or self.details or self.roles or self.timeline)


def unchanged(reply: Reply) -> Change:
    """Nothing to do (repeating a command is harmless): only a reply."""
    return Change(reply=reply)


def step_label(step: Step) -> str:
    return f"step {step.number} {step.label.lower()} ({step.label_zh})"


def _step_facts(step: Step, state: StepState) -> dict[str, Any]:
    return {"step": step.value, "state": state.value}


def note(
    kind: str, *parts: Part | Sentence | None, announce: bool = True, **facts: Any
) -> TimelineNote:
    return TimelineNote(kind, said(*parts), announce=announce, facts=facts)


def step_note(
    step: Step, state: StepState, *parts: Part | Sentence, announce: bool = True, **facts: Any
) -> TimelineNote:
    return note("step", *parts, announce=announce, **_step_facts(step, state), **facts)


def require_not_closed(incident: IncidentSnapshot) -> None:
    if incident.status is IncidentStatus.CLOSED:
        raise CommandRefused(
            f"{incident.key} is closed. Run `/oor reopen` first if the problem is back."
        )
