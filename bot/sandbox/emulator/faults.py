"""Fault injection and per-method rate limits.

Both are consulted before a handler runs, so a faulted or rate-limited call never changes the
workspace: exactly what the bot sees when Slack throttles or fails a request.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Fault:
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

    def exhausted(self) -> bool:
        return self.times is not None and self.used >= self.times

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


class FaultInjector:
    """Registry of faults; thread-safe because tests add faults while the server runs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

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
        if status is None and error is None and latency <= 0:
            raise ValueError("a fault needs a status, an error or a latency")
        if status is not None and not 400 <= status <= 599:
            raise ValueError("fault status must be an HTTP error status (4xx/5xx)")
        if times is not None and times < 1:
            raise ValueError("times must be >= 1 or None")
        fault = Fault(method, status, max(1, int(retry_after)), error, float(latency), times)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def active(self) -> list[Fault]:
        with self._lock:
            return [Fault(**asdict(f)) for f in self._faults if not f.exhausted()]

    def take(self, method: str) -> FaultOutcome:
        """Consume one use of every matching fault; latencies add up, the first failure wins."""
        latency = 0.0
        failure: Fault | None = None
        with self._lock:
            for fault in self._faults:
                if fault.exhausted() or fault.method not in ("*", method):
                    continue
                # A failure fault is only used up by the call it actually fails.
                if (fault.status is not None or fault.error is not None) and failure is not None:
                    continue
                fault.used += 1
                latency += fault.latency
                if fault.status is not None or fault.error is not None:
                    failure = fault
            self._faults = [f for f in self._faults if not f.exhausted()]
        if failure is None:
            return FaultOutcome(latency=latency)
        return FaultOutcome(latency, failure.status, failure.retry_after, failure.error)


@dataclass
class _Window:
    calls: int
    per_seconds: float
    hits: deque[float] = field(default_factory=deque)


class RateLimiter:
    """Sliding-window limits per method, driven by an injectable clock."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, _Window] = {}

    def set(self, method: str, calls: int, per_seconds: float) -> None:
        if calls < 1 or per_seconds <= 0:
            raise ValueError("rate limit needs calls >= 1 and per_seconds > 0")
        with self._lock:
            self._windows[method] = _Window(calls, float(per_seconds))

    def clear(self) -> None:
        with self._lock:
            self._windows.clear()

    def limits(self) -> dict[str, dict[str, float]]:
        with self._lock:
            return {
                m: {"calls": w.calls, "per_seconds": w.per_seconds}
                for m, w in self._windows.items()
            }

    def check(self, method: str) -> int | None:
        """Record a call; returns Retry-After seconds (>= 1) when it exceeds the limit."""
        with self._lock:
            window = self._windows.get(method)
            if window is None:
                return None
            now = self._clock()
            while window.hits and window.hits[0] <= now - window.per_seconds:
                window.hits.popleft()
            if len(window.hits) >= window.calls:
                wait = window.hits[0] + window.per_seconds - now
                return max(1, math.ceil(wait))
            window.hits.append(now)
            return None
