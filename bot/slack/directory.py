"""Turning the plan's responders (user ids, emails, @user-group handles) into Slack users,
and user ids into display names.

Every permission check and every new incident resolves the plan's responders, so each answer
from Slack is kept for `DIRECTORY_TTL_SECONDS` per app: an incident (or a storm of them) asks
Slack about each email, the user groups and each name once, not once per command, and a change
in Slack (someone joins @payments-oncall) shows within minutes. Definite misses ("no such
group", "no user with that email") are kept too, or a plan naming a missing group would ask
Slack again on every command; rate limits and outages are not, they are retried.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import structlog

from bot.domain.plan import ResponderRef
from bot.slack.gateway import SlackCallError, SlackFailure, SlackGateway

log = structlog.get_logger(__name__)

DIRECTORY_TTL_SECONDS = 300.0
# Keys are the plan's emails, a few user groups and the names shown in post-mortems: small,
# but bounded anyway so a long-running process cannot grow without limit.
MAX_ENTRIES = 5000
# Slack answers that stay true until someone changes the workspace.
_DEFINITE_MISSES = frozenset({"users_not_found", "user_not_found", "no_such_subteam"})


@dataclass(frozen=True)
class Resolution:
    user_ids: list[str] = field(default_factory=list)
    # (what the plan said, why it could not be used)
    unresolved: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class _Miss:
    method: str
    error: str


class _TtlCache:
    """Values that expire `ttl_seconds` after they were stored; the oldest go first when full."""

    def __init__(self, ttl_seconds: float, monotonic: Callable[[], float], max_entries: int):
        self._ttl = ttl_seconds
        self._monotonic = monotonic
        self._max = max_entries
        self._items: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        """The stored value, or None when absent or expired."""
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            if item[0] <= self._monotonic():
                del self._items[key]
                return None
            return item[1]

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            self._items.pop(key, None)
            self._items[key] = (self._monotonic() + self._ttl, value)
            while len(self._items) > self._max:
                self._items.popitem(last=False)


class Directory:
    """Cached directory lookups of one app (each `create_app` builds its own)."""

    def __init__(
        self,
        gateway: SlackGateway,
        ttl_seconds: float = DIRECTORY_TTL_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
        max_entries: int = MAX_ENTRIES,
    ) -> None:
        self._gateway = gateway
        self._cache = _TtlCache(ttl_seconds, monotonic, max_entries)

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

    def real_name(self, user_id: str) -> str | None:
        """The user's real name ("" if they have none), or None if Slack cannot say now."""
        try:
            user = self._cached(f"user:{user_id}", "users.info", lambda: self._user(user_id))
        except SlackFailure as exc:
            log.info("user_name_unknown", user=user_id, error=exc.error)
            return None
        profile = user.get("profile") or {}
        return str(profile.get("real_name") or user.get("real_name") or "")

    def _user(self, user_id: str) -> dict[str, Any]:
        return dict(self._gateway.call("users.info", user=user_id).get("user") or {})

    def _resolve_one(self, ref: ResponderRef) -> list[str]:
        if ref.kind == "user":
            return [ref.value]
        if ref.kind == "email":
            email = ref.value.lower()
            key = f"email:{email}"
            return list(self._cached(key, "users.lookupByEmail", lambda: self._by_email(email)))
        members = self._usergroups().get(ref.value.lower())
        if members is None:
            raise SlackCallError("usergroups.list", "no_such_subteam", {})
        return list(members)

    def _by_email(self, email: str) -> list[str]:
        data = self._gateway.call("users.lookupByEmail", email=email)
        return [str(data["user"]["id"])]

    def _usergroups(self) -> dict[str, list[str]]:
        """Handle -> member ids of every enabled user group, in one call."""

        def fetch() -> dict[str, list[str]]:
            data = self._gateway.call("usergroups.list", include_users=True)
            return {
                str(group.get("handle", "")).lower(): [str(u) for u in group.get("users") or []]
                for group in data.get("usergroups", [])
            }

        groups: dict[str, list[str]] = self._cached("usergroups", "usergroups.list", fetch)
        return groups

    def _cached(self, key: str, method: str, fetch: Callable[[], Any]) -> Any:
        """`fetch()`'s answer, from the cache while fresh. A definite miss is cached and
        raised again as the same `SlackCallError`; other failures propagate uncached.
        Slack is called outside any lock (a job lends its turn while it waits on Slack, see
        bot.worker.OutboxTurn): threads missing the same key at once each ask once."""
        cached = self._cache.get(key)
        if isinstance(cached, _Miss):
            raise SlackCallError(cached.method, cached.error, {})
        if cached is not None:
            return cached
        try:
            value = fetch()
        except SlackCallError as exc:
            if exc.error in _DEFINITE_MISSES:
                self._cache.put(key, _Miss(method, exc.error))
            raise
        self._cache.put(key, value)
        return value


def _describe(ref: ResponderRef) -> str:
    return f"@{ref.value}" if ref.kind == "usergroup" else ref.value
