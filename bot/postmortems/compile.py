"""Step 6, review (总结经验): the post-mortem compiled from the incident's own record.

:func:`compile_postmortem` is a pure function of the incident snapshot, its timeline, the
review notes, the action items and the count of customer notifications sent: no Slack, no
SQL, no clock. Everything worth a number (durations from the step timestamps, impact by
currency) is computed here and returned twice: written into the Markdown through the
``templates/postmortem.md.j2`` template and as a JSON-ready ``facts`` dict.

The template runs in Jinja's immutable sandbox with ``StrictUndefined``: a template typo
fails loudly, and a template cannot change what it is given. Outside text (titles, notes,
timeline entries) is defused before it reaches the template (see :func:`inline`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import FileSystemLoader, StrictUndefined, Template
from jinja2.sandbox import ImmutableSandboxedEnvironment

from bot.domain.clock import in_zone
from bot.domain.deadlines import deadline_of
from bot.domain.durations import readable_duration as format_duration
from bot.domain.incident import IncidentSnapshot, TimelineEntry
from bot.domain.plan import Plan
from bot.domain.records import is_user_id
from bot.domain.types import Role, Step, StepState
from bot.postmortems.durations import Durations, compute_durations, done_at
from bot.postmortems.impact import impact_facts, impact_rows
from bot.postmortems.model import NOTE_FIELDS, ActionItem, Postmortem, ReviewNotes
from bot.postmortems.text import MISSING, inline, paragraph
from bot.postmortems.timeline import fold_event_runs
from bot.resources import TEMPLATES_DIR

TEMPLATE_NAME = "postmortem.md.j2"
NOT_WRITTEN = "_Not written yet._"
_STATE_LABEL = {
    StepState.PENDING: "pending",
    StepState.IN_PROGRESS: "in progress",
    StepState.DONE: "done",
    StepState.SKIPPED: "skipped",
}


class _Clock:
    """Times as people read them: local to the plan's time zone, to the minute."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz

    def at(self, value: datetime | None) -> str:
        if value is None:
            return MISSING
        return in_zone(value, self.tz).strftime("%Y-%m-%d %H:%M")


class _People:
    """Names for user ids; ``Alice Wang (U01ALICE)`` when a name is known."""

    def __init__(self, names: Mapping[str, str]) -> None:
        self.names = names

    def short(self, actor: str | None) -> str:
        if not actor:
            return MISSING
        return inline(self.names.get(actor) or actor)

    def full(self, user_id: str) -> str:
        name = self.names.get(user_id)
        return f"{inline(name)} ({user_id})" if name else user_id


# -- sections --------------------------------------------------------------------------------
def _deadline_text(
    plan: Plan, snapshot: IncidentSnapshot, step: Step, done: Mapping[Step, datetime]
) -> str:
    type_plan = plan.for_type(snapshot.type)
    deadline = type_plan.deadline(step, snapshot.severity)
    if deadline is None:
        return MISSING
    text = deadline.describe()
    finished = done.get(step)
    # The same deadline the reminders chased and the digest counts (working hours for the
    # review, the reopening for a reopened incident), so the three never disagree.
    due = deadline_of(step, snapshot, type_plan, plan.working_hours, plan.tz)
    if finished is None or due is None:
        return text
    if finished <= due:
        return f"{text}: met"
    return f"{text}: **late by {format_duration(finished - due)}**"


def _step_rows(
    snapshot: IncidentSnapshot, plan: Plan, clock: _Clock, people: _People
) -> list[dict[str, str]]:
    done = {step: at for step in Step if (at := done_at(snapshot, step)) is not None}
    rows = []
    for step in Step:
        record = snapshot.step(step)
        rows.append(
            {
                "number": str(step.number),
                "label": f"{step.label} {step.label_zh}",
                "state": _STATE_LABEL[record.state],
                "by": people.short(record.completed_by or record.started_by),
                "started": clock.at(record.started_at),
                "completed": clock.at(record.completed_at),
                "deadline": _deadline_text(plan, snapshot, step, done),
                "note": inline(record.note) or MISSING,
            }
        )
    return rows


def _duration_rows(durations: Durations, closed: bool) -> list[dict[str, str]]:
    total = "Total duration (opened → closed)" if closed else "Duration so far (opened → resolved)"
    labels = (
        ("detection", "Detection delay (began → incident opened)"),
        ("acknowledge", "Time to acknowledge (step 1)"),
        ("record", "Time to record the problem (step 2)"),
        ("resolve", "Time to resolve (step 4)"),
        ("notify", "Time to notify customers (step 5)"),
        ("total", total),
    )
    return [
        {"label": label, "value": format_duration(getattr(durations, name))}
        for name, label in labels
    ]


def _people_rows(
    snapshot: IncidentSnapshot,
    timeline: Sequence[TimelineEntry],
    action_items: Sequence[ActionItem],
    people: _People,
) -> list[dict[str, str]]:
    """Everyone who held a role, did a step, wrote in the timeline or owns an action item:
    role holders first (commander, tech, comms), then in order of first appearance."""
    roles: dict[str, list[str]] = {}
    for role in Role:
        if role in snapshot.roles:
            roles.setdefault(snapshot.roles[role], []).append(role.label)
    steps: dict[str, list[str]] = {}
    for step in Step:
        record = snapshot.step(step)
        if record.state is StepState.DONE and record.completed_by:
            steps.setdefault(record.completed_by, []).append(str(step.number))
    entries: dict[str, int] = {}
    for entry in timeline:
        if is_user_id(entry.actor):
            entries[entry.actor] = entries.get(entry.actor, 0) + 1
    owners: dict[str, int] = {}
    for item in action_items:
        if item.owner:
            owners[item.owner] = owners.get(item.owner, 0) + 1
    order = list(dict.fromkeys([*roles, *steps, *entries, *owners]))
    return [
        {
            "who": people.full(user),
            "roles": ", ".join(roles.get(user, [])) or MISSING,
            "steps": ", ".join(steps.get(user, [])) or MISSING,
            "entries": str(entries.get(user, 0)),
            "actions": str(owners.get(user, 0)),
        }
        for user in order
    ]


def _timeline_lines(timeline: Sequence[TimelineEntry], tz: ZoneInfo, people: _People) -> list[str]:
    """One line per entry, with a date line whenever the (local) date changes. Built as a
    list and joined once: linear in the number of entries."""
    lines: list[str] = []
    shown_day = None
    actors: dict[str, str] = {}
    for entry in timeline:
        local = entry.at.astimezone(tz)
        day = local.date()
        if day != shown_day:
            if lines:
                lines.append("")
            lines += [f"**{day.strftime('%Y-%m-%d (%a)')}**", ""]
            shown_day = day
        actor = actors.get(entry.actor)
        if actor is None:
            actor = actors[entry.actor] = people.short(entry.actor)
        lines.append(
            f"- `{local.hour:02d}:{local.minute:02d}:{local.second:02d}` "
            f"{actor} — {_said(entry, people)}"
        )
    return lines


def _said(entry: TimelineEntry, people: _People) -> str:
    """What an entry says, people by name (else id): names are outside text too."""
    if not entry.said.people():
        return inline(entry.text)
    return inline(entry.said.render(lambda user: people.names.get(user) or user))


def _monitoring(snapshot: IncidentSnapshot, clock: _Clock) -> str:
    """One sentence on the incident's monitoring events, when it had more than one."""
    if snapshot.event_count <= 1 and snapshot.last_event_at is None:
        return ""
    last = snapshot.last_event_at or snapshot.opened_at
    return (
        f"The monitors sent {snapshot.event_count:,} events, first at "
        f"{clock.at(snapshot.opened_at)}, last at {clock.at(last)}; the timeline tells "
        "them one summary line at a time, and every event is stored."
    )


def _action_rows(action_items: Sequence[ActionItem], people: _People) -> list[dict[str, str]]:
    return [
        {
            "number": str(item.number),
            "text": inline(item.text),
            "owner": people.short(item.owner) if item.owner else "**unassigned**",
            "due": item.due.isoformat() if item.due else MISSING,
            "state": "done" if item.done else "open",
        }
        for item in sorted(action_items, key=lambda i: i.number)
    ]


def _summary(
    snapshot: IncidentSnapshot, durations: Durations, clock: _Clock, impact: Mapping[str, Any]
) -> str:
    s = snapshot
    parts = [
        f"{s.key} was a {s.severity.label} {s.type.label.lower()} ({s.type.label_zh}): "
        f"{inline(s.title)}."
    ]
    opened = f"It was opened at {clock.at(s.opened_at)}"
    if durations.detection is not None:
        opened += f", {format_duration(durations.detection)} after it began"
    parts.append(opened + ".")
    progress = []
    if durations.acknowledge is not None:
        progress.append(f"acknowledged after {format_duration(durations.acknowledge)}")
    if durations.resolve is not None:
        progress.append(f"resolved after {format_duration(durations.resolve)}")
    if durations.notify is not None:
        progress.append(f"customers notified after {format_duration(durations.notify)}")
    if s.closed_at is not None and durations.total is not None:
        progress.append(f"closed after {format_duration(durations.total)}")
    if progress:
        parts.append("Response: " + ", ".join(progress) + ".")
    affected = impact.get("affected_transactions")
    amounts = impact.get("amounts") or {}
    if affected is not None or amounts:
        what = f"{affected:,} transactions" if affected is not None else "Transactions"
        if amounts:
            what += " worth " + " and ".join(
                f"{currency} {Decimal(value):,.2f}" for currency, value in amounts.items()
            )
        parts.append(f"{what} were affected.")
    if s.cause_category is not None:
        parts.append(f"Cause: {s.cause_category.label} ({s.cause_category.label_zh}).")
    if s.resolution_summary:
        fix = inline(s.resolution_summary)
        parts.append(f"Fix: {fix}" + ("" if fix.endswith((".", "!", "?", "。")) else "."))
    return " ".join(parts)


# -- the compile -------------------------------------------------------------------------------
@cache
def _template(directory: str = str(TEMPLATES_DIR), name: str = TEMPLATE_NAME) -> Template:
    env = ImmutableSandboxedEnvironment(
        loader=FileSystemLoader(directory),
        undefined=StrictUndefined,
        autoescape=False,  # Markdown, not HTML: outside text is defused before rendering
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env.get_template(name)


def compile_postmortem(
    snapshot: IncidentSnapshot,
    timeline: Sequence[TimelineEntry],
    notes: ReviewNotes | None,
    action_items: Sequence[ActionItem],
    notifications_sent: int,
    plan: Plan,
    *,
    version: int | None = None,
    compiled_at: datetime | None = None,
    compiled_by: str | None = None,
    names: Mapping[str, str] | None = None,
) -> Postmortem:
    """The post-mortem document and its figures. ``version``/``compiled_*`` only label the
    document; ``names`` (user id → display name) only make it friendlier to read."""
    tz = plan.tz
    clock = _Clock(tz)
    people = _People(names or {})
    durations = compute_durations(snapshot)
    impact = impact_facts(snapshot.details, snapshot.event_count, notifications_sent)
    notes = notes or ReviewNotes()
    s = snapshot
    shown = fold_event_runs(timeline, tz)  # a storm from before summaries: a few lines too
    context: dict[str, Any] = {
        "incident": {
            "key": s.key,
            "title": inline(s.title),
            "type": f"{s.type.label} ({s.type.label_zh})",
            "severity": s.severity.label,
            "status": s.status.value.capitalize(),
            "source": inline(s.source + (f" / {s.origin}" if s.origin else "")),
            "url": inline(s.url),
            "channel": f"#{s.channel_name}" if s.channel_name else MISSING,
            "occurred": clock.at(s.occurred_at),
            "opened": clock.at(s.opened_at),
            "resolved": clock.at(s.resolved_at),
            "closed": clock.at(s.closed_at),
            "description": paragraph(s.description),
            "cause": (
                f"{s.cause_category.label} ({s.cause_category.label_zh})"
                if s.cause_category
                else MISSING
            ),
            "resolution": inline(s.resolution_summary),
        },
        "tz": tz.key,
        "version": str(version) if version is not None else MISSING,
        "compiled_at": clock.at(compiled_at),
        "compiled_by": people.short(compiled_by) if compiled_by else MISSING,
        "summary": _summary(s, durations, clock, impact),
        "notes": {name: paragraph(notes.text(name)) or NOT_WRITTEN for name in NOTE_FIELDS},
        "note_labels": {name: f"{en} {zh}" for name, (en, zh) in NOTE_FIELDS.items()},
        "impact": impact_rows(impact),
        "durations": _duration_rows(durations, s.closed_at is not None),
        "steps": _step_rows(s, plan, clock, people),
        "people": _people_rows(s, timeline, action_items, people),
        "action_items": _action_rows(action_items, people),
        "timeline": _timeline_lines(shown, tz, people),
        "timeline_count": len(shown),
        "monitoring": _monitoring(s, clock),
    }
    markdown = _template().render(context)
    facts = {
        "incident": s.key,
        "version": version,
        "type": s.type.value,
        "severity": s.severity.value,
        "status": s.status.value,
        "cause_category": s.cause_category.value if s.cause_category else None,
        "durations_seconds": durations.as_seconds(),
        "impact": impact,
        "steps": {
            step.value: {
                "state": s.step(step).state.value,
                "by": s.step(step).completed_by or s.step(step).started_by,
            }
            for step in Step
        },
        "people": sorted(
            {
                *s.roles.values(),
                *(e.actor for e in timeline if is_user_id(e.actor)),
                *(p for e in timeline for p in e.said.people()),
            }
        ),
        "action_items": {
            "open": sum(1 for i in action_items if not i.done),
            "done": sum(1 for i in action_items if i.done),
        },
        "timeline_entries": len(timeline),
        "notes_written": [name for name in NOTE_FIELDS if notes.text(name)],
    }
    return Postmortem(markdown=markdown, facts=facts)
