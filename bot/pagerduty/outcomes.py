"""PagerDuty's answers as the outbox's outcomes (bot/outbox/outcomes.py).

Rules (shared/reference/pagerduty/NOTES.md, copied to tests/fixtures/pagerduty/NOTES.md):
- 429 is a rate limit: wait as the answer says. The REST API says so in ``ratelimit-reset``
  (seconds until the window resets, "REST v2 essentials"); for the Events API the notes give
  no header, so ``Retry-After`` (seconds or an HTTP date) is read first, then
  ``ratelimit-reset``, else a default wait.
- 5xx, timeouts and dropped connections are to be retried ("Events API v2": 429/5xx retry).
- Any other 4xx means PagerDuty refuses the request as it is: retrying cannot help, so the
  job is parked with PagerDuty's own message. Error bodies are ``{"status", "message",
  "errors"}`` (Events API) or ``{"error": {"message", "code", "errors"}}`` (REST).
"""

from __future__ import annotations

from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from bot.outbox.outcomes import Permanent, RetryAfter, Transient

# When a 429 says nothing about the wait.
DEFAULT_RETRY_AFTER_SECONDS = 5.0
# A longer wait than this is not believed (a clock skew in an HTTP date, a bad header).
MAX_RETRY_AFTER_SECONDS = 3600.0
# A PagerDuty error shown in a parked job or a log line: enough to act on, bounded.
MAX_ERROR_CHARS = 300


def retry_after_seconds(headers: httpx.Headers, now: datetime) -> float:
    """The wait a 429 asks for, in seconds."""
    for name in ("retry-after", "ratelimit-reset"):
        raw = (headers.get(name) or "").strip()
        if not raw:
            continue
        try:
            seconds = float(raw)
        except ValueError:
            try:
                seconds = (parsedate_to_datetime(raw) - now).total_seconds()
            except (TypeError, ValueError):
                continue
        if seconds == seconds:  # not NaN
            return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)
    return DEFAULT_RETRY_AFTER_SECONDS


def error_text(response: httpx.Response) -> str:
    """PagerDuty's own words for a refusal, from either API's error body."""
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    parts: list[str] = []
    if isinstance(body, dict):
        nested = body.get("error")
        error: dict[str, Any] = nested if isinstance(nested, dict) else body
        message = error.get("message")
        if isinstance(message, str) and message:
            parts.append(message)
        if isinstance(error.get("code"), int):
            parts.append(f"code {error['code']}")
        details = error.get("errors")
        if isinstance(details, list):
            parts += [str(d) for d in details if isinstance(d, str | int | float)]
    text = "; ".join(parts) or f"HTTP {response.status_code}"
    return f"HTTP {response.status_code}: {text}"[:MAX_ERROR_CHARS]


def check_answer(target: str, response: httpx.Response, now: datetime) -> None:
    """Return on 2xx; raise the outcome the answer calls for otherwise."""
    status = response.status_code
    if 200 <= status < 300:
        return
    if status == 429:
        raise RetryAfter(target, retry_after_seconds(response.headers, now))
    # 408 is the server timing us out: a timeout like any other, worth retrying.
    if status >= 500 or status == 408:
        raise Transient(target, f"HTTP {status}")
    raise Permanent(target, error_text(response))


def transport_failure(target: str, exc: httpx.HTTPError) -> Transient:
    """A timeout or dropped connection (never the URL or headers, which carry secrets)."""
    return Transient(target, type(exc).__name__)
