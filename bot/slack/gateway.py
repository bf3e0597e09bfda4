"""Every Slack Web API call the bot makes goes through :class:`SlackGateway`.

It classifies failures so callers can do the right thing durably:

- :class:`SlackRateLimited` (HTTP 429): retry after ``Retry-After`` seconds. The gateway
  also remembers the cool-down so other work doesn't hammer the same limit: per method and
  channel for the methods Slack limits per channel (posting), so a storm in one incident's
  channel does not hold up another's; per method for everything else.
- :class:`SlackTransient` (5xx, timeouts, connection errors): retry with backoff. Short
  blips are already retried in place by slack_sdk's own retry handlers.
- :class:`SlackPermanent` (``invalid_auth``, ``missing_scope``, ...): a person must fix
  the configuration; the work is parked, not dropped.
- :class:`SlackCallError`: an ordinary API error (``name_taken``, ``already_in_channel``)
  that the calling flow handles.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any
from urllib.error import URLError

import httpx
import structlog
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import (
    BackoffRetryIntervalCalculator,
)

from bot.metrics import Metrics
from bot.outbox.outcomes import JobOutcome, Permanent, RetryAfter, Transient

log = structlog.get_logger(__name__)

PERMANENT_ERRORS = frozenset(
    {
        "not_authed",
        "invalid_auth",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "no_permission",
        "missing_scope",
        "not_allowed_token_type",
        "org_login_required",
        "ekm_access_denied",
        "team_access_not_granted",
        "restricted_action",
    }
)


# Posting methods: Slack limits chat.postMessage per channel (about one message a second,
# tests/fixtures/slack_methods/NOTES.md "Rate limits"), so their cool-downs are per channel.
CHANNEL_SCOPED_METHODS = frozenset(
    {
        "chat.postMessage",
        "chat.update",
        "chat.postEphemeral",
        "chat.delete",
        "chat.meMessage",
        "chat.scheduleMessage",
    }
)


def cooldown_key(method: str, args: dict[str, Any]) -> str:
    """What a 429 cools down: ``chat.postMessage C123`` for posting, else the method."""
    channel = args.get("channel")
    if method in CHANNEL_SCOPED_METHODS and isinstance(channel, str) and channel:
        return f"{method} {channel}"
    return method


class SlackFailure(JobOutcome):
    """A Slack call failed; ``method`` is the Web API method, ``error`` Slack's code."""

    @property
    def method(self) -> str:
        return self.target


class SlackRateLimited(SlackFailure, RetryAfter):
    """``shared`` unless the limit was one channel's (posting): then it is this job's."""

    def __init__(self, method: str, retry_after: float, key: str | None = None) -> None:
        RetryAfter.__init__(self, method, retry_after, shared=key in (None, method))


class SlackTransient(SlackFailure, Transient):
    pass


class SlackPermanent(SlackFailure, Permanent):
    pass


class SlackCallError(SlackFailure):
    def __init__(self, method: str, error: str, data: dict[str, Any]) -> None:
        super().__init__(method, error)
        self.data = data


def build_web_client(token: str, base_url: str, timeout: float) -> WebClient:
    backoff = BackoffRetryIntervalCalculator(backoff_factor=0.2)
    return WebClient(
        token=token,
        base_url=base_url,
        timeout=int(max(1, timeout)),
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2, interval_calculator=backoff),
            ServerErrorRetryHandler(max_retry_count=2, interval_calculator=backoff),
        ],
    )


class SlackGateway:
    def __init__(
        self,
        client: WebClient,
        metrics: Metrics,
        monotonic: Callable[[], float] = time.monotonic,
        while_waiting: Callable[[], AbstractContextManager[None]] = nullcontext,
    ) -> None:
        """``while_waiting`` wraps every network wait: the outbox lends its turn to
        another job meanwhile (see :class:`bot.worker.OutboxTurn`)."""
        self._client = client
        self._while_waiting = while_waiting
        self._metrics = metrics
        self._monotonic = monotonic
        self._cooldown: dict[str, float] = {}
        self._lock = threading.Lock()
        self._bot_user_id: str | None = None

    @property
    def client(self) -> WebClient:
        return self._client

    def call(self, method: str, **args: Any) -> dict[str, Any]:
        """Call ``method`` (e.g. ``"conversations.create"``) and return the response data."""
        key = cooldown_key(method, args)
        with self._lock:
            until = self._cooldown.get(key, 0.0)
        wait = until - self._monotonic()
        if wait > 0:
            raise SlackRateLimited(method, wait, key)
        try:
            # The typed wrappers encode arguments the way Slack expects for each method
            # (form fields for reads, JSON for blocks), so use them rather than api_call.
            bound = getattr(self._client, method.replace(".", "_"))
            with self._while_waiting():
                response = bound(**_drop_none(args))
        except SlackApiError as exc:
            raise self._classify(method, exc, key) from None
        except (TimeoutError, URLError, ConnectionError) as exc:
            self._count(method, "timeout" if "timed out" in str(exc) else "connection_error")
            raise SlackTransient(method, f"{type(exc).__name__}: {exc}") from None
        self._count(method, "ok")
        return dict(response.data) if isinstance(response.data, dict) else {}

    def upload_file(
        self,
        *,
        channel_id: str,
        content: str | bytes,
        filename: str,
        title: str,
        initial_comment: str | None = None,
        alt_txt: str | None = None,
    ) -> dict[str, Any]:
        """Share a file in a channel: the external upload flow ``files_upload_v2`` runs,
        step by step, so each Web API call is counted and its failure classified."""
        data = content.encode("utf-8") if isinstance(content, str) else content
        ticket = self.call(
            "files.getUploadURLExternal", filename=filename, length=len(data), alt_txt=alt_txt
        )
        self._send_upload(str(ticket["upload_url"]), data)
        return self.call(
            "files.completeUploadExternal",
            files=[{"id": str(ticket["file_id"]), "title": title}],
            channel_id=channel_id,
            initial_comment=initial_comment,
        )

    def _send_upload(self, url: str, data: bytes) -> None:
        method = "files.upload_url"  # the URL files.getUploadURLExternal handed out
        try:
            with self._while_waiting():
                response = httpx.post(
                    url,
                    content=data,
                    headers={"content-type": "application/octet-stream"},
                    timeout=self._client.timeout,
                )
        except httpx.HTTPError as exc:
            self._count(method, "connection_error")
            raise SlackTransient(method, f"{type(exc).__name__}: {exc}") from None
        self._count(method, "ok" if response.status_code == 200 else f"http_{response.status_code}")
        if response.status_code >= 500 or response.status_code == 429:
            raise SlackTransient(method, f"HTTP {response.status_code}")
        if response.status_code != 200:
            raise SlackCallError(method, f"http_{response.status_code}", {})

    def _classify(self, method: str, exc: SlackApiError, key: str) -> SlackFailure:
        status = exc.response.status_code
        if status == 429:
            self._count(method, "http_429")
            retry_after = _retry_after(exc.response.headers)
            now = self._monotonic()
            with self._lock:
                # One entry per channel that was ever limited: forget the expired ones.
                for expired in [k for k, until in self._cooldown.items() if until <= now]:
                    del self._cooldown[expired]
                self._cooldown[key] = now + retry_after
            return SlackRateLimited(method, retry_after, key)
        if status >= 500:
            self._count(method, f"http_{status}")
            return SlackTransient(method, f"HTTP {status}")
        data = exc.response.data if isinstance(exc.response.data, dict) else {}
        error = str(data.get("error") or f"http_{status}")
        self._count(method, error)
        if error in PERMANENT_ERRORS:
            log.error("slack_permanent_error", method=method, error=error)
            return SlackPermanent(method, error)
        if error in {"ratelimited", "rate_limited"}:
            return SlackRateLimited(method, _retry_after(exc.response.headers), key)
        if error in {"internal_error", "fatal_error", "service_unavailable", "request_timeout"}:
            return SlackTransient(method, error)
        return SlackCallError(method, error, dict(data))

    def _count(self, method: str, status: str) -> None:
        self._metrics.slack_calls.labels(method=method, status=status).inc()

    def bot_user_id(self) -> str:
        """The bot's own user id (``auth.test``), asked once per process."""
        if self._bot_user_id is None:
            self._bot_user_id = str(self.call("auth.test")["user_id"])
        return self._bot_user_id


def _retry_after(headers: Any) -> float:
    raw = None
    if headers:
        for key, value in dict(headers).items():
            if str(key).lower() == "retry-after":
                raw = value[0] if isinstance(value, list) else value
    try:
        return max(1.0, float(raw)) if raw is not None else 30.0
    except (TypeError, ValueError):
        return 30.0


def _drop_none(args: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in args.items() if v is not None}
