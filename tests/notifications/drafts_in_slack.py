"""Finding and clicking notification drafts in the emulated incident channel."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import select

from bot.sandbox.slack_client import Delivery
from bot.storage.models import NotificationDraftRow
from tests.integration.slack_flow import IncidentRoom
from tests.support import wait_for


def draft_messages(room: IncidentRoom) -> list[dict[str, Any]]:
    return [
        m
        for m in room.emulator.messages(room.channel_id)
        if " customer notification " in str(m.get("text", ""))
    ]


def wait_drafts(room: IncidentRoom, count: int) -> list[dict[str, Any]]:
    def posted() -> list[dict[str, Any]]:
        found = draft_messages(room)
        return found if len(found) >= count else []

    return wait_for(posted, what=f"{count} draft messages")


def draft_message(room: IncidentRoom, label: str) -> dict[str, Any]:
    """The current state of the draft message whose fallback names ``label``."""
    return next(m for m in draft_messages(room) if f"notification {label}:" in m["text"])


def blocks_text(message: dict[str, Any]) -> str:
    return json.dumps(message.get("blocks") or [], ensure_ascii=False)


def action_ids(message: dict[str, Any]) -> list[str]:
    return [
        element["action_id"]
        for block in message.get("blocks") or []
        if block.get("type") == "actions"
        for element in block["elements"]
    ]


def button_value(message: dict[str, Any], action_id: str) -> str:
    for block in message.get("blocks") or []:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                return str(element["value"])
    raise AssertionError(f"no {action_id} button")


def click_draft(room: IncidentRoom, label: str, action_id: str, user: str) -> Delivery:
    message = draft_message(room, label)
    delivery = room.slack.click(
        user_id=user,
        channel_id=room.channel_id,
        message_ts=message["ts"],
        action_id=action_id,
        value=button_value(message, action_id),
    )
    assert delivery.status == 200, delivery.body
    return delivery


def wait_draft(room: IncidentRoom, label: str, *fragments: str) -> dict[str, Any]:
    def shows() -> dict[str, Any]:
        try:
            message = draft_message(room, label)
        except StopIteration:
            return {}
        text = message["text"] + blocks_text(message)
        return message if all(f in text for f in fragments) else {}

    return wait_for(shows, what=f"draft {label} showing {fragments}")


def replay_click(room: IncidentRoom, label: str, action_id: str, user: str) -> Delivery:
    """A click on a button the message no longer shows (Slack may deliver a stale click,
    or a person clicks twice before the update arrives)."""
    message = draft_message(room, label)

    def stored_id() -> str:
        # The bot records the message's ts just after posting it.
        with room.bot.app.db.session() as session:
            row = session.exec(
                select(NotificationDraftRow).where(NotificationDraftRow.message_ts == message["ts"])
            ).first()
            return str(row.id) if row else ""

    draft_id = wait_for(stored_id, what=f"stored draft {label}")
    delivery = room.slack.click(
        user_id=user,
        channel_id=room.channel_id,
        message_ts=message["ts"],
        action_id=action_id,
        value=draft_id,
    )
    assert delivery.status == 200, delivery.body
    return delivery
