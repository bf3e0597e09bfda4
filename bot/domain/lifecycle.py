"""The six handling steps as an explicit state machine.

Each command is a pure function of the incident as it is now: it returns a
:class:`Change` (possibly empty, when there is nothing to do — repeating a command is
harmless) or raises :class:`CommandRefused` with a message that tells the person why and
what to do instead. Storage applies the change in one transaction; the Slack layer turns
its timeline notes into the one-line channel messages.

Step states: ``pending → in_progress → done``, or ``skipped`` with a reason. Steps may
happen out of order when reality demands it (customers may be notified before the fix);
the rules below refuse only what cannot make sense.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from bot.domain.change import (
    Change,
    CommandRefused,
    Reply,
    note,
    require_not_closed,
    step_label,
    step_note,
    unchanged,
)
from bot.domain.facts import RecordedFacts
from bot.domain.incident import IncidentSnapshot, StepRecord
from bot.domain.incident_commands import add_note, assign, change_severity, close, reopen
from bot.domain.records import Part, Person, TimelineNote, said
from bot.domain.types import (
    CauseCategory,
    IncidentStatus,
    Role,
    Step,
    StepState,
)

# Re-exported: the services and the Slack layer import them from here.
__all__ = [
    "Change",
    "CommandRefused",
    "Reply",
    "TimelineNote",
    "add_note",
    "assign",
    "change_severity",
    "close",
    "reopen",
]


def _person(user: str | None) -> Part:
    return Person(user) if user else "someone"


def _done(record: StepRecord, actor: str, at: datetime, note: str | None = None) -> StepRecord:
    return replace(
        record,
        state=StepState.DONE,
        started_at=record.started_at or at,
        started_by=record.started_by or actor,
        completed_at=at,
        completed_by=actor,
        note=note if note is not None else record.note,
    )


def _takes_role(incident: IncidentSnapshot, role: Role, actor: str) -> tuple[dict[Role, str], str]:
    """Whoever first does a role's work holds the role if nobody does yet: the first to
    investigate or resolve is the tech lead, the first to notify customers is on comms —
    as the first to acknowledge is the commander. ``/oor assign`` changes it any time."""
    if role in incident.roles:
        return {}, ""
    return {role: actor}, f" and takes the {role.label.lower()} role"


# -- step 1 ---------------------------------------------------------------------------
def acknowledge(incident: IncidentSnapshot, actor: str, at: datetime) -> Change:
    require_not_closed(incident)
    record = incident.step(Step.RESPOND)
    if record.state is StepState.DONE:
        return unchanged(
            said(f"{incident.key} was already acknowledged by ", _person(record.completed_by), ".")
        )
    roles = {} if Role.COMMANDER in incident.roles else {Role.COMMANDER: actor}
    text = f"acknowledged the incident ({step_label(Step.RESPOND)} done)"
    if roles:
        text += " and is the commander"
    return Change(
        steps=(_done(record, actor, at),),
        roles=roles,
        timeline=(step_note(Step.RESPOND, StepState.DONE, text),),
        reply=f"You have {incident.key}." + (" You are the commander." if roles else ""),
    )


# -- step 2 ---------------------------------------------------------------------------
def record(incident: IncidentSnapshot, actor: str, at: datetime, facts: RecordedFacts) -> Change:
    require_not_closed(incident)
    if facts.is_empty():
        raise CommandRefused(
            "Nothing to record. Use `/oor record` for the form, or give key=value pairs, "
            "e.g. `/oor record amount=1200.50 currency=CNY merchant=M-10086 count=57`."
        )
    given = facts.as_details()
    new_details = {k: v for k, v in given.items() if incident.details.get(k) != v}
    columns: dict[str, Any] = {}
    if facts.occurred_at is not None and facts.occurred_at != incident.occurred_at:
        columns["occurred_at"] = facts.occurred_at
    current = incident.step(Step.RECORD)
    if not new_details and not columns and current.state is StepState.DONE:
        return unchanged("Nothing new to record: those facts are already on the board.")
    # Facts already on the board (e.g. from the alert) still finish step 2: name them.
    changed_names = sorted([*new_details, *columns]) or sorted(
        [*given, *(["occurred_at"] if facts.occurred_at is not None else [])]
    )
    steps: tuple[StepRecord, ...] = ()
    if current.state is not StepState.DONE:
        steps = (_done(current, actor, at),)
        text = f"recorded the problem ({step_label(Step.RECORD)} done): " + ", ".join(changed_names)
    else:
        text = "updated the record: " + ", ".join(changed_names)
    return Change(
        steps=steps,
        incident=columns,
        details=new_details,
        timeline=(
            step_note(Step.RECORD, StepState.DONE, text, fields=changed_names)
            if steps
            else note("record", text, fields=changed_names),
        ),
        reply="Recorded. The board shows the facts.",
    )


# -- step 3 ---------------------------------------------------------------------------
def add_finding(incident: IncidentSnapshot, actor: str, at: datetime, finding: str) -> Change:
    require_not_closed(incident)
    finding = finding.strip()
    if not finding:
        raise CommandRefused(
            "Say what you found: `/oor investigate <finding>`, or `/oor investigate --done`."
        )
    current = incident.step(Step.INVESTIGATE)
    steps: tuple[StepRecord, ...] = ()
    notes = [note("finding", f"finding: {finding}")]
    roles: dict[Role, str] = {}
    if current.state is StepState.PENDING:
        roles, takes = _takes_role(incident, Role.TECH, actor)
        steps = (replace(current, state=StepState.IN_PROGRESS, started_at=at, started_by=actor),)
        notes.insert(
            0,
            step_note(
                Step.INVESTIGATE,
                StepState.IN_PROGRESS,
                f"started investigating ({step_label(Step.INVESTIGATE)} in progress){takes}",
                announce=False,
            ),
        )
    return Change(
        steps=steps, roles=roles, timeline=tuple(notes), reply="Finding added to the timeline."
    )


def finish_investigation(incident: IncidentSnapshot, actor: str, at: datetime) -> Change:
    require_not_closed(incident)
    current = incident.step(Step.INVESTIGATE)
    if current.state is StepState.DONE:
        return unchanged("The investigation is already marked done.")
    roles, takes = _takes_role(incident, Role.TECH, actor)
    return Change(
        steps=(_done(current, actor, at),),
        roles=roles,
        timeline=(
            step_note(
                Step.INVESTIGATE,
                StepState.DONE,
                f"finished investigating ({step_label(Step.INVESTIGATE)} done){takes}",
            ),
        ),
        reply="Investigation marked done.",
    )


# -- step 4 ---------------------------------------------------------------------------
def resolve(
    incident: IncidentSnapshot,
    actor: str,
    at: datetime,
    summary: str,
    cause: CauseCategory | None = None,
) -> Change:
    require_not_closed(incident)
    summary = summary.strip()
    current = incident.step(Step.RESOLVE)
    if current.state is StepState.DONE:
        if summary == (incident.resolution_summary or "") and (
            cause is None or cause == incident.cause_category
        ):
            return unchanged(f"{incident.key} is already resolved.")
        raise CommandRefused(
            f"{incident.key} was already resolved by ",
            _person(current.completed_by),
            ". Add what you learned with `/oor note`, or `/oor reopen` if it is not fixed.",
        )
    if not summary:
        raise CommandRefused("Say what fixed it: `/oor resolve <summary>` (or use the form).")
    cause = cause or CauseCategory.OTHER
    steps = [_done(current, actor, at, note=summary)]
    investigate = incident.step(Step.INVESTIGATE)
    if investigate.state in (StepState.PENDING, StepState.IN_PROGRESS):
        steps.append(_done(investigate, actor, at))
    roles, takes = _takes_role(incident, Role.TECH, actor)
    return Change(
        steps=tuple(steps),
        roles=roles,
        incident={
            "status": IncidentStatus.RESOLVED.value,
            "resolved_at": at,
            "resolution_summary": summary,
            "cause_category": cause.value,
        },
        timeline=(
            step_note(
                Step.RESOLVE,
                StepState.DONE,
                f"resolved the incident ({step_label(Step.RESOLVE)} done){takes}. Cause: "
                f"{cause.label} ({cause.label_zh}). {summary}",
                cause=cause.value,
            ),
        ),
        reply=f"{incident.key} is resolved. Next: notify customers and review.",
    )


# -- steps 5 and 6 --------------------------------------------------------------------
def _optional_note(note: str | None) -> str | None:
    """A blank note is no note (not a stored "   " and a dangling ": " in the message)."""
    return (note or "").strip() or None


def mark_notified(
    incident: IncidentSnapshot, actor: str, at: datetime, note: str | None = None
) -> Change:
    require_not_closed(incident)
    note = _optional_note(note)
    current = incident.step(Step.NOTIFY)
    if current.state is StepState.DONE:
        return unchanged("Customers were already notified for this incident.")
    roles, takes = _takes_role(incident, Role.COMMS, actor)
    text = f"notified customers ({step_label(Step.NOTIFY)} done){takes}"
    if note:
        text += f": {note}"
    return Change(
        steps=(_done(current, actor, at, note=note),),
        roles=roles,
        timeline=(step_note(Step.NOTIFY, StepState.DONE, text),),
        reply="Step 5 is done.",
    )


def start_step(incident: IncidentSnapshot, actor: str, at: datetime, step: Step) -> Change:
    """Put a pending step in progress (customer notifications drafted, awaiting approval).

    A step already started, done or skipped is left as it is: a second round of drafts
    after customers were notified must not undo step 5.
    """
    require_not_closed(incident)
    current = incident.step(step)
    if current.state is not StepState.PENDING:
        return unchanged(f"Step {step.number} is already {current.state.value.replace('_', ' ')}.")
    roles, takes = _takes_role(incident, Role.COMMS, actor) if step is Step.NOTIFY else ({}, "")
    return Change(
        steps=(replace(current, state=StepState.IN_PROGRESS, started_at=at, started_by=actor),),
        roles=roles,
        timeline=(
            step_note(
                step,
                StepState.IN_PROGRESS,
                f"started {step_label(step)} (in progress){takes}",
                announce=False,
            ),
        ),
        reply=f"Step {step.number} is in progress.",
    )


def mark_reviewed(
    incident: IncidentSnapshot, actor: str, at: datetime, note: str | None = None
) -> Change:
    require_not_closed(incident)
    if incident.step(Step.RESOLVE).state is not StepState.DONE:
        raise CommandRefused(
            f"The review comes after the fix: resolve {incident.key} first (`/oor resolve`)."
        )
    note = _optional_note(note)
    current = incident.step(Step.REVIEW)
    if current.state is StepState.DONE:
        return unchanged("The review is already done.")
    text = f"completed the review ({step_label(Step.REVIEW)} done)"
    if note:
        text += f": {note}"
    return Change(
        steps=(_done(current, actor, at, note=note),),
        timeline=(step_note(Step.REVIEW, StepState.DONE, text),),
        reply="Step 6 is done. Close the incident with `/oor close` when you are ready.",
    )


_SKIPPABLE = (Step.RECORD, Step.INVESTIGATE, Step.NOTIFY, Step.REVIEW)


def skip(incident: IncidentSnapshot, actor: str, at: datetime, step: Step, reason: str) -> Change:
    require_not_closed(incident)
    if step not in _SKIPPABLE:
        raise CommandRefused(
            f"Step {step.number} ({step.label.lower()}) cannot be skipped; "
            f"only {', '.join(s.value for s in _SKIPPABLE)} can."
        )
    reason = reason.strip()
    if not reason:
        raise CommandRefused(f"Give a reason: `/oor skip {step.value} <why>`.")
    current = incident.step(step)
    if current.state is StepState.SKIPPED:
        return unchanged(f"Step {step.number} is already skipped.")
    if current.state is StepState.DONE:
        raise CommandRefused(f"Step {step.number} is already done; it cannot be skipped.")
    return Change(
        steps=(
            replace(
                current, state=StepState.SKIPPED, completed_at=at, completed_by=actor, note=reason
            ),
        ),
        timeline=(step_note(step, StepState.SKIPPED, f"skipped {step_label(step)}: {reason}"),),
        reply=f"Step {step.number} skipped.",
    )
