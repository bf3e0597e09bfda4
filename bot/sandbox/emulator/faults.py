"""Fault injection and rate limits.

Both are consulted before a handler runs, so a faulted or rate-limited call never changes the
workspace: exactly what the bot sees when Slack throttles or fails a request.

Two kinds of limit, as Slack has them (tests/fixtures/slack_methods/NOTES.md, "Rate limits"):
a sliding window per method for the workspace (the tiers: Tier 3 is 50+ calls a minute), and
a token bucket per method *and channel* for posting (``chat.postMessage``: about one message
a second in each channel, short bursts allowed). :data:`SLACK_RATE_LIMITS` are the ones the
emulator enforces unless told otherwise.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from bot.sandbox.fault_registry import FaultRegistry, InjectedFault


@dataclass
class Fault(InjectedFault):
    """One injected misbehaviour for `method` ("*" for every method).

    `latency` delays the call; `status` answers with that HTTP status (429 adds Retry-After);
    `error` answers HTTP 200 `ok: false` with that code. `times` is how many calls it affects
    (None: until cleared).
    """

    method: str
    status: int | None = None
    retry_after: int = 1
    error: str | None = None
    latency: float = 0.0
    times: int | None = None
    used: int = 0

    def matches(self, name: str) -> bool:
        return self.method in ("*", name)

    @property
    def fails(self) -> bool:
        return self.status is not None or self.error is not None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class FaultOutcome:
    """The combined effect of the faults matching one call."""

    latency: float = 0.0
    status: int | None = None
    retry_after: int = 1
    error: str | None = None

    @property
    def fails(self) -> bool:
        return self.status is not None or self.error is not None


class FaultInjector(FaultRegistry[Fault]):
    """Registry of faults (bot/sandbox/fault_registry.py); thread-safe because tests add
    faults while the server runs."""

    needs_message = "a fault needs a status, an error or a latency"
    status_message = "fault status must be an HTTP error status (4xx/5xx)"

    def add(
        self,
        method: str = "*",
        *,
        status: int | None = None,
        retry_after: int = 1,
        error: str | None = None,
        latency: float = 0.0,
        times: int | None = None,
    ) -> Fault:
        fails = status is not None or error is not None
        self.check(fails=fails, status=status, latency=latency, times=times)
        return self.register(
            Fault(method, status, max(1, int(retry_after)), error, float(latency), times)
        )

    def take(self, method: str) -> FaultOutcome:
        """Consume one use of every matching fault; latencies add up, the first failure wins."""
        latency, failure = self.use(method)
        if failure is None:
            return FaultOutcome(latency=latency)
        return FaultOutcome(latency, failure.status, failure.retry_after, failure.error)


@dataclass
class _Window:
    calls: int
    per_seconds: float
    hits: deque[float] = field(default_factory=deque)


@dataclass(frozen=True)
class ChannelRate:
    """A token bucket per channel: ``per_second`` tokens a second, at most ``burst`` saved."""

    per_second: float
    burst: int


@dataclass
class _Bucket:
    tokens: float
    at: float


@dataclass(frozen=True)
class SlackRateLimits:
    """The limits of a workspace: windows per method, buckets per method and channel."""

    windows: dict[str, tuple[int, float]]
    per_channel: dict[str, ChannelRate]


# Slack's own limits, from tests/fixtures/slack_methods (NOTES.md "Rate limits" and each
# method's `rate_limits` tier): chat.postMessage is Special, about 1 message per second per
# channel with short bursts (the size is not published: 3, a short burst); chat.update and
# apps.connections.open are Tier 3, 50+ per minute per workspace and app.
SLACK_RATE_LIMITS = SlackRateLimits(
    windows={"chat.update": (50, 60.0), "apps.connections.open": (50, 60.0)},
    per_channel={"chat.postMessage": ChannelRate(per_second=1.0, burst=3)},
)


class RateLimiter:
    """Sliding-window limits per method and token buckets per method and channel, driven
    by an injectable clock."""

    def __init__(self, clock: Callable[[], float], *, slack: bool = False) -> None:
        """``slack``: enforce :data:`SLACK_RATE_LIMITS` from the start and after reset()."""
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, _Window] = {}
        self._rates: dict[str, ChannelRate] = {}
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._defaults = SLACK_RATE_LIMITS if slack else None
        self.reset()

    def set(self, method: str, calls: int, per_seconds: float) -> None:
        if calls < 1 or per_seconds <= 0:
            raise ValueError("rate limit needs calls >= 1 and per_seconds > 0")
        with self._lock:
            self._windows[method] = _Window(calls, float(per_seconds))

    def set_per_channel(self, method: str, per_second: float, burst: int) -> None:
        if per_second <= 0 or burst < 1:
            raise ValueError("a per-channel rate needs per_second > 0 and burst >= 1")
        with self._lock:
            self._rates[method] = ChannelRate(float(per_second), int(burst))
            self._buckets = {k: b for k, b in self._buckets.items() if k[0] != method}

    def apply(self, limits: SlackRateLimits) -> None:
        for method, (calls, per_seconds) in limits.windows.items():
            self.set(method, calls, per_seconds)
        for method, rate in limits.per_channel.items():
            self.set_per_channel(method, rate.per_second, rate.burst)

    def clear(self) -> None:
        """No limits at all, Slack's own included."""
        with self._lock:
            self._windows.clear()
            self._rates.clear()
            self._buckets.clear()

    def reset(self) -> None:
        """Back to the limits it started with."""
        self.clear()
        if self._defaults is not None:
            self.apply(self._defaults)

    def limits(self) -> dict[str, dict[str, float]]:
        with self._lock:
            shown: dict[str, dict[str, float]] = {
                m: {"calls": w.calls, "per_seconds": w.per_seconds}
                for m, w in self._windows.items()
            }
            for m, rate in self._rates.items():
                shown[f"{m} per channel"] = {"per_second": rate.per_second, "burst": rate.burst}
            return shown

    def check(self, method: str, channel: str | None = None) -> int | None:
        """Record a call; returns Retry-After seconds (>= 1) when it exceeds a limit. A
        refused call uses up nothing."""
        with self._lock:
            now = self._clock()
            rate = self._rates.get(method)
            bucket = None
            if rate is not None:
                key = (method, channel or "")
                bucket = self._buckets.setdefault(key, _Bucket(float(rate.burst), now))
                bucket.tokens = min(rate.burst, bucket.tokens + (now - bucket.at) * rate.per_second)
                bucket.at = now
                if bucket.tokens < 1:
                    return max(1, math.ceil((1 - bucket.tokens) / rate.per_second))
            window = self._windows.get(method)
            if window is not None:
                while window.hits and window.hits[0] <= now - window.per_seconds:
                    window.hits.popleft()
                if len(window.hits) >= window.calls:
                    wait = window.hits[0] + window.per_seconds - now
                    return max(1, math.ceil(wait))
                window.hits.append(now)
            if bucket is not None:
                bucket.tokens -= 1
            return None
