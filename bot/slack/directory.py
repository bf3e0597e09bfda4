"""Turning the plan's responders (user ids, emails, @user-group handles) into Slack users.

Lookups are cached for a while per process: responders change rarely, and an incident
storm must not spend Slack's rate limit on ``users.lookupByEmail`` for the same people.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.domain.plan import ResponderRef
from bot.slack.gateway import SlackCallError, SlackGateway


@dataclass(frozen=True)
class Resolution:
    user_ids: list[str] = field(default_factory=list)
    # (what the plan said, why it could not be used)
    unresolved: list[tuple[str, str]] = field(default_factory=list)


class _TtlCache:
    def __init__(self, ttl_seconds: float, monotonic: Callable[[], float]) -> None:
        self._ttl = ttl_seconds
        self._monotonic = monotonic
        self._items: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        with self._lock:
            item = self._items.get(key)
        if item is None or item[0] < self._monotonic():
            return None
        return item[1]

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            self._items[key] = (self._monotonic() + self._ttl, value)


class Directory:
    def __init__(
        self,
        gateway: SlackGateway,
        ttl_seconds: float = 600.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._gateway = gateway
        self._cache = _TtlCache(ttl_seconds, monotonic)

    def resolve(self, refs: Iterable[ResponderRef]) -> Resolution:
        users: list[str] = []
        unresolved: list[tuple[str, str]] = []
        for ref in refs:
            try:
                found = self._resolve_one(ref)
            except SlackCallError as exc:
                unresolved.append((_describe(ref), exc.error))
                continue
            for user_id in found:
                if user_id not in users:
                    users.append(user_id)
        return Resolution(users, unresolved)

    def _resolve_one(self, ref: ResponderRef) -> list[str]:
        if ref.kind == "user":
            return [ref.value]
        key = f"{ref.kind}:{ref.value.lower()}"
        cached = self._cache.get(key)
        if cached is not None:
            return list(cached)
        if ref.kind == "email":
            data = self._gateway.call("users.lookupByEmail", email=ref.value)
            found = [str(data["user"]["id"])]
        else:
            found = self._usergroup_members(ref.value)
        self._cache.put(key, found)
        return found

    def _usergroup_members(self, handle: str) -> list[str]:
        group_id = self._cache.get(f"group-id:{handle.lower()}")
        if group_id is None:
            groups = self._gateway.call("usergroups.list").get("usergroups", [])
            for group in groups:
                self._cache.put(f"group-id:{str(group.get('handle', '')).lower()}", group["id"])
            group_id = self._cache.get(f"group-id:{handle.lower()}")
        if group_id is None:
            raise SlackCallError("usergroups.list", "no_such_subteam", {})
        data = self._gateway.call("usergroups.users.list", usergroup=group_id)
        return [str(u) for u in data.get("users", [])]


def _describe(ref: ResponderRef) -> str:
    return f"@{ref.value}" if ref.kind == "usergroup" else ref.value
