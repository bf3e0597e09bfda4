"""Socket Mode: Slack's requests over a WebSocket, without Slack holding up anything else.

slack_sdk's aiohttp client speaks the protocol (envelopes, acks, pings) and Bolt dispatches
what arrives. What the client does not do the way this bot needs is *connecting*: its
``connect()`` retries forever, logging a traceback every ping interval, retries a revoked
token as if it were a network blip, and cannot say whether it is connected. So:

- `_OneAttemptClient` makes exactly one attempt per ``connect()`` (a fresh single-use URL from
  ``apps.connections.open``, then the WebSocket) and, where the SDK would reconnect by itself
  (a ``disconnect`` frame, a closed or stale socket), reports the loss instead;
- `SocketModeConnection` runs as a background task beside the HTTP server and owns every
  (re)connection: capped, jittered exponential backoff, one log line per failed attempt, and
  the state `/readyz` shows. A rejected app token (``invalid_auth`` …) is one line naming
  ``SLACK_APP_TOKEN``; it stops retrying (a person must fix the token) and stays "failed".

The protocol: tests/fixtures/slack_methods/NOTES.md ("Socket Mode protocol").
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import structlog
from slack_bolt.adapter.socket_mode.async_internals import (
    run_async_bolt_app,
    send_async_response,
)
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.web.async_client import AsyncWebClient

log = structlog.get_logger(__name__)

# apps.connections.open errors that no retry can fix: the app-level token itself is wrong.
TOKEN_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "account_inactive",
        "not_allowed_token_type",
        "missing_scope",
        "missing_args",
        "forbidden_team",
    }
)
# The SDK pings every this many seconds and calls a connection stale after 4 unanswered.
PING_INTERVAL_S = 5.0


class SocketState(enum.StrEnum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    FAILED = "failed"


@dataclass(frozen=True)
class SocketStatus:
    state: SocketState
    reason: str | None = None


@dataclass(frozen=True)
class RetryPolicy:
    """Waits between failed connection attempts: doubling from `first` up to `cap` seconds."""

    first: float = 1.0
    cap: float = 30.0

    def delay(self, failures: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait after the `failures`-th failure in a row, jittered down by up to a
        half so that replicas restarted together do not knock on Slack in step."""
        # The exponent is bounded: after hours of failures 2**n would overflow a float.
        ceiling = min(self.cap, self.first * 2 ** min(max(0, failures - 1), 30))
        return ceiling * (0.5 + rand() / 2)


def token_error_line(error: str) -> str:
    """The one line for a rejected app-level token (never the token itself)."""
    return (
        f"SLACK_APP_TOKEN: {error} (revoked or not an app-level token with connections:write); "
        "Slack requests are not received until it is fixed"
    )


class _TokenRejected(Exception):
    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class _AttemptFailed(Exception):
    def __init__(self, reason: str, retry_after: float = 0.0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class _OneAttemptClient(SocketModeClient):
    """slack_sdk's aiohttp client, connecting once per call and reporting lost connections."""

    def __init__(self, *, on_lost: Callable[[Any, str], None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._on_lost = on_lost

    async def issue_new_wss_url(self) -> str:
        # The SDK's version logs each failure and sleeps out rate limits itself; the
        # supervisor decides both, so errors go up as they are.
        response = await self.web_client.apps_connections_open(app_token=self.app_token)
        return str(response["url"])

    async def connect(self) -> None:
        """One attempt: a new URL, a new socket; then the old socket (if any) is closed.

        Opening the new socket before closing the old one leaves no gap when Slack asks
        for a refresh. On failure the previous state is left as it was.
        """
        if self.aiohttp_client_session.closed:
            self.aiohttp_client_session = aiohttp.ClientSession()
        url = await self.issue_new_wss_url()
        session = await self.aiohttp_client_session.ws_connect(
            url,
            autoping=False,
            heartbeat=self.ping_interval,
            proxy=self.proxy,
            ssl=self.web_client.ssl if self.web_client.ssl is not None else True,
        )
        old = self.current_session
        self.current_session = session
        self.stale = False
        self.last_ping_pong_time = None
        self.auto_reconnect_enabled = self.default_auto_reconnect_enabled
        for task in (self.current_session_monitor, self.message_receiver):
            if task is not None:
                task.cancel()
        await session.ping(f"sdk-ping-pong:{time.time()}".encode())
        self.current_session_monitor = asyncio.ensure_future(self.monitor_current_session())
        self.message_receiver = asyncio.ensure_future(self.receive_messages())
        if old is not None and not old.closed:
            with contextlib.suppress(Exception):
                await old.close()

    async def connect_to_new_endpoint(self, force: bool = False) -> None:
        # Called by the SDK on a disconnect frame (force), a CLOSE, or a stale socket.
        if force:
            self._on_lost(self.current_session, "Slack asked for a new connection")
        elif not await self.is_connected():
            self._on_lost(self.current_session, "connection lost")


class SocketModeConnection:
    """Receive Slack requests over Socket Mode for `bolt`, whatever Slack does meanwhile."""

    def __init__(
        self,
        bolt: AsyncApp,
        app_token: str,
        api_url: str,
        *,
        timeout: float,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._bolt = bolt
        self._app_token = app_token
        self._api_url = api_url
        self._timeout = timeout
        self._retry = retry or RetryPolicy()
        self._status = SocketStatus(SocketState.CONNECTING, "not connected yet")
        self._client: _OneAttemptClient | None = None
        self._task: asyncio.Task[None] | None = None
        self._hello = asyncio.Event()
        self._lost = asyncio.Event()
        self._lost_reason = ""
        self._lost_session: Any = None

    @property
    def status(self) -> SocketStatus:
        return self._status

    def readiness(self) -> tuple[str, str | None]:
        """(state, reason) for /readyz."""
        return self._status.state.value, self._status.reason

    def start(self) -> None:
        """Start connecting in the background (call from the running event loop)."""
        web_client = AsyncWebClient(
            base_url=self._api_url,
            timeout=max(1, round(self._timeout)),
            retry_handlers=[],  # one request per attempt: the supervisor retries
        )
        self._client = _OneAttemptClient(
            app_token=self._app_token,
            logger=logging.getLogger(f"{__name__}.sdk"),
            web_client=web_client,
            ping_interval=PING_INTERVAL_S,
            on_lost=self._report_lost,
        )
        self._client.message_listeners.append(self._on_message)
        self._client.socket_mode_request_listeners.append(self._dispatch)
        self._task = asyncio.create_task(self._run(), name="slack-socket-mode")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._client is not None:
            await self._client.close()

    # ------------------------------------------------------------------ supervision
    async def _run(self) -> None:
        failures = 0
        while True:
            try:
                await self._connect_once()
            except _TokenRejected as exc:
                line = token_error_line(exc.error)
                self._status = SocketStatus(SocketState.FAILED, line)
                log.error(line)
                return
            except _AttemptFailed as exc:
                failures += 1
                delay = max(self._retry.delay(failures), exc.retry_after)
                self._status = SocketStatus(SocketState.CONNECTING, exc.reason)
                log.warning(
                    "Slack Socket Mode: cannot connect, retrying",
                    reason=exc.reason,
                    attempt=failures,
                    retry_in_seconds=round(delay, 1),
                )
                await asyncio.sleep(delay)
                continue
            if failures:
                log.info("Slack Socket Mode connected", after_failed_attempts=failures)
            else:
                log.info("Slack Socket Mode connected")
            failures = 0
            self._status = SocketStatus(SocketState.CONNECTED)
            await self._lost.wait()
            self._status = SocketStatus(SocketState.CONNECTING, self._lost_reason)
            log.info("Slack Socket Mode: reconnecting", reason=self._lost_reason)

    async def _connect_once(self) -> None:
        assert self._client is not None
        self._hello.clear()
        self._lost.clear()
        try:
            await asyncio.wait_for(self._client.connect(), self._timeout)
        except SlackApiError as exc:
            raise _api_failure(exc) from None
        except TimeoutError:
            raise _AttemptFailed(f"no connection within {self._timeout:g}s") from None
        except Exception as exc:  # aiohttp, OS and protocol errors: all worth another try
            raise _AttemptFailed(_describe(exc)) from None
        if self._lost.is_set() and self._lost_session is not self._client.current_session:
            self._lost.clear()  # reported by the socket this attempt replaced
        waiting = [asyncio.ensure_future(e.wait()) for e in (self._hello, self._lost)]
        try:
            await asyncio.wait(waiting, timeout=self._timeout, return_when="FIRST_COMPLETED")
        finally:
            for waiter in waiting:
                waiter.cancel()
        if not self._hello.is_set():
            reason = self._lost_reason if self._lost.is_set() else "no hello from Slack"
            raise _AttemptFailed(reason)

    def _report_lost(self, session: Any, reason: str) -> None:
        client = self._client
        if client is None or session is not client.current_session or self._lost.is_set():
            return  # an old socket's last words, or already reported
        self._lost_session = session
        self._lost_reason = reason
        self._lost.set()

    # ------------------------------------------------------------------ listeners
    async def _on_message(
        self, client: AsyncBaseSocketModeClient, message: dict[str, Any], raw: str | None
    ) -> None:
        if message.get("type") == "hello":
            self._hello.set()

    async def _dispatch(
        self, client: AsyncBaseSocketModeClient, request: SocketModeRequest
    ) -> None:
        # What slack_bolt's AsyncSocketModeHandler.handle does: Bolt acks, the SDK sends it.
        started = time.time()
        response = await run_async_bolt_app(self._bolt, request)
        await send_async_response(client, request, response, started)


def _api_failure(exc: SlackApiError) -> Exception:
    response = exc.response
    status = getattr(response, "status_code", None) or getattr(response, "status", None)
    data = getattr(response, "data", None)
    error = data.get("error") if isinstance(data, dict) else None
    if error in TOKEN_ERRORS:
        return _TokenRejected(str(error))
    retry_after = 0.0
    if status == 429:
        headers = getattr(response, "headers", {}) or {}
        with contextlib.suppress(TypeError, ValueError):
            retry_after = float(headers.get("Retry-After", headers.get("retry-after", 0)))
    what = f"HTTP {status}" if error is None else f"{error} (HTTP {status})"
    return _AttemptFailed(f"apps.connections.open: {what}", retry_after)


def _describe(exc: BaseException) -> str:
    """A short reason without URLs (a Socket Mode URL carries a one-time ticket)."""
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"{type(exc).__name__}: HTTP {exc.status}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"cannot reach {exc.host}:{exc.port} ({exc.os_error.strerror or exc.os_error})"
    text = str(exc).split("\n", 1)[0][:200]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
