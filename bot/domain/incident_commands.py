"""Commands on the incident as a whole, beside the six steps: roles, severity, notes,
closing and reopening. Pure functions of the incident as it is now, like the steps'
(:mod:`bot.domain.lifecycle`, which re-exports them).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bot.domain.change import (
    Change,
    CommandRefused,
    note,
    require_not_closed,
    step_label,
    unchanged,
)
from bot.domain.incident import IncidentSnapshot
from bot.domain.records import Person, said
from bot.domain.types import IncidentStatus, Role, Severity, Step, StepState


# -- roles, severity, notes -------------------------------------------------------------
def assign(incident: IncidentSnapshot, actor: str, at: datetime, role: Role, user: str) -> Change:
    require_not_closed(incident)
    label = role.label.lower()
    if incident.roles.get(role) == user:
        return unchanged(said(Person(user), f" already is the {label}."))
    before = incident.roles.get(role)
    was = said(" (was ", Person(before), ")") if before else None
    return Change(
        roles={role: user},
        timeline=(
            note(
                "role",
                "made ",
                Person(user),
                f" the {label}",
                was,
                role=role.value,
                person=user,
                was=before,
            ),
        ),
        reply=said(Person(user), f" is now the {label}."),
    )


def change_severity(
    incident: IncidentSnapshot, actor: str, at: datetime, severity: Severity
) -> Change:
    require_not_closed(incident)
    if incident.severity is severity:
        return unchanged(f"{incident.key} already is {severity.label}.")
    return Change(
        incident={"severity": severity.value},
        timeline=(
            note(
                "severity",
                f"changed the severity {incident.severity.label} → {severity.label}",
                severity=[incident.severity.value, severity.value],
            ),
        ),
        reply=f"{incident.key} is now {severity.label}.",
    )


def add_note(incident: IncidentSnapshot, actor: str, at: datetime, text: str) -> Change:
    text = text.strip()
    if not text:
        raise CommandRefused("Write the note: `/oor note <text>`.")
    return Change(timeline=(note("note", text, announce=False),), reply="Noted in the timeline.")


# -- the incident as a whole ---------------------------------------------------------------
def close(incident: IncidentSnapshot, actor: str, at: datetime, force: bool = False) -> Change:
    if incident.status is IncidentStatus.CLOSED:
        return unchanged(f"{incident.key} is already closed.")
    if incident.step(Step.RESOLVE).state is not StepState.DONE:
        raise CommandRefused(
            f"{incident.key} is not resolved yet. Resolve it first: `/oor resolve <summary>`."
        )
    still_open = [
        s
        for s in (Step.NOTIFY, Step.REVIEW)
        if incident.step(s).state in (StepState.PENDING, StepState.IN_PROGRESS)
    ]
    if still_open and not force:
        listed = " and ".join(step_label(s) for s in still_open)
        raise CommandRefused(
            f"⚠️ {listed[0].upper()}{listed[1:]} {'is' if len(still_open) == 1 else 'are'} "
            "still open. Finish or skip them, or close anyway with `/oor close --force`."
        )
    text = "closed the incident"
    if still_open:
        text += " with " + " and ".join(step_label(s) for s in still_open) + " still open"
    return Change(
        incident={"status": IncidentStatus.CLOSED.value, "closed_at": at},
        timeline=(note("status", text, status=IncidentStatus.CLOSED.value),),
        reply=f"{incident.key} is closed.",
    )


def reopen(incident: IncidentSnapshot, actor: str, at: datetime) -> Change:
    if incident.status is IncidentStatus.OPEN:
        return unchanged(f"{incident.key} is already open.")
    resolve_step = incident.step(Step.RESOLVE)
    return Change(
        steps=(
            replace(
                resolve_step,
                state=StepState.PENDING,
                started_at=None,
                started_by=None,
                completed_at=None,
                completed_by=None,
            ),
        ),
        incident={
            "status": IncidentStatus.OPEN.value,
            "resolved_at": None,
            "closed_at": None,
            "generation": incident.generation + 1,  # re-arms reminders for this round
            "reopened_at": at,  # step deadlines count from here on
        },
        timeline=(
            note(
                "status",
                f"reopened the incident ({step_label(Step.RESOLVE)} pending again)",
                status=IncidentStatus.OPEN.value,
            ),
        ),
        reply=f"{incident.key} is open again.",
    )
