"""Finding channels by name and posting into channels the bot may not have joined yet.

The plan names its broadcast and review channels as ``#name`` (or an id); Slack's API
wants ids, so the name is looked up once per process. Used by the incident announcement
and the weekly digest alike.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from bot.slack.gateway import SlackCallError, SlackGateway, SlackPermanent

T = TypeVar("T")


def find_channel(
    gateway: SlackGateway, name: str, *, include_archived: bool = True
) -> dict[str, Any] | None:
    """The channel called ``name`` (public or private), paging through conversations.list."""
    cursor: str | None = None
    while True:
        data = gateway.call(
            "conversations.list",
            types="public_channel,private_channel",
            exclude_archived=not include_archived,
            limit=1000,
            cursor=cursor,
        )
        for channel in data.get("channels", []):
            if channel.get("name") == name:
                return dict(channel)
        cursor = (data.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor:
            return None


def call_joining(gateway: SlackGateway, channel_id: str, action: Callable[[], T]) -> T:
    """Run ``action``; if the bot is not in the channel yet, join it and run it again."""
    try:
        return action()
    except SlackCallError as exc:
        if exc.error != "not_in_channel":
            raise
        gateway.call("conversations.join", channel=channel_id)
        return action()


class ChannelIds:
    """``#name`` or ``C…`` -> channel id, looked up once per process."""

    def __init__(self, gateway: SlackGateway) -> None:
        self._gateway = gateway
        self._ids: dict[str, str] = {}
        self._lock = threading.Lock()

    def resolve(self, target: str) -> str:
        with self._lock:
            known = self._ids.get(target)
        if known is not None:
            return known
        name = target.removeprefix("#")
        if not target.startswith("#") and name[:1].isupper():
            channel_id = target  # already an id (C…/G…)
        else:
            found = find_channel(self._gateway, name, include_archived=False)
            if found is None:
                raise SlackPermanent("conversations.list", f"channel {target} not found")
            channel_id = str(found["id"])
        with self._lock:
            self._ids[target] = channel_id
        return channel_id
