"""``/oor timeline [page]``: what happened, when and by whom, a page at a time."""

from __future__ import annotations

import re
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.domain.incident import IncidentSnapshot, TimelineEntry
from bot.domain.records import Part, Person, clip, is_user_id, said
from bot.slack.text import (
    SECTION_TEXT_LIMIT,
    escape,
    local_time,
    mention,
    said_text,
    truncate,
)
from bot.slack.views import SlackMessage

MAX_PAGE_SIZE = 40  # every entry may need a section of its own: 40 + header + footer < 50
ENTRY_TEXT_LIMIT = 2000  # characters of one entry's text, before escaping
_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")


def actor_text(actor: str | None) -> str:
    """A Slack user id becomes a mention; anything else (``alertmanager``) escaped text."""
    if not actor:
        return "—"
    if is_user_id(actor):
        return mention(actor)
    return escape(actor)


def clip_escaped(text: str, limit: int) -> str:
    """Escape ``text`` and keep it within ``limit`` without cutting an entity in half."""
    escaped = escape(truncate(text, limit))
    if len(escaped) <= limit:
        return escaped
    return _PARTIAL_ENTITY.sub("", escaped[: limit - 1]) + "…"


def _entry_line(entry: TimelineEntry, tz: ZoneInfo) -> str:
    if entry.said.people():
        # The bot's own sentence naming people: short parts, so cut as a sentence.
        shown = clip(said(*(_one_line(p) for p in entry.said.parts)), ENTRY_TEXT_LIMIT)
        text = said_text(shown)
    else:
        text = clip_escaped(" ".join(entry.text.split()), ENTRY_TEXT_LIMIT)
    return f"{local_time(entry.at, tz, with_date=False)} · {actor_text(entry.actor)} · {text}"


def _one_line(part: Part) -> Part:
    return part if isinstance(part, Person) else re.sub(r"\s+", " ", part)


def _page_lines(entries: Sequence[TimelineEntry], tz: ZoneInfo) -> list[str]:
    """Entry lines, with the date on a line of its own at the top and when it changes."""
    lines: list[str] = []
    shown_date: str | None = None
    for entry in entries:
        date = entry.at.astimezone(tz).strftime("%Y-%m-%d (%a)")
        if date != shown_date:
            lines.append(f"*{date}*")
            shown_date = date
        lines.append(_entry_line(entry, tz))
    return lines


def _sections(lines: list[str]) -> list[str]:
    """Join lines into section texts, none over Slack's 3000 characters."""
    texts: list[str] = []
    current = ""
    for line in lines:
        if current and len(current) + 1 + len(line) > SECTION_TEXT_LIMIT:
            texts.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        texts.append(current)
    return texts


def build_timeline_message(
    incident: IncidentSnapshot,
    entries: Sequence[TimelineEntry],
    *,
    tz: ZoneInfo,
    page: int = 1,
    page_size: int = 20,
) -> SlackMessage:
    """One page of ``entries`` (oldest first, as given); an out-of-range page shows the last."""
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    pages = max(1, -(-len(entries) // page_size))
    if not 1 <= page <= pages:
        page = pages
    shown = entries[(page - 1) * page_size : page * page_size]
    blocks: list[Block] = [HeaderBlock(text=truncate(f"{incident.key} timeline", 150))]
    if not shown:
        blocks.append(SectionBlock(text=MarkdownTextObject(text="_Nothing on the timeline yet._")))
        text = f"{incident.key} timeline: nothing recorded yet"
        return SlackMessage(text=text, blocks=tuple(blocks))

    blocks.extend(
        SectionBlock(text=MarkdownTextObject(text=t)) for t in _sections(_page_lines(shown, tz))
    )
    footer = f"Page {page} of {pages}"
    if page < pages:
        footer += f" · /oor timeline {page + 1} for more"
    footer += f" · {len(entries):,} entries · times in {escape(tz.key)}"
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=footer)]))
    text = f"{incident.key} timeline, page {page} of {pages} ({len(entries):,} entries)"
    return SlackMessage(text=text, blocks=tuple(blocks))
