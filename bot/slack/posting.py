"""Posting from outbox jobs exactly once.

A job may die after Slack accepted its message but before the job was marked done. Every
message a job posts therefore carries Slack message ``metadata`` naming the job, and a
retried job first looks for that message in the channel's recent history.
"""

from __future__ import annotations

from typing import Any

from bot.chat.port import Once
from bot.slack.gateway import SlackGateway
from bot.slack.views import SlackMessage

METADATA_EVENT_TYPE = "oor_bot_post"
_HISTORY_LOOKBACK = 200


def _marker(key: int) -> dict[str, Any]:
    return {"event_type": METADATA_EVENT_TYPE, "event_payload": {"job": key}}


def find_posted(gateway: SlackGateway, channel_id: str, key: int) -> str | None:
    data = gateway.call(
        "conversations.history",
        channel=channel_id,
        limit=_HISTORY_LOOKBACK,
        include_all_metadata=True,
    )
    for message in data.get("messages", []):
        payload = (message.get("metadata") or {}).get("event_payload") or {}
        if payload.get("job") == key:
            return str(message["ts"])
    return None


def find_shared_file(gateway: SlackGateway, channel_id: str, filename: str) -> str | None:
    """The id of a file named ``filename`` the bot already shared in the channel."""
    data = gateway.call("conversations.history", channel=channel_id, limit=_HISTORY_LOOKBACK)
    for message in data.get("messages", []):
        for file in message.get("files") or []:
            if file.get("name") == filename and file.get("id"):
                return str(file["id"])
    return None


def post_once(
    gateway: SlackGateway,
    channel_id: str,
    message: SlackMessage,
    once: Once | None,
    **extra: Any,
) -> str:
    """Post ``message`` unless an earlier attempt of ``once`` already did; return its ts."""
    if once is not None and once.maybe_done:
        already = find_posted(gateway, channel_id, once.key)
        if already:
            return already
    data = gateway.call(
        "chat.postMessage",
        channel=channel_id,
        **({"metadata": _marker(once.key)} if once is not None else {}),
        **message.as_args(),
        **extra,
    )
    return str(data["ts"])
