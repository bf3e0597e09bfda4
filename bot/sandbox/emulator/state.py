"""Workspace state of the Slack emulator and the Slack rules that do not depend on a method.

Everything here is plain Python with no I/O, so the rules can be unit-tested without a server.
The `Workspace` is not locked itself: `Emulator` serialises all access with one lock, which is
simpler to reason about than fine-grained locks and fast enough for a test double.
"""

from __future__ import annotations

import base64
import copy
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

JSON = dict[str, Any]

# Slack's channel-name rule: lowercase letters, digits, hyphens and underscores, at most 80
# characters. Slack itself lowercases uppercase input; the emulator rejects it instead so the
# bot is forced to normalise names the way Slack will show them.
CHANNEL_NAME_RE = re.compile(r"^[a-z0-9_\-]+$")
CHANNEL_NAME_MAX = 80

# Internal bookkeeping keys stored on messages that Slack never returns over the API.
_PRIVATE_MESSAGE_KEYS = ("edit_history", "metadata")


class SlackError(Exception):
    """A Slack `ok: false` outcome; `extra` is merged into the response body (e.g. `errors`)."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


@dataclass(frozen=True)
class Call:
    """One Web API call as the emulator received it, successful or not."""

    method: str
    args: dict[str, Any]
    token: str | None
    at: float
    http_status: int
    ok: bool
    error: str | None
    # What the call needed given its arguments and target: every clause met by one of its
    # scopes (see bot.sandbox.emulator.scopes); the contract tests check it against the manifest.
    needed_scopes: tuple[tuple[str, ...], ...] = ()

    def to_json(self) -> JSON:
        return asdict(self)


def channel_name_error(name: str | None) -> str | None:
    """Return Slack's error code for an unacceptable channel name, or None if it is fine."""
    if not name:
        return "invalid_name_required"
    if len(name) > CHANNEL_NAME_MAX:
        return "invalid_name_maxlength"
    if not CHANNEL_NAME_RE.match(name):
        return "invalid_name_specials"
    return None


def encode_cursor(kind: str, offset: int) -> str:
    """Opaque cursor in Slack's style (base64 of `kind:position`)."""
    return base64.b64encode(f"{kind}:{offset}".encode()).decode()


def decode_cursor(kind: str, cursor: str | None) -> int:
    """Offset encoded in `cursor`; an empty cursor means the first page."""
    if not cursor:
        return 0
    try:
        prefix, _, raw = base64.b64decode(cursor.encode(), validate=True).decode().partition(":")
        offset = int(raw)
    except ValueError as exc:  # binascii.Error and UnicodeDecodeError are ValueErrors
        raise SlackError("invalid_cursor") from exc
    if prefix != kind or offset < 0:
        raise SlackError("invalid_cursor")
    return offset


def paginate(kind: str, items: list[Any], limit: int, cursor: str | None) -> tuple[list[Any], str]:
    """Slice `items` for one page; returns the page and the next cursor ("" on the last page)."""
    start = decode_cursor(kind, cursor)
    if limit <= 0:
        return items[start:], ""
    end = start + limit
    return items[start:end], encode_cursor(kind, end) if end < len(items) else ""


def public_message(message: JSON, *, include_metadata: bool) -> JSON:
    """The message as the API returns it: internal keys removed, metadata only on request."""
    out = {
        k: copy.deepcopy(v)
        for k, v in message.items()
        if k not in _PRIVATE_MESSAGE_KEYS and v is not None
    }
    if include_metadata and message.get("metadata") is not None:
        out["metadata"] = copy.deepcopy(message["metadata"])
    return out


@dataclass
class Counters:
    """Monotonic id and timestamp sources; reset together with the workspace."""

    channel: int = 0
    usergroup: int = 0
    view: int = 0
    file: int = 0
    bookmark: int = 0
    trigger: int = 0
    response: int = 0
    last_ts_micros: int = 0


@dataclass
class Workspace:
    """All mutable data of one emulated Slack workspace."""

    team_id: str
    team_name: str
    team_domain: str
    bot_user_id: str
    bot_id: str
    clock: Callable[[], float]
    app_id: str = "A0OORBOT"
    # Where this emulator is reachable ("http://host:port/prefix/"); needed for upload and
    # response URLs. Known only once served, so `EmulatorServer` or the first request sets it.
    base_url: str = ""
    users: dict[str, JSON] = field(default_factory=dict)
    usergroups: dict[str, JSON] = field(default_factory=dict)
    channels: dict[str, JSON] = field(default_factory=dict)
    # Members are kept as insertion-ordered dicts so pagination is deterministic.
    members: dict[str, dict[str, None]] = field(default_factory=dict)
    messages: dict[str, list[JSON]] = field(default_factory=dict)
    ephemerals: dict[str, list[JSON]] = field(default_factory=dict)
    pins: dict[str, list[JSON]] = field(default_factory=dict)
    bookmarks: dict[str, list[JSON]] = field(default_factory=dict)
    views: list[JSON] = field(default_factory=list)
    files: dict[str, JSON] = field(default_factory=dict)
    file_bytes: dict[str, bytes] = field(default_factory=dict)
    responses: dict[str, JSON] = field(default_factory=dict)
    response_log: list[JSON] = field(default_factory=list)
    # Socket Mode URLs handed out by apps.connections.open and not used yet (ticket -> when).
    socket_tickets: dict[str, float] = field(default_factory=dict)
    counters: Counters = field(default_factory=Counters)

    # ----------------------------------------------------------------- ids and time
    def now(self) -> int:
        return int(self.clock())

    def next_ts(self) -> str:
        """A message timestamp from the clock, strictly increasing even within one microsecond."""
        micros = max(int(self.clock() * 1_000_000), self.counters.last_ts_micros + 1)
        self.counters.last_ts_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def next_id(self, prefix: str, counter: str, width: int = 10) -> str:
        value = getattr(self.counters, counter) + 1
        setattr(self.counters, counter, value)
        return f"{prefix}{value:0{width}d}"

    # ----------------------------------------------------------------- lookups
    def user(self, user_id: str | None, error: str = "user_not_found") -> JSON:
        if not user_id or user_id not in self.users:
            raise SlackError(error)
        return self.users[user_id]

    def is_member(self, channel_id: str, user_id: str) -> bool:
        return user_id in self.members.get(channel_id, {})

    def bot_is_member(self, channel_id: str) -> bool:
        return self.is_member(channel_id, self.bot_user_id)

    def find_channel(self, ref: str | None) -> JSON | None:
        """Resolve a channel id, `#name` or bare name (chat.postMessage accepts all three)."""
        if not ref:
            return None
        if ref in self.channels:
            return self.channels[ref]
        name = ref[1:] if ref.startswith("#") else ref
        return next((c for c in self.channels.values() if c["name"] == name), None)

    def visible_channel(self, ref: str | None, *, by_name: bool = False) -> JSON:
        """A channel the bot may see; private channels it is not in look like they don't exist."""
        channel = self.find_channel(ref) if by_name else self.channels.get(ref or "")
        if channel is None:
            raise SlackError("channel_not_found")
        if channel["is_private"] and not self.bot_is_member(channel["id"]):
            raise SlackError("channel_not_found")
        return channel

    def message(self, channel_id: str, ts: str | None) -> JSON:
        for message in self.messages.get(channel_id, []):
            if message["ts"] == ts:
                return message
        raise SlackError("message_not_found")

    # ----------------------------------------------------------------- views of state
    def channel_view(self, channel: JSON, *, num_members: bool = False) -> JSON:
        """The channel as the API returns it to the bot (`is_member` is relative to the bot)."""
        out = copy.deepcopy(channel)
        out["is_member"] = self.bot_is_member(channel["id"])
        if num_members:
            out["num_members"] = len(self.members.get(channel["id"], {}))
        return out

    def control_url(self, path: str) -> str:
        if not self.base_url:
            raise RuntimeError("emulator base_url unknown: serve it first or set emu.base_url")
        return f"{self.base_url}_emulator/{path}"

    def bot_user(self) -> JSON:
        return self.users[self.bot_user_id]

    def snapshot(self) -> JSON:
        """Whole state as JSON-able data (file contents are summarised by size)."""
        channels = []
        for channel_id, channel in self.channels.items():
            entry = self.channel_view(channel, num_members=True)
            entry["members"] = list(self.members.get(channel_id, {}))
            entry["messages"] = copy.deepcopy(self.messages.get(channel_id, []))
            entry["ephemerals"] = copy.deepcopy(self.ephemerals.get(channel_id, []))
            entry["pins"] = copy.deepcopy(self.pins.get(channel_id, []))
            entry["bookmarks"] = copy.deepcopy(self.bookmarks.get(channel_id, []))
            channels.append(entry)
        files = []
        for file_id, file in self.files.items():
            entry = copy.deepcopy(file)
            entry["uploaded_bytes"] = len(self.file_bytes.get(file_id, b""))
            files.append(entry)
        return {
            "team": {"id": self.team_id, "name": self.team_name, "domain": self.team_domain},
            "bot": {"user_id": self.bot_user_id, "bot_id": self.bot_id},
            "users": copy.deepcopy(list(self.users.values())),
            "usergroups": copy.deepcopy(list(self.usergroups.values())),
            "channels": channels,
            "views": copy.deepcopy(self.views),
            "files": files,
            "responses": copy.deepcopy(self.response_log),
        }
