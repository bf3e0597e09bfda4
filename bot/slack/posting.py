"""Posting from outbox jobs exactly once.

A job may die after Slack accepted its message but before the job was marked done. Every
message a job posts therefore carries Slack message ``metadata`` naming the job, and a
retried job first looks for that message in the channel's recent history.
"""

from __future__ import annotations

from typing import Any

from bot.slack.gateway import SlackGateway
from bot.slack.views import SlackMessage
from bot.storage.jobs import ClaimedJob

METADATA_EVENT_TYPE = "oor_bot_post"
_HISTORY_LOOKBACK = 200


def _marker(job: ClaimedJob) -> dict[str, Any]:
    return {"event_type": METADATA_EVENT_TYPE, "event_payload": {"job": job.id}}


def find_posted(gateway: SlackGateway, channel_id: str, job: ClaimedJob) -> str | None:
    data = gateway.call(
        "conversations.history",
        channel=channel_id,
        limit=_HISTORY_LOOKBACK,
        include_all_metadata=True,
    )
    for message in data.get("messages", []):
        payload = (message.get("metadata") or {}).get("event_payload") or {}
        if payload.get("job") == job.id:
            return str(message["ts"])
    return None


def post_once(
    gateway: SlackGateway,
    channel_id: str,
    message: SlackMessage,
    job: ClaimedJob,
    **extra: Any,
) -> str:
    """Post ``message`` for ``job`` unless an earlier attempt already did; return its ts."""
    if job.attempts > 1:
        already = find_posted(gateway, channel_id, job)
        if already:
            return already
    data = gateway.call(
        "chat.postMessage",
        channel=channel_id,
        metadata=_marker(job),
        **message.as_args(),
        **extra,
    )
    return str(data["ts"])
