"""`Emulator`: one emulated Slack workspace, its call log, faults and rate limits.

The HTTP layer (`app.py`) only parses requests and renders `ApiResult`s; every decision about
what Slack would answer is made here, under a single lock, so the emulator behaves the same
whether it is driven over HTTP from the bot or inspected directly from a test thread.
"""

from __future__ import annotations

import copy
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.emulator import callbacks
from bot.sandbox.emulator.args import Args
from bot.sandbox.emulator.faults import FaultInjector, FaultOutcome, RateLimiter
from bot.sandbox.emulator.handlers_chat import add_message
from bot.sandbox.emulator.handlers_conversations import new_channel
from bot.sandbox.emulator.handlers_directory import user_record
from bot.sandbox.emulator.inspection import WorkspaceInspection
from bot.sandbox.emulator.methods import ALL_APP_SCOPES, ALL_SCOPES, METHODS
from bot.sandbox.emulator.scopes import Needs, unmet
from bot.sandbox.emulator.socket_mode import SocketModeHub
from bot.sandbox.emulator.state import JSON, Call, SlackError, Workspace

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ApiResult:
    """What to send back for one Web API call."""

    status: int
    body: JSON
    headers: dict[str, str] = field(default_factory=dict)


class Emulator(WorkspaceInspection):
    """A stateful, in-memory Slack workspace answering Web API calls like Slack does."""

    def __init__(
        self,
        team_id: str = "T0OOR",
        bot_token: str = "xoxb-test",
        bot_user_id: str = "UBOT",
        bot_id: str = "BBOT",
        *,
        team_name: str = "OOR Sandbox",
        team_domain: str = "oor-sandbox",
        bot_name: str = "oor-bot",
        scopes: Iterable[str] | None = None,
        clock: Callable[[], float] = time.time,
        app_token: str = "xapp-test",
        app_id: str = "A0OORBOT",
        app_scopes: Iterable[str] = ALL_APP_SCOPES,
        slack_rate_limits: bool = True,
    ) -> None:
        self.team_id = team_id
        self.team_name = team_name
        self.team_domain = team_domain
        self.bot_token = bot_token
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.bot_name = bot_name
        # None grants every scope; with a set, a call needing a scope outside it (for its
        # arguments and target, see scopes.py) fails with missing_scope.
        self.scopes: frozenset[str] | None = None if scopes is None else frozenset(scopes)
        # The app-level token (Socket Mode) and its scopes; a revoked token is invalid_auth.
        self.app_token = app_token
        self.app_id = app_id
        self.app_scopes = frozenset(app_scopes)
        self.app_token_revoked = False
        self.clock = clock
        self.faults = FaultInjector()
        # Slack's own limits (faults.SLACK_RATE_LIMITS) unless turned off, also after reset().
        self.rate_limits = RateLimiter(clock, slack=slack_rate_limits)
        self.socket_mode = SocketModeHub(app_id, clock)
        self._lock = threading.RLock()
        self._calls: list[Call] = []
        self._ws = self._fresh_workspace(base_url="")

    def _fresh_workspace(self, base_url: str) -> Workspace:
        ws = Workspace(
            team_id=self.team_id,
            team_name=self.team_name,
            team_domain=self.team_domain,
            bot_user_id=self.bot_user_id,
            bot_id=self.bot_id,
            clock=self.clock,
            app_id=self.app_id,
            base_url=base_url,
        )
        ws.users[self.bot_user_id] = user_record(
            ws, self.bot_user_id, self.bot_name, None, self.bot_name, is_bot=True
        )
        ws.users[self.bot_user_id]["profile"]["bot_id"] = self.bot_id
        return ws

    # ------------------------------------------------------------------ setup
    @property
    def base_url(self) -> str:
        """Root URL the emulator is served at (ends with "/"), or "" before it is known."""
        with self._lock:
            return self._ws.base_url

    @base_url.setter
    def base_url(self, value: str) -> None:
        with self._lock:
            self._ws.base_url = value if not value or value.endswith("/") else value + "/"

    def note_base_url(self, value: str) -> None:
        """Remember the first URL the emulator was reached at, unless one is already set."""
        with self._lock:
            if not self._ws.base_url:
                self.base_url = value

    def add_user(
        self,
        user_id: str,
        name: str,
        email: str | None = None,
        real_name: str | None = None,
        is_bot: bool = False,
        tz: str = "Europe/Paris",
    ) -> JSON:
        with self._lock:
            if user_id in self._ws.users:
                raise ValueError(f"user {user_id} already exists")
            user = user_record(
                self._ws, user_id, name, email, real_name or name, is_bot=is_bot, tz=tz
            )
            self._ws.users[user_id] = user
            return copy.deepcopy(user)

    def add_usergroup(
        self,
        handle: str,
        user_ids: Iterable[str] = (),
        usergroup_id: str | None = None,
        name: str | None = None,
        description: str = "",
    ) -> JSON:
        with self._lock:
            ws = self._ws
            users = list(dict.fromkeys(user_ids))
            unknown = [u for u in users if u not in ws.users]
            if unknown:
                raise ValueError(f"unknown users {unknown}")
            group_id = usergroup_id or ws.next_id("S", "usergroup")
            if group_id in ws.usergroups:
                raise ValueError(f"usergroup {group_id} already exists")
            now = ws.now()
            group = {
                "id": group_id,
                "team_id": self.team_id,
                "is_usergroup": True,
                "name": name or handle,
                "description": description,
                "handle": handle,
                "is_external": False,
                "date_create": now,
                "date_update": now,
                "date_delete": 0,
                "auto_type": None,
                "created_by": self.bot_user_id,
                "updated_by": self.bot_user_id,
                "deleted_by": None,
                "prefs": {"channels": [], "groups": []},
                "users": users,
                "user_count": len(users),
            }
            ws.usergroups[group_id] = group
            return copy.deepcopy(group)

    def add_channel(
        self,
        name: str,
        creator: str | None = None,
        members: Iterable[str] = (),
        is_private: bool = False,
        topic: str = "",
        purpose: str = "",
        is_general: bool = False,
    ) -> JSON:
        """Add a pre-existing channel. The bot is a member only if listed (or the creator)."""
        member_list = list(members)
        with self._lock:
            owner = creator or (member_list[0] if member_list else self.bot_user_id)
            try:
                channel = new_channel(
                    self._ws,
                    name,
                    creator=owner,
                    is_private=is_private,
                    members=member_list,
                    topic=topic,
                    purpose=purpose,
                    is_general=is_general,
                )
            except SlackError as exc:
                raise ValueError(f"cannot add channel {name!r}: {exc.error}") from exc
            return self._ws.channel_view(channel)

    def post_as_user(
        self, channel_id: str, user_id: str, text: str, thread_ts: str | None = None
    ) -> JSON:
        """Simulate a person writing in a channel (the bot cannot edit such messages)."""
        with self._lock:
            ws = self._ws
            if channel_id not in ws.channels or user_id not in ws.users:
                raise ValueError(f"unknown channel {channel_id} or user {user_id}")
            message = add_message(
                ws, channel_id, text, user=user_id, bot_id=None, thread_ts=thread_ts
            )
            message.pop("bot_id", None)
            return copy.deepcopy(message)

    def set_rate_limit(self, method: str, calls: int, per_seconds: float) -> None:
        self.rate_limits.set(method, calls, per_seconds)

    def revoke_app_token(self) -> None:
        """The app-level token stops working, as when an admin revokes it (invalid_auth)."""
        with self._lock:
            self.app_token_revoked = True

    def take_socket_ticket(self, ticket: str | None) -> bool:
        """Use up a Socket Mode URL's ticket; False if unknown or already used."""
        with self._lock:
            return bool(ticket) and self._ws.socket_tickets.pop(str(ticket), None) is not None

    def new_trigger_id(self) -> str:
        """A well-formed trigger_id, as Slack sends with interactions and slash commands."""
        with self._lock:
            number = self._ws.next_id("", "trigger", width=1)
        return f"{number}{int(self.clock())}.{int(self.clock() * 1000)}.{secrets.token_hex(10)}"

    def new_response_url(self, channel_id: str, user_id: str) -> str:
        """A slash-command response_url pointing back at this emulator."""
        with self._lock:
            token = f"{self._ws.next_id('R', 'response', width=4)}{secrets.token_hex(8)}"
            url = self._ws.control_url(f"response/{token}")
            self._ws.responses[token] = {
                "token": token,
                "channel_id": channel_id,
                "user_id": user_id,
                "created": self._ws.now(),
                "posts": [],
            }
            return url

    def reset(self) -> None:
        """Back to a fresh workspace with only the bot user; faults, limits and calls cleared."""
        with self._lock:
            self._ws = self._fresh_workspace(base_url=self._ws.base_url)
            self._calls.clear()
        self.faults.clear()
        self.rate_limits.reset()

    def snapshot(self) -> JSON:
        with self._lock:
            state = self._ws.snapshot()
            state["base_url"] = self._ws.base_url
            state["call_count"] = len(self._calls)
        state["faults"] = [f.to_json() for f in self.faults.active()]
        state["rate_limits"] = self.rate_limits.limits()
        state["socket_mode"] = self.socket_mode.state()
        return state

    # ------------------------------------------------------------------ serving
    def execute(
        self,
        method: str,
        args: dict[str, Any],
        token: str | None,
        fault: FaultOutcome | None = None,
    ) -> ApiResult:
        """Answer one Web API call (after any injected latency) and record it."""
        needs = self._needed_scopes(method, args)
        result = self._answer(method, args, token, fault or FaultOutcome(), needs)
        self._record(method, args, token, result, needs)
        return result

    def _needed_scopes(self, method: str, args: dict[str, Any]) -> Needs:
        """What this call needs, decided before it runs (it may create or change its target)."""
        spec = METHODS.get(method)
        if spec is None:
            return ()
        with self._lock:
            return spec.scopes.needs(self._ws, Args(args, spec.args))

    def reject(self, method: str, token: str | None, error: str) -> ApiResult:
        """Record and answer a call whose request could not even be decoded."""
        result = ApiResult(200, {"ok": False, "error": error})
        self._record(method, {}, token, result)
        return result

    def _record(
        self,
        method: str,
        args: dict[str, Any],
        token: str | None,
        result: ApiResult,
        needs: Needs = (),
    ) -> None:
        body = result.body
        with self._lock:
            self._calls.append(
                Call(
                    method=method,
                    args=copy.deepcopy(args),
                    token=token,
                    at=self.clock(),
                    http_status=result.status,
                    ok=bool(body.get("ok")),
                    error=body.get("error"),
                    needed_scopes=needs,
                )
            )

    def _answer(
        self,
        method: str,
        args: dict[str, Any],
        token: str | None,
        fault: FaultOutcome,
        needs: Needs,
    ) -> ApiResult:
        spec = METHODS.get(method)
        if spec is None:
            return ApiResult(404, {"ok": False, "error": "unknown_method"})
        if fault.status == 429:
            headers = {"Retry-After": str(fault.retry_after)}
            return ApiResult(429, {"ok": False, "error": fault.error or "ratelimited"}, headers)
        if fault.status is not None:
            return ApiResult(fault.status, {"ok": False, "error": fault.error or "internal_error"})
        if fault.error is not None:
            return ApiResult(200, {"ok": False, "error": fault.error})
        if not token:
            # apps.connections.open.json documents missing_args for a missing app-level token.
            error = "missing_args" if spec.token_type == "app" else "not_authed"
            return ApiResult(200, {"ok": False, "error": error})
        token_type = self._token_type(token)
        if token_type is None:
            return ApiResult(200, {"ok": False, "error": "invalid_auth"})
        if token_type != spec.token_type:
            return ApiResult(200, {"ok": False, "error": "not_allowed_token_type"})
        if token_type == "app":
            granted = self.app_scopes
        else:
            granted = ALL_SCOPES if self.scopes is None else self.scopes
        scope_headers = {
            "X-OAuth-Scopes": ",".join(sorted(granted)),
            "X-Accepted-OAuth-Scopes": ",".join(sorted(spec.scopes.scopes())),
        }
        missing = unmet(needs, granted)
        if missing is not None:
            body = {
                "ok": False,
                "error": "missing_scope",
                "needed": ",".join(missing),
                "provided": ",".join(sorted(granted)),
            }
            return ApiResult(200, body, scope_headers)
        channel = args.get("channel")
        retry_after = self.rate_limits.check(method, channel if isinstance(channel, str) else None)
        if retry_after is not None:
            headers = {"Retry-After": str(retry_after)}
            return ApiResult(429, {"ok": False, "error": "ratelimited"}, headers)
        with self._lock:
            try:
                payload = spec.handler(self._ws, Args(args, spec.args))
            except SlackError as exc:
                return ApiResult(200, {"ok": False, "error": exc.error, **exc.extra}, scope_headers)
            except Exception:
                # An emulator bug: answer like Slack's own internal errors, but log it loudly.
                logger.exception("Slack emulator handler for %s failed", method)
                return ApiResult(500, {"ok": False, "error": "fatal_error"})
        return ApiResult(200, {"ok": True, **payload}, scope_headers)

    def _token_type(self, token: str) -> str | None:
        if token == self.bot_token:
            return "bot"
        with self._lock:
            if token == self.app_token and not self.app_token_revoked:
                return "app"
        return None

    def store_upload(self, file_id: str, data: bytes) -> bool:
        """Accept the bytes POSTed to an upload URL; False for unknown or finished uploads."""
        with self._lock:
            return callbacks.store_upload(self._ws, file_id, data)

    def post_response(self, token: str, payload: JSON) -> tuple[int, str]:
        """Handle a POST to a response_url; returns HTTP status and body text."""
        with self._lock:
            return callbacks.post_response(self._ws, token, payload)
