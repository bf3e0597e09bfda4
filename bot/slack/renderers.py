"""Slack renderings of the core's message kinds (:mod:`bot.chat.messages`)."""

from __future__ import annotations

import re
from typing import Any

from bot.chat import messages
from bot.chat.board import BoardLines
from bot.domain.clock import Clock
from bot.domain.incident import IncidentSnapshot
from bot.domain.plan import Plan
from bot.domain.records import Sentence, is_user_id
from bot.slack.platform import SlackRenderers
from bot.slack.text import channel_link, escape, mention, said_text
from bot.slack.views import SlackMessage
from bot.slack.views.status_board import build_status_board

NOTICE_ICONS = {
    "step": "▶️",
    "record": "📝",
    "finding": "🔎",
    "role": "👤",
    "severity": "🚦",
    "status": "📌",
    "grouped": "➕",
    "recovered": "💚",
}
SUMMARY_ICON = "📈"


def notice_text(payload: dict[str, Any]) -> str:
    """The one-line channel message for a timeline entry: its sentence with outside text
    escaped and the people it names as mentions, after the actor's mention."""
    parts = payload.get("said")
    if isinstance(parts, list):
        text = said_text(Sentence.from_json(parts))
    else:  # a notice queued before records: its text, with the users it listed as mentions
        text = _legacy_text(payload)
    icon = NOTICE_ICONS.get(str(payload.get("kind", "")), "•")
    actor = payload.get("actor")
    # A person acted: their mention first. A system (the bot, a pager) is not a person.
    return f"{icon} {mention(str(actor))} {text}" if is_user_id(actor) else f"{icon} {text}"


def _legacy_text(payload: dict[str, Any]) -> str:
    text = escape(str(payload.get("text", "")))
    named = [str(user) for user in payload.get("mentions", [])]
    if named:
        people = "|".join(re.escape(user) for user in named)
        pattern = rf"&lt;@({people})&gt;|(?<!\S)@({people})(?=[\s,.;:)]|$)"
        text = re.sub(pattern, lambda m: mention(m[1] or m[2]), text)
    return text


def register_core_renderers(
    renderers: SlackRenderers, plan: Plan, clock: Clock, board_lines: BoardLines | None = None
) -> None:
    def board(incident: IncidentSnapshot) -> SlackMessage:
        runbook = plan.for_type(incident.type).runbook_url
        return build_status_board(
            incident,
            tz=plan.tz,
            now=clock.now(),
            runbook_url=str(runbook) if runbook else None,
            partners=plan.partners_for(incident.type, incident.payment_method),
            lines=board_lines(incident) if board_lines is not None else (),
        )

    def announcement(data: messages.Announcement) -> SlackMessage:
        incident = data.incident
        return SlackMessage(
            text=f"🚨 *{incident.key}* {incident.severity.label} {incident.type.label} — "
            f"{escape(incident.title)} → {channel_link(data.room)}"
        )

    def private_announcement(data: messages.PrivateAnnouncement) -> SlackMessage:
        # Nothing but the key and the commander: no title, facts or link to the room.
        who = f"; its commander is {mention(data.commander)}" if data.commander else ""
        return SlackMessage(text=f"🔒 A private incident *{data.key}* was opened{who}.")

    renderers.register(messages.NOTICE, lambda payload: SlackMessage(text=notice_text(payload)))
    renderers.register(messages.BOARD, board)
    renderers.register(messages.ANNOUNCEMENT, announcement, unfurl_links=False)
    renderers.register(messages.PRIVATE_ANNOUNCEMENT, private_announcement, unfurl_links=False)
    renderers.register(
        messages.EVENT_SUMMARY,
        lambda sentence: SlackMessage(text=f"{SUMMARY_ICON} {escape(str(sentence))}"),
    )
