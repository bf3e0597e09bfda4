"""The fault registry both emulators share (Slack's in bot/sandbox/emulator/faults.py,
PagerDuty's in bot/sandbox/pagerduty/faults.py).

A fault is a dataclass of its emulator's own fields (what it is for, how it fails) on top of
:class:`InjectedFault`'s: an HTTP ``status``, a ``latency``, how many calls it affects
(``times``, None: until cleared) and how many it has affected (``used``). A
:class:`FaultRegistry` holds them and, for each call, uses up the ones matching it: latencies
add up, the first failure wins, and a failure fault is only used up by the call it fails.
"""

from __future__ import annotations

import copy
import threading
from typing import ClassVar, Generic, TypeVar


class InjectedFault:
    """What a registry needs of a fault; each emulator's fault dataclass subclasses it and
    says which calls it ``matches``."""

    status: int | None
    latency: float
    times: int | None
    used: int

    def matches(self, name: str) -> bool:
        """Whether the fault applies to the call of endpoint or method ``name``."""
        raise NotImplementedError

    @property
    def fails(self) -> bool:
        """Whether the fault fails the call (otherwise it only delays it)."""
        return self.status is not None

    def exhausted(self) -> bool:
        return self.times is not None and self.used >= self.times


F = TypeVar("F", bound=InjectedFault)


class FaultRegistry(Generic[F]):
    """Faults of one emulator; thread-safe because tests add faults while the server runs."""

    #: The ValueError messages of :meth:`check`, in the emulator's words.
    needs_message: ClassVar[str] = "a fault needs a status or a latency"
    status_message: ClassVar[str] = "a fault status must be an HTTP error status (4xx/5xx)"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[F] = []

    def check(self, *, fails: bool, status: int | None, latency: float, times: int | None) -> None:
        """Refuse a fault that does nothing, fails with a non-error status or affects fewer
        than one call; ``fails``: whether it would fail the call."""
        if not fails and latency <= 0:
            raise ValueError(self.needs_message)
        if status is not None and not 400 <= status <= 599:
            raise ValueError(self.status_message)
        if times is not None and times < 1:
            raise ValueError("times must be >= 1 or None")

    def register(self, fault: F) -> F:
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def active(self) -> list[F]:
        """Copies of the faults not used up yet."""
        with self._lock:
            return [copy.copy(f) for f in self._faults if not f.exhausted()]

    def use(self, name: str) -> tuple[float, F | None]:
        """Use up one turn of every fault matching the call ``name``: (the latencies added up,
        the first failure or None). A failure fault is only used up by the call it fails."""
        latency = 0.0
        failure: F | None = None
        with self._lock:
            for fault in self._faults:
                if fault.exhausted() or not fault.matches(name):
                    continue
                if fault.fails and failure is not None:
                    continue
                fault.used += 1
                latency += fault.latency
                if fault.fails:
                    failure = fault
            self._faults = [f for f in self._faults if not f.exhausted()]
        return latency, failure
