"""Slack's Socket Mode, emulated: ``apps.connections.open`` and the WebSocket behind its URL.

The protocol follows tests/fixtures/slack_methods/NOTES.md ("Socket Mode protocol", from
docs.slack.dev's using-socket-mode page) and methods/apps.connections.open.json:

1. ``apps.connections.open`` with an app-level token (``xapp-…``, connections:write) answers a
   single-use ``ws(s)://…/link/?ticket=…`` URL (Tier 3).
2. The first frame on the socket is ``hello``.
3. Requests arrive as envelopes ``{"envelope_id", "type": "slash_commands" | "interactive" |
   "events_api", "payload", "accepts_response_payload"}`` (``retry_attempt`` / ``retry_reason``
   on events_api).
4. The app acks every envelope by ``envelope_id`` within ~3 s, with a ``payload`` (slash-command
   reply, ``response_action``) when ``accepts_response_payload``.
5. ``disconnect`` frames (``refresh_requested``, ``warning``, ``link_disabled``) ask the app to
   open a new connection through ``apps.connections.open``; Slack then closes the old one.

`SocketModeHub` holds the live connections. Tests deliver an envelope from any thread with
:meth:`SocketModeHub.deliver` (blocking until the ack), the HTTP control endpoint with
:meth:`SocketModeHub.deliver_async`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from bot.sandbox.emulator.args import Args
from bot.sandbox.emulator.state import JSON, Workspace

ENVELOPE_TYPES = ("slash_commands", "interactive", "events_api")
# NOTES.md step 4: an envelope must be acked within about 3 seconds.
ACK_TIMEOUT_S = 3.0
# How long a delivery waits for the app to have a connection (e.g. while it reconnects).
CONNECTION_WAIT_S = 10.0
# NOTES.md step 5: Slack closes a connection some seconds after asking for a new one.
REFRESH_CLOSE_AFTER_S = 10.0
# Closed connections and stray frames kept for inspection (the sandbox runs for long).
HISTORY_MAX = 100
# Interactive payloads whose ack may carry a response (response_action, options).
_RESPONSE_PAYLOAD_TYPES = ("view_submission", "block_suggestion")


class SocketModeError(Exception):
    """A delivery that Slack could not complete: no connection, or no ack in time."""


def apps_connections_open(ws: Workspace, args: Args) -> JSON:
    """A fresh single-use WebSocket URL (the token was checked by the emulator already)."""
    if not ws.base_url:
        raise RuntimeError("emulator base_url unknown: serve it first or set emu.base_url")
    ticket = secrets.token_hex(16)
    ws.socket_tickets[ticket] = ws.clock()
    scheme, rest = ws.base_url.split("://", 1)
    ws_scheme = "wss" if scheme == "https" else "ws"
    return {"url": f"{ws_scheme}://{rest}link/?ticket={ticket}&app_id={ws.app_id}"}


@dataclass(frozen=True)
class SocketAck:
    """The app's answer to one envelope."""

    envelope_id: str
    payload: JSON | None
    seconds: float
    connection_id: str


@dataclass
class _Connection:
    id: str
    websocket: WebSocket
    loop: asyncio.AbstractEventLoop
    opened_at: float
    refreshing: bool = False
    envelopes: int = 0
    closer: asyncio.Task[None] | None = None

    def to_json(self) -> JSON:
        return {
            "id": self.id,
            "opened_at": self.opened_at,
            "refreshing": self.refreshing,
            "envelopes": self.envelopes,
        }


@dataclass
class _Pending:
    future: concurrent.futures.Future[JSON]
    connection_id: str
    sent_at: float = field(default_factory=time.perf_counter)


class SocketModeHub:
    """The app's Socket Mode connections to this emulator, and envelopes in flight."""

    def __init__(self, app_id: str, clock: Callable[[], float]) -> None:
        self.app_id = app_id
        self._clock = clock
        self._cond = threading.Condition()
        self._open: dict[str, _Connection] = {}
        self._pending: dict[str, _Pending] = {}
        self._opened_total = 0
        self._closed: list[JSON] = []
        self._stray_frames: list[str] = []  # acks for unknown envelopes, undecodable frames
        self._tasks: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ the socket
    async def serve(self, websocket: WebSocket) -> None:
        """Run one accepted connection until either side closes it."""
        await websocket.accept()
        with self._cond:
            self._opened_total += 1
            conn = _Connection(
                id=f"C{self._opened_total:04d}",
                websocket=websocket,
                loop=asyncio.get_running_loop(),
                opened_at=self._clock(),
            )
            self._open[conn.id] = conn
            count = len(self._open)
        try:
            await websocket.send_text(json.dumps(self._hello(conn, count)))
            with self._cond:
                self._cond.notify_all()  # deliverable only once hello went out
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                text = message.get("text")
                if text is None and message.get("bytes") is not None:
                    text = message["bytes"].decode("utf-8", "replace")
                if text is not None:
                    self._on_frame(text)
        except WebSocketDisconnect:
            pass
        finally:
            with self._cond:
                self._open.pop(conn.id, None)
                self._closed.append({**conn.to_json(), "closed_at": self._clock()})
                del self._closed[:-HISTORY_MAX]
                self._cond.notify_all()  # wait_until_closed
            if conn.closer is not None:
                conn.closer.cancel()

    def _hello(self, conn: _Connection, count: int) -> JSON:
        return {
            "type": "hello",
            "num_connections": count,
            "debug_info": {
                "host": f"applink-emulator-{conn.id.lower()}",
                "build_number": 1,
                "approximate_connection_time": 3600,
            },
            "connection_info": {"app_id": self.app_id},
        }

    def _on_frame(self, text: str) -> None:
        try:
            frame = json.loads(text)
        except json.JSONDecodeError:
            frame = None
        envelope_id = frame.get("envelope_id") if isinstance(frame, dict) else None
        with self._cond:
            pending = self._pending.get(str(envelope_id)) if envelope_id else None
            if pending is None or pending.future.done():
                self._stray_frames.append(text[:1000])
                del self._stray_frames[:-HISTORY_MAX]
                return
        assert isinstance(frame, dict)
        pending.future.set_result(frame)

    # ------------------------------------------------------------------ delivering
    def deliver(
        self,
        kind: str,
        payload: JSON,
        *,
        accepts_response_payload: bool | None = None,
        timeout: float = ACK_TIMEOUT_S,
        connection_wait: float = CONNECTION_WAIT_S,
    ) -> SocketAck:
        """Send one envelope to the app and wait for its ack (call from any other thread)."""
        deadline = time.monotonic() + connection_wait
        with self._cond:
            while (conn := self._deliverable()) is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise SocketModeError("the app has no Socket Mode connection")
                self._cond.wait(left)
        if _in_loop(conn.loop):
            raise RuntimeError("deliver() would block the connection's loop: use deliver_async")
        envelope_id, frame, pending = self._prepare(conn, kind, payload, accepts_response_payload)
        try:
            sent = asyncio.run_coroutine_threadsafe(conn.websocket.send_text(frame), conn.loop)
            sent.result(timeout)
            ack = pending.future.result(timeout)
        except (TimeoutError, concurrent.futures.TimeoutError) as exc:
            raise SocketModeError(f"no ack for envelope {envelope_id} within {timeout}s") from exc
        finally:
            with self._cond:
                self._pending.pop(envelope_id, None)
        return self._ack(envelope_id, ack, pending)

    async def deliver_async(
        self,
        kind: str,
        payload: JSON,
        *,
        accepts_response_payload: bool | None = None,
        timeout: float = ACK_TIMEOUT_S,
        connection_wait: float = CONNECTION_WAIT_S,
    ) -> SocketAck:
        """`deliver` for code running on the connections' own event loop."""
        deadline = time.monotonic() + connection_wait
        while True:
            with self._cond:
                conn = self._deliverable()
            if conn is not None:
                break
            if time.monotonic() > deadline:
                raise SocketModeError("the app has no Socket Mode connection")
            await asyncio.sleep(0.02)
        envelope_id, frame, pending = self._prepare(conn, kind, payload, accepts_response_payload)
        try:
            await conn.websocket.send_text(frame)
            ack = await asyncio.wait_for(asyncio.wrap_future(pending.future), timeout)
        except TimeoutError as exc:
            raise SocketModeError(f"no ack for envelope {envelope_id} within {timeout}s") from exc
        finally:
            with self._cond:
                self._pending.pop(envelope_id, None)
        return self._ack(envelope_id, ack, pending)

    def _deliverable(self) -> _Connection | None:
        """The newest connection not asked to go away (Slack may use any of them)."""
        live = [c for c in self._open.values() if not c.refreshing]
        return live[-1] if live else None

    def _prepare(
        self, conn: _Connection, kind: str, payload: JSON, accepts_response_payload: bool | None
    ) -> tuple[str, str, _Pending]:
        if kind not in ENVELOPE_TYPES:
            raise ValueError(f"envelope type must be one of {ENVELOPE_TYPES}, not {kind!r}")
        if accepts_response_payload is None:
            accepts_response_payload = kind == "slash_commands" or (
                kind == "interactive" and payload.get("type") in _RESPONSE_PAYLOAD_TYPES
            )
        envelope_id = str(uuid.uuid4())
        envelope: JSON = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
        }
        if kind == "events_api":
            envelope.update(retry_attempt=0, retry_reason="")
        pending = _Pending(concurrent.futures.Future(), conn.id)
        with self._cond:
            self._pending[envelope_id] = pending
            conn.envelopes += 1
        return envelope_id, json.dumps(envelope), pending

    def _ack(self, envelope_id: str, frame: JSON, pending: _Pending) -> SocketAck:
        payload = frame.get("payload")
        return SocketAck(
            envelope_id=envelope_id,
            payload=payload if isinstance(payload, dict) else None,
            seconds=time.perf_counter() - pending.sent_at,
            connection_id=pending.connection_id,
        )

    # ------------------------------------------------------------------ Slack's side
    def request_refresh(
        self, reason: str = "refresh_requested", close_after: float = REFRESH_CLOSE_AFTER_S
    ) -> int:
        """Send ``disconnect`` to every open connection (then close it after ``close_after``
        seconds unless the app did); returns how many were asked."""
        frame = json.dumps(
            {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-emulator"}}
        )
        with self._cond:
            targets = [c for c in self._open.values() if not c.refreshing]
            for conn in targets:
                conn.refreshing = True
        for conn in targets:
            self._run_on(conn.loop, self._refresh(conn, frame, close_after))
        return len(targets)

    async def _refresh(self, conn: _Connection, frame: str, close_after: float) -> None:
        with contextlib.suppress(Exception):  # the app may already be gone
            await conn.websocket.send_text(frame)
        conn.closer = asyncio.ensure_future(_close_later(conn.websocket, close_after))

    def close_all(self, code: int = 1011) -> int:
        """Drop every connection at once, as when Slack's side fails (no disconnect frame)."""
        with self._cond:
            targets = list(self._open.values())
        for conn in targets:
            self._run_on(conn.loop, _close_quietly(conn.websocket, code))
        return len(targets)

    def _run_on(self, loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, None]) -> None:
        """Run `coro` on a connection's loop: awaited from another thread, or as a task when
        called on that loop (the control endpoints)."""
        if _in_loop(loop):
            task = loop.create_task(coro)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        else:
            asyncio.run_coroutine_threadsafe(coro, loop).result(ACK_TIMEOUT_S)

    # ------------------------------------------------------------------ inspection
    def wait_until_closed(self, timeout: float) -> bool:
        """Wait until no connection is open (the app's side closed it and the server saw
        the close); whether that happened within ``timeout`` seconds."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._open, timeout)

    @property
    def opened_total(self) -> int:
        with self._cond:
            return self._opened_total

    def state(self) -> JSON:
        with self._cond:
            return {
                "app_id": self.app_id,
                "open": [c.to_json() for c in self._open.values()],
                "closed": list(self._closed),
                "opened_total": self._opened_total,
                "pending_envelopes": len(self._pending),
                "stray_frames": list(self._stray_frames),
            }


async def _close_later(websocket: WebSocket, delay: float) -> None:
    await asyncio.sleep(delay)
    await _close_quietly(websocket, 1001)


async def _close_quietly(websocket: WebSocket, code: int) -> None:
    with contextlib.suppress(Exception):
        await websocket.close(code=code)


def _in_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def envelope_request(body: Any) -> tuple[str, JSON, bool | None]:
    """Validate a control-endpoint body ``{"type", "payload", "accepts_response_payload"?}``."""
    if not isinstance(body, dict) or not isinstance(body.get("payload"), dict):
        raise ValueError("body needs a JSON object 'payload'")
    kind = body.get("type")
    if kind not in ENVELOPE_TYPES:
        raise ValueError(f"type must be one of {ENVELOPE_TYPES}")
    accepts = body.get("accepts_response_payload")
    return str(kind), body["payload"], None if accepts is None else bool(accepts)
