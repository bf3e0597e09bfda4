"""The pinned status board of an incident channel: what broke, the facts, the six steps.

It is re-rendered from the stored incident after every change and updated in place, so
it always shows the truth rather than a history of edits.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.domain.incident import IncidentSnapshot, StepRecord
from bot.domain.types import IncidentStatus, Severity, StepState
from bot.slack.text import (
    SECTION_TEXT_LIMIT,
    duration,
    escape,
    link,
    local_time,
    mention,
    money,
    truncate,
)
from bot.slack.views import SlackMessage

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
        who = f" by {mention(record.completed_by)}" if record.completed_by else ""
        line += f" — done{who} at {local_time(record.completed_at, tz, with_date=False)}"
    elif record.state is StepState.IN_PROGRESS and record.started_at:
        who = f" by {mention(record.started_by)}" if record.started_by else ""
        line += f" — in progress{who} since {local_time(record.started_at, tz, with_date=False)}"
    elif record.state is StepState.SKIPPED:
        line += f" — skipped: {escape(record.note or 'no reason given')}"
    else:
        line += " — pending"
    return line


def _facts(incident: IncidentSnapshot, tz: ZoneInfo) -> list[MarkdownTextObject]:
    d = incident.details
    facts: list[tuple[str, str]] = [
        ("Severity", f"{SEVERITY_ICON[incident.severity]} {incident.severity.label}"),
        ("Status", STATUS_LABEL[incident.status]),
        ("Opened", local_time(incident.opened_at, tz)),
        ("Occurred", local_time(incident.occurred_at, tz)),
        ("Source", escape(incident.origin or incident.source)),
    ]
    if d.get("payment_method"):
        facts.append(("Payment method", escape(str(d["payment_method"]))))
    if d.get("merchant_id"):
        facts.append(("Merchant", escape(str(d["merchant_id"]))))
    if incident.amount is not None:
        facts.append(("Amount", escape(money(incident.amount, d.get("currency")))))
    if d.get("affected_transactions") is not None:
        facts.append(("Affected transactions", f"{int(d['affected_transactions']):,}"))
    if d.get("error_code"):
        facts.append(("Error code", f"`{escape(str(d['error_code']))}`"))
    if incident.event_count > 1:
        facts.append(("Related events", str(incident.event_count)))
    # A section holds at most 10 fields.
    return [MarkdownTextObject(text=f"*{name}*\n{value}") for name, value in facts[:10]]


def build_status_board(
    incident: IncidentSnapshot,
    *,
    tz: ZoneInfo,
    now: datetime,
    runbook_url: str | None = None,
) -> SlackMessage:
    header = truncate(
        f"{SEVERITY_ICON[incident.severity]} {incident.key} · {incident.type.label} "
        f"{incident.type.label_zh}",
        150,
    )
    summary = f"*{escape(incident.title)}*"
    if incident.description:
        summary += "\n" + escape(incident.description)
    steps = "\n".join(_step_line(record, tz) for record in incident.steps)
    context = [f"Open for {duration(now - incident.opened_at)} as of {local_time(now, tz)}"]
    if runbook_url:
        context.append(link(runbook_url, "Runbook"))
    if incident.url:
        context.append(link(incident.url, "Alert source"))
    context.append("Run `/oor help` for commands")
    blocks: list[Block] = [
        HeaderBlock(text=header),
        SectionBlock(text=MarkdownTextObject(text=truncate(summary, SECTION_TEXT_LIMIT))),
        SectionBlock(fields=_facts(incident, tz)),
        DividerBlock(),
        SectionBlock(
            text=MarkdownTextObject(
                text=truncate("*Handling steps 处理步骤*\n" + steps, SECTION_TEXT_LIMIT)
            )
        ),
        ContextBlock(elements=[MarkdownTextObject(text=" · ".join(context))]),
    ]
    return SlackMessage(text=escape(board_fallback_text(incident)), blocks=tuple(blocks))
