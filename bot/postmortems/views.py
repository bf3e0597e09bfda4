"""Block Kit surfaces of step 6: the review form, the post-mortem summary message (with its
**Publish** button) and the action item lists."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DatePickerElement,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    SectionBlock,
    UserSelectElement,
)
from slack_sdk.models.views import View

from bot.domain.durations import readable_duration as format_duration
from bot.domain.incident import IncidentSnapshot
from bot.domain.types import parse_id
from bot.postmortems.model import (
    NOTE_FIELDS,
    ActionItem,
    NewActionItem,
    ReviewNotes,
    SummaryMessage,
)
from bot.postmortems.model import StoredPostmortem as Stored
from bot.slack.text import SECTION_TEXT_LIMIT, escape, local_time, mention, truncate
from bot.slack.views import SlackMessage
from bot.slack.views.record_modal import INPUT_LIMIT, state_values, text_value
from bot.slack.views.timeline import clip_escaped

REVIEW_CALLBACK_ID = "review_modal"
PUBLISH_ACTION_ID = "postmortem_publish"
ACTION_ROWS = 3  # new action items per form; more with `/oor actions add`
ACTION_TEXT_LIMIT = 1000
LIST_LIMIT = 40  # action items per list message
PLACEHOLDERS = {
    "what_happened": "In your words: what broke, what customers saw, what we did",
    "root_cause": "Why it broke, and why nothing caught it sooner",
    "went_well": "e.g. the monitor opened the incident within a minute",
    "to_improve": "e.g. fail over automatically on CHANNEL_BLOCKED",
}


# -- the review form ----------------------------------------------------------------------------
def _row_ids(n: int) -> tuple[str, str, str]:
    return f"action_{n}_text", f"action_{n}_owner", f"action_{n}_due"


def build_review_modal(
    incident: IncidentSnapshot, notes: ReviewNotes | None, items: Sequence[ActionItem]
) -> View:
    notes = notes or ReviewNotes()
    blocks: list[Block] = [
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"*{incident.key}* · {clip_escaped(incident.title, 300)} — the durations, "
                    "impact, steps and timeline are compiled from the record; add what only "
                    "people know."
                )
            ]
        )
    ]
    for name, (label, label_zh) in NOTE_FIELDS.items():
        current = notes.text(name)
        blocks.append(
            InputBlock(
                block_id=name,
                label=f"{label} {label_zh}",
                optional=True,
                element=PlainTextInputElement(
                    action_id=name,
                    multiline=True,
                    max_length=INPUT_LIMIT,
                    initial_value=current if current and len(current) <= INPUT_LIMIT else None,
                    placeholder=PLACEHOLDERS[name],
                ),
            )
        )
    if items:
        listed = "; ".join(f"{i.number}. {truncate(i.text, 80)}" for i in items[:10])
        more = f" (and {len(items) - 10} more)" if len(items) > 10 else ""
        blocks.append(
            ContextBlock(
                elements=[MarkdownTextObject(text=f"Action items so far: {escape(listed)}{more}")]
            )
        )
    for n in range(1, ACTION_ROWS + 1):
        text_id, owner_id, due_id = _row_ids(n)
        blocks += [
            InputBlock(
                block_id=text_id,
                label=f"New action item {n}",
                optional=True,
                element=PlainTextInputElement(
                    action_id=text_id,
                    max_length=ACTION_TEXT_LIMIT,
                    placeholder="What will be done",
                ),
            ),
            InputBlock(
                block_id=owner_id,
                label="Owner",
                optional=True,
                element=UserSelectElement(action_id=owner_id, placeholder="Who does it"),
            ),
            InputBlock(
                block_id=due_id,
                label="Due",
                optional=True,
                element=DatePickerElement(action_id=due_id, placeholder="Due date"),
            ),
        ]
    return View(
        type="modal",
        callback_id=REVIEW_CALLBACK_ID,
        title=truncate(f"Review {incident.key}", 24),
        submit="Compile",
        close="Cancel",
        private_metadata=str(incident.number),
        blocks=blocks,
    )


@dataclass(frozen=True)
class ReviewForm:
    notes: ReviewNotes
    items: tuple[NewActionItem, ...]
    errors: dict[str, str]  # block id -> message


def _picked(values: dict[str, Any], block_id: str, key: str) -> str | None:
    """A users_select (``selected_user``) or datepicker (``selected_date``) value."""
    element = (values.get(block_id) or {}).get(block_id) or {}
    value = element.get(key)
    return value if isinstance(value, str) and value else None


def review_values(view_state: dict[str, Any]) -> ReviewForm:
    values = state_values(view_state)
    notes = ReviewNotes(
        what_happened=text_value(values, "what_happened"),
        root_cause=text_value(values, "root_cause"),
        went_well=text_value(values, "went_well"),
        to_improve=text_value(values, "to_improve"),
    )
    items: list[NewActionItem] = []
    errors: dict[str, str] = {}
    for n in range(1, ACTION_ROWS + 1):
        text_id, owner_id, due_id = _row_ids(n)
        text = " ".join((text_value(values, text_id) or "").split())
        owner = _picked(values, owner_id, "selected_user")
        raw_due = _picked(values, due_id, "selected_date")
        due = None
        if raw_due:
            try:
                due = date.fromisoformat(raw_due)
            except ValueError:
                errors[due_id] = "Pick a date."
        if not text:
            if owner or raw_due:
                errors[text_id] = "Say what will be done (or clear the owner and due date)."
            continue
        items.append(NewActionItem(text=text, owner=owner, due=due))
    return ReviewForm(notes=notes, items=tuple(items), errors=errors)


# -- the summary message ------------------------------------------------------------------------
def summary_fallback(stored: Stored) -> str:
    return f"{stored.key} post-mortem v{stored.version} ({stored.filename})"


def build_summary_message(stored: Stored, title: str, tz: ZoneInfo) -> SlackMessage:
    """Posted under the uploaded file: the figures at a glance and the Publish button."""
    facts = stored.facts
    seconds = facts.get("durations_seconds") or {}
    impact = facts.get("impact") or {}
    items = facts.get("action_items") or {}

    def took(name: str) -> str:
        value = seconds.get(name)
        return format_duration(None if value is None else timedelta(seconds=value))

    lines = [
        f"*{stored.key}* · {clip_escaped(title, 200)}",
        f"Acknowledged after {took('acknowledge')} · resolved after {took('resolve')} · "
        f"total {took('total')}",
    ]
    affected = impact.get("affected_transactions")
    amounts = impact.get("amounts") or {}
    impact_parts = [f"{affected:,} transactions"] if isinstance(affected, int) else []
    impact_parts += [f"{escape(c)} {Decimal(v):,.2f}" for c, v in amounts.items()]
    if impact_parts:
        lines.append("Impact: " + " · ".join(impact_parts))
    lines.append(f"Action items: {items.get('open', 0)} open, {items.get('done', 0)} done")
    blocks: list[Block] = [
        HeaderBlock(text=truncate(f"📝 Post-mortem v{stored.version}", 150)),
        SectionBlock(text=MarkdownTextObject(text=truncate("\n".join(lines), SECTION_TEXT_LIMIT))),
    ]
    if stored.published_at is not None:
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=f"✅ Published by {mention(str(stored.published_by))} "
                        f"{local_time(stored.published_at, tz)}"
                    )
                ]
            )
        )
    else:
        blocks += [
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=f"Compiled by {mention(stored.compiled_by)} "
                        f"{local_time(stored.compiled_at, tz)}. Read the file above; publish "
                        "it to complete step 6 (review 总结经验), or `/oor review` to edit."
                    )
                ]
            ),
            ActionsBlock(
                block_id=f"postmortem_{stored.version}",
                elements=[
                    ButtonElement(
                        text="Publish",
                        action_id=PUBLISH_ACTION_ID,
                        value=f"{stored.incident_number}:{stored.version}",
                        style="primary",
                    )
                ],
            ),
        ]
    return SlackMessage(text=summary_fallback(stored), blocks=tuple(blocks))


def parse_publish_value(value: str) -> tuple[int, int] | None:
    number, _, version = value.partition(":")
    parsed = parse_id(number), parse_id(version)
    return (parsed[0], parsed[1]) if parsed[0] is not None and parsed[1] is not None else None


# -- action item lists --------------------------------------------------------------------------
def _item_line(item: ActionItem, key: str | None) -> str:
    mark = "✅" if item.done else "⬜"
    where = f"*{key}* " if key else ""
    text = clip_escaped(item.text, 300)
    if item.done:
        text = f"~{text}~"
    extra = []
    if item.owner:
        extra.append(mention(item.owner))
    if item.due:
        extra.append(f"due {item.due.isoformat()}")
    tail = f" — {', '.join(extra)}" if extra else ""
    return f"{mark} {where}{item.number}. {text}{tail}"


def build_action_items_message(
    heading: str, items: Sequence[tuple[str | None, ActionItem]], empty: str
) -> SlackMessage:
    """``(incident key or None, item)`` pairs; the key is shown when listing many incidents."""
    if not items:
        return SlackMessage(text=f"{heading}: {empty}")
    shown = items[:LIST_LIMIT]
    lines = [_item_line(item, key) for key, item in shown]
    if len(items) > LIST_LIMIT:
        lines.append(f"… and {len(items) - LIST_LIMIT} more")
    sections: list[Block] = [HeaderBlock(text=truncate(heading, 150)), DividerBlock()]
    chunk: list[str] = []
    for line in lines:
        if sum(len(x) + 1 for x in chunk) + len(line) > SECTION_TEXT_LIMIT:
            sections.append(SectionBlock(text=MarkdownTextObject(text="\n".join(chunk))))
            chunk = []
        chunk.append(line)
    if chunk:
        sections.append(SectionBlock(text=MarkdownTextObject(text="\n".join(chunk))))
    sections.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="`/oor actions add <text> [@owner] [YYYY-MM-DD]` · "
                    "`/oor actions done <n>` (in the incident's channel)"
                )
            ]
        )
    )
    return SlackMessage(text=f"{heading}: {len(items)} item(s)", blocks=tuple(sections))


def summary_renderer(tz: ZoneInfo) -> Callable[[SummaryMessage], SlackMessage]:
    """The Slack rendering of message kind ``postmortem_summary``."""
    return lambda data: build_summary_message(data.stored, data.title, tz)
