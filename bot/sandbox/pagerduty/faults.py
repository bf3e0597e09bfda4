"""Faults and the REST rate limit of the PagerDuty emulator.

Consulted before a request is handled, so a faulted or throttled request changes nothing,
as with the Slack emulator (bot/sandbox/emulator/faults.py). Endpoints are named
``events.enqueue``, ``rest.oncalls``, ``rest.users``, ``rest.schedules``; a fault's
``endpoint`` is one of those, ``events.*``, ``rest.*`` or ``*``.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

# NOTES.md "REST v2 essentials": 960 requests a minute per key.
REST_RATE_LIMIT = (960, 60.0)


@dataclass
class PdFault:
    """``status`` answers with that HTTP error (429 carries a reset time of ``reset_seconds``);
    ``latency`` delays the answer; ``times`` is how many requests it affects (None: until
    cleared)."""

    endpoint: str = "*"
    status: int | None = None
    latency: float = 0.0
    reset_seconds: int = 1
    times: int | None = None
    used: int = 0

    def matches(self, endpoint: str) -> bool:
        if self.endpoint in ("*", endpoint):
            return True
        return self.endpoint.endswith(".*") and endpoint.startswith(self.endpoint[:-1])

    def exhausted(self) -> bool:
        return self.times is not None and self.used >= self.times

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class FaultOutcome:
    latency: float = 0.0
    status: int | None = None
    reset_seconds: int = 1


class PdFaults:
    """Thread-safe: tests add faults while the server runs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[PdFault] = []

    def add(
        self,
        endpoint: str = "*",
        *,
        status: int | None = None,
        latency: float = 0.0,
        reset_seconds: int = 1,
        times: int | None = None,
    ) -> PdFault:
        if status is None and latency <= 0:
            raise ValueError("a fault needs a status or a latency")
        if status is not None and not 400 <= status <= 599:
            raise ValueError("a fault status must be an HTTP error status (4xx/5xx)")
        if times is not None and times < 1:
            raise ValueError("times must be >= 1 or None")
        fault = PdFault(endpoint, status, float(latency), max(1, int(reset_seconds)), times)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def active(self) -> list[PdFault]:
        with self._lock:
            return [PdFault(**asdict(f)) for f in self._faults if not f.exhausted()]

    def take(self, endpoint: str) -> FaultOutcome:
        """Use up one turn of each matching fault: latencies add up, the first failure wins
        (a failure fault is only used up by a request it fails)."""
        latency, failure = 0.0, None
        with self._lock:
            for fault in self._faults:
                if fault.exhausted() or not fault.matches(endpoint):
                    continue
                if fault.status is not None and failure is not None:
                    continue
                fault.used += 1
                latency += fault.latency
                if fault.status is not None:
                    failure = fault
            self._faults = [f for f in self._faults if not f.exhausted()]
        if failure is None:
            return FaultOutcome(latency)
        return FaultOutcome(latency, failure.status, failure.reset_seconds)


@dataclass
class _Window:
    hits: deque[float] = field(default_factory=deque)


class RestRateLimit:
    """A sliding window per API token on the emulator's clock; ``None`` limit: off."""

    def __init__(self, clock: Callable[[], datetime], limit: tuple[int, float] | None) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, _Window] = {}
        self.limit = limit

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()

    def check(self, token: str) -> tuple[bool, dict[str, str]]:
        """(allowed, ratelimit-* headers). A refused request uses up nothing."""
        if self.limit is None:
            return True, {}
        calls, per = self.limit
        now = self._clock().timestamp()
        with self._lock:
            window = self._windows.setdefault(token, _Window())
            while window.hits and window.hits[0] <= now - per:
                window.hits.popleft()
            allowed = len(window.hits) < calls
            if allowed:
                window.hits.append(now)
            reset = window.hits[0] + per - now if window.hits else per
            headers = {
                "ratelimit-limit": str(calls),
                "ratelimit-remaining": str(calls - len(window.hits)),
                "ratelimit-reset": str(max(1, int(-(-reset // 1)))),
            }
        return allowed, headers
