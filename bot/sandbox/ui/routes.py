"""``/sandbox``: the emulated workspace in the browser, and the JSON endpoints behind it.

The page is server-rendered (Jinja2, autoescaped); its script polls ``/sandbox/api/state``
for the same fragments re-rendered and swaps in what changed. Actions are POSTs of JSON
(a cross-site form cannot send that without a CORS preflight, which is never granted).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.sandbox.emulator import Emulator
from bot.sandbox.pagerduty import PagerDutyEmulator
from bot.sandbox.ui import files, forms, render
from bot.sandbox.ui.drill import DRILL_EVENT, Drill
from bot.sandbox.ui.pager import PagerPanel
from bot.sandbox.ui.session import Outcome, SandboxError, SandboxSession, SandboxTarget

JSON = dict[str, Any]
INCIDENT_CHANNEL = re.compile(r"^oor-(\d+)-")
DEFAULT_PAUSE = 1.5
OOR_TYPES = ("payment_failure", "transaction_interruption", "amount_error", "system_crash")
SEVERITIES = ("", "sev1", "sev2", "sev3", "sev4")
ASSETS = {"sandbox.js": "text/javascript", "sandbox.css": "text/css"}


class SandboxUI:
    """The page and its endpoints for one emulator and the bot serving it."""

    def __init__(
        self,
        emulator: Emulator,
        target: SandboxTarget,
        templates_dir: Path,
        *,
        tz: ZoneInfo,
        default_pause: float = DEFAULT_PAUSE,
        pagerduty: PagerDutyEmulator | None = None,
    ) -> None:
        self.emulator = emulator
        self.tz = tz  # message times show in the plan's zone, like everything the bot writes
        self.session = SandboxSession(emulator, target)
        self.drill = Drill(self.session)
        self.pager = PagerPanel(emulator, pagerduty, tz)  # the emulated PagerDuty's pages
        self.default_pause = default_pause
        self._dir = Path(templates_dir) / "sandbox"
        self._env = Environment(
            loader=FileSystemLoader(str(self._dir)), autoescape=True, undefined=StrictUndefined
        )

    def close(self) -> None:
        self.drill.stop()

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/sandbox", self._page, methods=["GET"]),
            Route("/sandbox/assets/{name}", self._asset, methods=["GET"]),
            Route("/sandbox/files/{file_id}", self._file, methods=["GET"]),
            Route("/sandbox/api/state", self._state, methods=["GET"]),
            Route("/sandbox/api/command", self._json_action(self._command), methods=["POST"]),
            Route("/sandbox/api/click", self._json_action(self._click), methods=["POST"]),
            Route(
                "/sandbox/api/view_submission", self._json_action(self._submit), methods=["POST"]
            ),
            Route("/sandbox/api/view_closed", self._json_action(self._closed), methods=["POST"]),
            Route("/sandbox/api/event", self._json_action(self._event), methods=["POST"]),
            Route("/sandbox/api/drill", self._json_action(self._start_drill), methods=["POST"]),
            Route(
                "/sandbox/api/pagerduty/acknowledge",
                self._json_action(self.pager.acknowledge),
                methods=["POST"],
            ),
        ]

    # ------------------------------------------------------------------ pages
    async def _page(self, request: Request) -> Response:
        query = request.query_params
        html = await run_in_threadpool(self.page_html, query.get("channel"), query.get("user"))
        return HTMLResponse(html, headers={"cache-control": "no-store"})

    async def _asset(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in ASSETS:
            return Response("not found", status_code=404)
        content = (self._dir / name).read_text(encoding="utf-8")
        return Response(content, media_type=ASSETS[name], headers={"cache-control": "no-cache"})

    async def _file(self, request: Request) -> Response:
        return await files.serve_file(self.emulator, request)

    async def _state(self, request: Request) -> Response:
        query = request.query_params
        data = await run_in_threadpool(self.state_json, query.get("channel"), query.get("user"))
        return JSONResponse(data, headers={"cache-control": "no-store"})

    def page_html(self, channel_id: str | None, user_id: str | None) -> str:
        state = self.view_model(channel_id, user_id)
        return self._env.get_template("page.html").render(
            **state,
            fragments=self._fragments(state),
            oor_types=OOR_TYPES,
            severities=SEVERITIES,
            event=DRILL_EVENT | {"title": "Alipay channel blocked", "amount": "1234.50"},
        )

    def state_json(self, channel_id: str | None, user_id: str | None) -> JSON:
        """What the page's script polls: the fragments re-rendered, the modal, the drill."""
        state = self.view_model(channel_id, user_id)
        return {
            "channel": state["channel"]["id"] if state["channel"] else None,
            "user": state["user"]["id"] if state["user"] else None,
            "channels": [
                {"id": c["id"], "name": c["name"], "incident": c["incident"]}
                for c in state["channels"]
            ],
            "html": {k: str(v) for k, v in self._fragments(state).items()},
            "reply": state["reply"],
            "modal": state["modal"],
            "drill": state["drill"],
        }

    def _fragments(self, state: JSON) -> dict[str, Markup]:
        return {
            name: Markup(self._env.get_template(f"_{name}.html").render(**state))
            for name in ("channels", "header", "messages", "details", "drill", "pages")
        }

    # ------------------------------------------------------------------ the state
    def view_model(self, channel_id: str | None, user_id: str | None) -> JSON:
        """Everything the page shows for ``channel_id`` as seen by ``user_id``."""
        snapshot = self.emulator.snapshot()
        names = render.Names.from_snapshot(snapshot)
        humans = render.people(snapshot)
        user = next((u for u in humans if u["id"] == user_id), humans[0] if humans else None)
        channels = _ordered_channels(snapshot["channels"])
        channel = next((c for c in channels if c["id"] == channel_id), None)
        if channel is None and channels:
            channel = channels[0]
        users = {u["id"]: u for u in snapshot["users"]}
        messages: list[JSON] = []
        replies: list[JSON] = []
        if channel is not None:
            pinned = {p["ts"] for p in channel["pins"]}
            messages = [self._shown_message(m, users, names, pinned) for m in channel["messages"]]
            if user is not None:
                replies = self.session.replies(user["id"], channel["id"])
                messages += [
                    self._shown_message(m, users, names, set(), ephemeral=True) for m in replies
                ]
            messages.sort(key=lambda m: float(m["ts"]))
        return {
            "team": snapshot["team"],
            "users": humans,
            "user": user,
            "channels": [
                {
                    **_channel_summary(c),
                    "selected": channel is not None and c["id"] == channel["id"],
                }
                for c in channels
            ],
            "channel": None if channel is None else _channel_details(channel, users, names),
            "messages": messages,
            # The newest private reply, which the page also shows under the composer: the
            # reply to a button far up the channel lands at the bottom, out of view.
            "reply": _reply(replies[-1], names) if replies else None,
            "modal": None if user is None else self.modal_for(user["id"], names),
            "drill": self.drill.snapshot(),
            "pager": self.pager.view_model(),
        }

    def modal_for(self, user_id: str, names: render.Names | None = None) -> JSON | None:
        """The modal on ``user_id``'s screen, rendered, with a key that changes with it."""
        opened = self.session.open_modal(user_id)
        if opened is None:
            return None
        names = names or render.Names.from_snapshot(self.emulator.snapshot())
        html = forms.modal(opened.view, names, values=opened.values, errors=opened.errors)
        return {"key": opened.key, "view_id": opened.view["id"], "html": str(html)}

    def _shown_message(
        self,
        message: JSON,
        users: dict[str, JSON],
        names: render.Names,
        pinned: set[str],
        *,
        ephemeral: bool = False,
    ) -> JSON:
        """A message as the page shows it, with the files it shares."""
        shown = _message(message, users, names, pinned, self.tz, ephemeral=ephemeral)
        shown["files"] = [files.attachment(self.emulator, f) for f in message.get("files") or []]
        return shown

    # ------------------------------------------------------------------ actions
    def _json_action(
        self, action: Callable[[JSON], Outcome]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            if not request.headers.get("content-type", "").startswith("application/json"):
                return JSONResponse({"ok": False, "message": "send JSON"}, status_code=415)
            try:
                body = await request.json()
            except ValueError:
                return JSONResponse({"ok": False, "message": "invalid JSON"}, status_code=400)
            if not isinstance(body, dict):
                return JSONResponse({"ok": False, "message": "send an object"}, status_code=400)
            try:
                outcome = await run_in_threadpool(action, body)
            except SandboxError as exc:
                return JSONResponse({"ok": False, "message": str(exc)}, status_code=400)
            status = 200 if outcome.ok else 409 if outcome.data.get("conflict") else 422
            return JSONResponse(
                {"ok": outcome.ok, "message": outcome.message, **outcome.data}, status_code=status
            )

        return endpoint

    def _command(self, body: JSON) -> Outcome:
        return self.session.compose(_str(body, "user"), _str(body, "channel"), _str(body, "text"))

    def _click(self, body: JSON) -> Outcome:
        return self.session.click(
            _str(body, "user"),
            _str(body, "channel"),
            _str(body, "ts"),
            _str(body, "action_id"),
            _str(body, "value"),
        )

    def _submit(self, body: JSON) -> Outcome:
        values = body.get("values") or {}
        if not isinstance(values, dict):
            raise SandboxError("values must be an object")
        user_id, view_id = _str(body, "user"), _str(body, "view_id")
        outcome = self.session.submit_view(
            user_id, view_id, {str(k): str(v) for k, v in values.items()}
        )
        modal = self.modal_for(user_id)
        return Outcome(outcome.ok, outcome.message, {**outcome.data, "modal": modal})

    def _closed(self, body: JSON) -> Outcome:
        self.session.close_view(_str(body, "view_id"))
        return Outcome(True)

    def _event(self, body: JSON) -> Outcome:
        return self.session.fire_event({k: str(v) for k, v in body.items() if v is not None})

    def _start_drill(self, body: JSON) -> Outcome:
        try:
            pause = float(body.get("pause", self.default_pause))
        except (TypeError, ValueError):
            raise SandboxError("pause must be a number of seconds") from None
        run = self.drill.start(min(max(pause, 0.0), 10.0))
        if run is None:
            return Outcome(False, "A drill is already running.", {"conflict": True})
        return Outcome(True, "Drill started.", {"drill": run.number})


# ---------------------------------------------------------------------------- view models
def _str(body: JSON, key: str) -> str:
    value = body.get(key)
    return "" if value is None else str(value)


def _ordered_channels(channels: list[JSON]) -> list[JSON]:
    """Incident channels first, newest first; then the others by name."""
    incidents = [c for c in channels if INCIDENT_CHANNEL.match(c["name"])]
    others = [c for c in channels if not INCIDENT_CHANNEL.match(c["name"])]
    incidents.sort(key=lambda c: (c.get("created", 0), _incident_number(c["name"])), reverse=True)
    others.sort(key=lambda c: c["name"])
    return incidents + others


def _incident_number(name: str) -> int:
    match = INCIDENT_CHANNEL.match(name)
    return int(match.group(1)) if match else 0


def _channel_summary(channel: JSON) -> JSON:
    return {
        "id": channel["id"],
        "name": channel["name"],
        "incident": bool(INCIDENT_CHANNEL.match(channel["name"])),
        "private": bool(channel.get("is_private")),
        "archived": bool(channel.get("is_archived")),
        "count": len(channel["messages"]),
    }


def _channel_details(channel: JSON, users: dict[str, JSON], names: render.Names) -> JSON:
    unknown = {"real_name": "", "is_bot": False}
    members = [users.get(u, {**unknown, "id": u, "name": u}) for u in channel["members"]]
    bookmarks = [
        {
            "title": b.get("title") or b.get("link") or "bookmark",
            "url": render.safe_url(str(b.get("link") or "")),
        }
        for b in channel["bookmarks"]
    ]
    by_ts = {m["ts"]: m for m in channel["messages"]}
    pins = [
        {"ts": p["ts"], "text": _short(by_ts.get(p["ts"], {}).get("text") or "message")}
        for p in channel["pins"]
    ]
    return {
        "id": channel["id"],
        "name": channel["name"],
        "incident": bool(INCIDENT_CHANNEL.match(channel["name"])),
        "private": bool(channel.get("is_private")),
        "archived": bool(channel.get("is_archived")),
        "topic": render.mrkdwn((channel.get("topic") or {}).get("value"), names),
        "purpose": render.mrkdwn((channel.get("purpose") or {}).get("value"), names),
        "members": sorted(members, key=lambda u: (bool(u.get("is_bot")), u.get("name", ""))),
        "bookmarks": bookmarks,
        "pins": pins,
    }


def _short(text: str, limit: int = 90) -> str:
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _message(
    message: JSON,
    users: dict[str, JSON],
    names: render.Names,
    pinned: set[str],
    tz: ZoneInfo,
    *,
    ephemeral: bool = False,
) -> JSON:
    author_id = str((message.get("from_user") if ephemeral else message.get("user")) or "")
    author = users.get(author_id, {})
    is_bot = bool(message.get("bot_id")) or bool(author.get("is_bot"))
    thread_ts = message.get("thread_ts")
    return {
        "ts": str(message.get("ts") or "0"),
        "author": author.get("real_name") or author.get("name") or author_id or "unknown",
        "is_bot": is_bot,
        "time": datetime.fromtimestamp(float(message.get("ts") or 0), tz).strftime("%H:%M:%S"),
        "pinned": message.get("ts") in pinned,
        "edited": bool(message.get("edited")),
        "ephemeral": ephemeral,
        "reply": bool(thread_ts) and thread_ts != message.get("ts"),
        "body": render.message_body(message, names, interactive=True),
    }


def _reply(message: JSON, names: render.Names) -> JSON:
    """A reply as one plain line: its first line (the gist; the channel shows it all)."""
    first, _, rest = str(message.get("text") or "").strip().partition("\n")
    text = render.mrkdwn(first, names).striptags()
    if rest.strip() or len(text) > 300:
        text = text[:299] + " …"
    return {"ts": str(message.get("ts") or "0"), "text": text}
