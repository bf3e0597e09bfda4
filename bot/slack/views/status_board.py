"""The pinned status board of an incident channel: what broke, the facts, the six steps.

It is re-rendered from the stored incident after every change and updated in place, so
it always shows the truth rather than a history of edits. Below the steps: who holds each
role, the resolution once there is one, the plan's partner contacts, and buttons for the
next steps (until the incident is closed).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.chat.board import BoardLine
from bot.domain.durations import readable_duration
from bot.domain.incident import IncidentSnapshot, StepRecord
from bot.domain.plan import Partner
from bot.domain.records import clip, is_user_id
from bot.domain.types import IncidentStatus, Role, Severity, Step, StepState
from bot.slack.text import (
    SECTION_TEXT_LIMIT,
    escape,
    link_or_pointer,
    local_time,
    mention,
    money,
    truncate,
)
from bot.slack.views import SlackMessage
from bot.slack.views.partners import partner_line
from bot.slack.views.timeline import actor_text, clip_escaped

SEVERITY_ICON = {
    Severity.SEV1: "🔴",
    Severity.SEV2: "🟠",
    Severity.SEV3: "🟡",
    Severity.SEV4: "🔵",
}
STATE_ICON = {
    StepState.PENDING: "⬜",
    StepState.IN_PROGRESS: "🔄",
    StepState.DONE: "✅",
    StepState.SKIPPED: "⏭️",
}
STATUS_LABEL = {
    IncidentStatus.OPEN: "Open",
    IncidentStatus.RESOLVED: "Resolved",
    IncidentStatus.CLOSED: "Closed",
}
ACTIONS_BLOCK_ID = "board_actions"
# action_id -> button label, in the order the buttons appear.
BOARD_ACTIONS = {
    "board_ack": "Acknowledge",
    "board_record": "Record",
    "board_resolve": "Resolve",
    "board_notify": "Notify",
    "board_review": "Review",
}
MAX_PARTNERS_SHOWN = 8
FACT_LIMIT = 200  # characters of one recorded fact on the board
NOTE_LIMIT = 300  # of a skipped step's reason, so all six steps always fit


def board_fallback_text(incident: IncidentSnapshot) -> str:
    """Also the marker the bot looks for to avoid posting a board twice after a crash."""
    return (
        f"{incident.key} status board: {incident.severity.label} {incident.type.label.lower()}"
        f" — {incident.title} ({STATUS_LABEL[incident.status].lower()})"
    )


def _step_line(record: StepRecord, tz: ZoneInfo) -> str:
    step = record.step
    line = f"{STATE_ICON[record.state]} *{step.number}. {step.label}* {step.label_zh}"
    if record.state is StepState.DONE and record.completed_at:
        who = f" by {actor_text(record.completed_by)}" if record.completed_by else ""
        line += f" — done{who} at {local_time(record.completed_at, tz, with_date=False)}"
    elif record.state is StepState.IN_PROGRESS and record.started_at:
        who = f" by {actor_text(record.started_by)}" if record.started_by else ""
        line += f" — in progress{who} since {local_time(record.started_at, tz, with_date=False)}"
    elif record.state is StepState.SKIPPED:
        line += f" — skipped: {clip_escaped(record.note or 'no reason given', NOTE_LIMIT)}"
    else:
        line += " — pending"
    return line


def _fact(value: object) -> str:
    return clip_escaped(str(value), FACT_LIMIT)


def _facts(incident: IncidentSnapshot, tz: ZoneInfo) -> list[MarkdownTextObject]:
    d = incident.details
    facts: list[tuple[str, str]] = [
        ("Severity", f"{SEVERITY_ICON[incident.severity]} {incident.severity.label}"),
        ("Status", STATUS_LABEL[incident.status]),
        ("Opened", local_time(incident.opened_at, tz)),
        ("Occurred", local_time(incident.occurred_at, tz)),
        ("Source", _fact(incident.origin or incident.source)),
    ]
    if d.get("payment_method"):
        facts.append(("Payment method", _fact(d["payment_method"])))
    if d.get("merchant_id"):
        facts.append(("Merchant", _fact(d["merchant_id"])))
    if incident.amount is not None:
        facts.append(("Amount", _fact(money(incident.amount, d.get("currency")))))
    count = d.get("affected_transactions")
    if count is not None:
        shown = f"{int(count):,}" if str(count).isdigit() else _fact(count)
        facts.append(("Affected transactions", shown))
    if d.get("error_code"):
        facts.append(("Error code", f"`{_fact(d['error_code'])}`"))
    # A section holds at most 10 fields.
    return [MarkdownTextObject(text=f"*{name}*\n{value}") for name, value in facts[:10]]


def _monitoring(incident: IncidentSnapshot, tz: ZoneInfo) -> str | None:
    """How many monitoring events the incident has had, first and last seen, the latest:
    in a storm the channel only gets a summary a window, the board is always current."""
    if incident.event_count <= 1 and incident.last_event_at is None:
        return None
    first, last = incident.opened_at, incident.last_event_at or incident.opened_at
    same_day = first.astimezone(tz).date() == last.astimezone(tz).date()
    count = f"{incident.event_count:,} event" + ("" if incident.event_count == 1 else "s")
    line = (
        f"*Monitoring events 监控事件* {count} · first seen {local_time(first, tz)}"
        f" · last seen {local_time(last, tz, with_date=not same_day)}"
    )
    if incident.last_event_title:
        line += f"\nLatest: {clip_escaped(incident.last_event_title, FACT_LIMIT)}"
    return line


def _roles_line(incident: IncidentSnapshot) -> str:
    """``*Commander* <@U…> · *Tech lead* — · *Comms* —``."""
    parts = []
    for role in Role:
        holder = incident.roles.get(role)
        parts.append(f"*{role.label}* {actor_text(holder) if holder else '—'}")
    return " · ".join(parts)


def _feature_line(line: BoardLine) -> str:
    """A feature's line (bot/chat/board.py): its text escaped, its people as mentions
    (an id that is not a user id is shown as text, so it cannot become markup)."""
    body = clip(line.said, FACT_LIMIT * 4).render(
        lambda person: mention(person) if is_user_id(person) else escape(person), escape
    )
    return f"*{clip_escaped(line.title, 100)}* {body}"


def _resolution(incident: IncidentSnapshot, tz: ZoneInfo) -> str | None:
    if incident.status is IncidentStatus.OPEN:
        return None
    if not (incident.resolution_summary or incident.cause_category or incident.resolved_at):
        return None
    lines = [f"*Resolution 解决方案* — resolved at {local_time(incident.resolved_at, tz)}"]
    if incident.cause_category:
        cause = incident.cause_category
        lines.append(f"*Cause 原因* {cause.label} {cause.label_zh}")
    summary = incident.resolution_summary
    lines.append(clip_escaped(summary, 2500) if summary else "_no summary recorded_")
    return "\n".join(lines)


def _partners(partners: Sequence[Partner]) -> str:
    lines = ["*Partners 合作伙伴*"]
    lines += [f"• {partner_line(p)}" for p in partners[:MAX_PARTNERS_SHOWN]]
    hidden = len(partners) - MAX_PARTNERS_SHOWN
    if hidden > 0:
        lines.append(f"_and {hidden} more: `/oor partners` lists them all_")
    text = "\n".join(lines)
    if len(text) > SECTION_TEXT_LIMIT:  # verbose plan entries: keep the pointer visible
        text = truncate(text, SECTION_TEXT_LIMIT - 40) + "\n_`/oor partners` lists them all_"
    return text


def _actions(incident: IncidentSnapshot) -> ActionsBlock:
    value = str(incident.number)
    respond = incident.step(Step.RESPOND).state
    buttons: list[ButtonElement] = []
    for action_id, label in BOARD_ACTIONS.items():
        if action_id == "board_ack":
            if respond in (StepState.DONE, StepState.SKIPPED):
                continue
            style = "primary" if respond is StepState.PENDING else None
            buttons.append(ButtonElement(text=label, action_id=action_id, value=value, style=style))
            continue
        buttons.append(ButtonElement(text=label, action_id=action_id, value=value))
    return ActionsBlock(block_id=ACTIONS_BLOCK_ID, elements=buttons)


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=truncate(text, SECTION_TEXT_LIMIT)))


def build_status_board(
    incident: IncidentSnapshot,
    *,
    tz: ZoneInfo,
    now: datetime,
    runbook_url: str | None = None,
    partners: Sequence[Partner] = (),
    lines: Sequence[BoardLine] = (),
) -> SlackMessage:
    header = truncate(
        f"{SEVERITY_ICON[incident.severity]} {incident.key} · {incident.type.label} "
        f"{incident.type.label_zh}",
        150,
    )
    summary = f"*{clip_escaped(incident.title, 400)}*"
    if incident.description:
        summary += "\n" + clip_escaped(incident.description, 2400)
    steps = "\n".join(_step_line(record, tz) for record in incident.steps)
    if incident.status is not IncidentStatus.OPEN and incident.resolved_at:
        took = readable_duration(incident.resolved_at - incident.opened_at)
        context = [f"Resolved after {took} · as of {local_time(now, tz)}"]
    else:
        context = [
            f"Open for {readable_duration(now - incident.opened_at)} as of {local_time(now, tz)}"
        ]
    # Each link is its own context element, a text object of up to 3000 characters, so an
    # alert URL of ~2,900 characters (generatorURL embeds its PromQL) still links.
    full_link_at = f"`oor-bot incidents show {incident.key}` or GET /api/incidents/{incident.key}"
    for url, label in ((runbook_url, "Runbook"), (incident.url, "Alert source")):
        if url:
            context.append(
                link_or_pointer(url, label, limit=SECTION_TEXT_LIMIT - 2, full_link_at=full_link_at)
            )
    context.append("Run `/oor help` for commands")
    blocks: list[Block] = [
        HeaderBlock(text=header),
        _section(summary),
        SectionBlock(fields=_facts(incident, tz)),
    ]
    monitoring = _monitoring(incident, tz)
    if monitoring:
        blocks.append(_section(monitoring))
    blocks += [
        _section(_roles_line(incident)),
    ]
    if lines:
        blocks.append(_section("\n".join(_feature_line(line) for line in lines)))
    blocks += [
        DividerBlock(),
        _section("*Handling steps 处理步骤*\n" + steps),
    ]
    resolution = _resolution(incident, tz)
    if resolution:
        blocks.append(_section(resolution))
    if partners:
        blocks.append(_section(_partners(partners)))
    if incident.status is not IncidentStatus.CLOSED:
        blocks.append(_actions(incident))
    blocks.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(text=text + (" ·" if i < len(context) - 1 else ""))
                for i, text in enumerate(context)
            ]
        )
    )
    return SlackMessage(text=escape(board_fallback_text(incident)), blocks=tuple(blocks))
