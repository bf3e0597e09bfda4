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

from bot.sandbox.fault_registry import FaultRegistry, InjectedFault

# NOTES.md "REST v2 essentials": 960 requests a minute per key.
REST_RATE_LIMIT = (960, 60.0)


@dataclass
class PdFault(InjectedFault):
    """``status`` answers with that HTTP error (429 carries a reset time of ``reset_seconds``);
    ``latency`` delays the answer; ``times`` is how many requests it affects (None: until
    cleared)."""

    endpoint: str = "*"
    status: int | None = None
    latency: float = 0.0
    reset_seconds: int = 1
    times: int | None = None
    used: int = 0

    def matches(self, name: str) -> bool:
        if self.endpoint in ("*", name):
            return True
        return self.endpoint.endswith(".*") and name.startswith(self.endpoint[:-1])

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class FaultOutcome:
    latency: float = 0.0
    status: int | None = None
    reset_seconds: int = 1


class PdFaults(FaultRegistry[PdFault]):
    """Thread-safe: tests add faults while the server runs (bot/sandbox/fault_registry.py)."""

    def add(
        self,
        endpoint: str = "*",
        *,
        status: int | None = None,
        latency: float = 0.0,
        reset_seconds: int = 1,
        times: int | None = None,
    ) -> PdFault:
        self.check(fails=status is not None, status=status, latency=latency, times=times)
        return self.register(
            PdFault(endpoint, status, float(latency), max(1, int(reset_seconds)), times)
        )

    def take(self, endpoint: str) -> FaultOutcome:
        """Use up one turn of each matching fault: latencies add up, the first failure wins
        (a failure fault is only used up by a request it fails)."""
        latency, failure = self.use(endpoint)
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
