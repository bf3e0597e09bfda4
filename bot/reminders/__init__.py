"""Step deadlines that remind and escalate, exactly once across replicas, surviving restarts.

``install(wiring)`` plugs the feature in: the outbox job handlers (post the reminder,
escalate, DM the escalation contacts), the reminder buttons, and two ticks on the app's
scheduler (:mod:`bot.ticks`): :meth:`ReminderScanner.scan` every few seconds and, at
start-up and then every ten minutes, :meth:`ReminderScanner.sweep`, the safety net that
recomputes every open incident's stored next-due time. Everything that matters lives in
the database (see :mod:`bot.reminders.scan`); the scheduler holds no state worth keeping.

``wiring.exposed["reminders"]`` is the :class:`Reminders` object (tests call
``.scanner.scan()`` with a manual clock instead of waiting for the scheduler).
"""

from __future__ import annotations

import threading

import structlog

from bot.reminders.jobs import ReminderJobs
from bot.reminders.scan import Claimed, ReminderScanner
from bot.reminders.slack import ReminderButtons, register_reminder_buttons
from bot.reminders.views import register_renderers
from bot.ticks import TickHost, Ticks
from bot.wiring import Wiring

__all__ = [
    "DEFAULT_SCAN_INTERVAL_SECONDS",
    "DEFAULT_SWEEP_INTERVAL_SECONDS",
    "Claimed",
    "ReminderScanner",
    "Reminders",
    "install",
]

log = structlog.get_logger(__name__)

DEFAULT_SCAN_INTERVAL_SECONDS = 5.0
# A write path that forgot to update an incident's next-due time delays its reminder by at
# most this (plus one sweep and one scan); the sweep logs each incident it corrects.
DEFAULT_SWEEP_INTERVAL_SECONDS = 600.0
# After each of the sweep's chunks it rests as long as the chunk took: requests come first.
SWEEP_REST = 1.0
SCAN_TICK = "reminders.scan"
SWEEP_TICK = "reminders.sweep"


class Reminders:
    """The scanner plus its two ticks (the scan and the sweep) on ``ticks``: the app's
    (see :mod:`bot.ticks`), or, standing alone, a scheduler of its own."""

    def __init__(
        self,
        scanner: ReminderScanner,
        interval_seconds: float = DEFAULT_SCAN_INTERVAL_SECONDS,
        sweep_interval_seconds: float = DEFAULT_SWEEP_INTERVAL_SECONDS,
        *,
        ticks: TickHost | None = None,
    ) -> None:
        if interval_seconds <= 0 or sweep_interval_seconds <= 0:
            raise ValueError("the reminder scan and sweep intervals must be positive")
        self.scanner = scanner
        self.interval_seconds = interval_seconds
        self.sweep_interval_seconds = sweep_interval_seconds
        self._stopping = threading.Event()  # ends a sweep under way at shutdown
        self._failures = 0
        # Scheduled scans that completed: a scan that starts after a change (a deadline
        # passing) has seen it once this grows by two.
        self.scans = 0
        self.sweeps = 0  # sweeps completed (the first runs at start-up)
        self._own_ticks = Ticks() if ticks is None else None
        host: TickHost = ticks if ticks is not None else self._own_ticks  # type: ignore[assignment]
        self._ticks = [
            host.add_tick(SCAN_TICK, interval_seconds, self.tick),
            # At start-up, then every interval.
            host.add_tick(
                SWEEP_TICK,
                sweep_interval_seconds,
                self.sweep,
                first_in=0.0,
                on_stop=self._stopping.set,
            ),
        ]

    def tick(self) -> None:
        """One scheduled scan; a failure (database down) is retried next tick and logged
        now and then, not every few seconds."""
        try:
            self.scanner.scan()
        except Exception as exc:
            if self._failures % 20 == 0:
                log.warning("reminder_scan_failed", error=f"{type(exc).__name__}: {exc}")
            self._failures += 1
        else:
            self._failures = 0
            self.scans += 1

    def sweep(self) -> None:
        """The scheduled safety net; a failure is logged and retried at the next one."""
        try:
            self.scanner.sweep(rest=SWEEP_REST, stop=self._stopping)
        except Exception as exc:
            log.warning("next_due_sweep_failed", error=f"{type(exc).__name__}: {exc}")
        else:
            self.sweeps += 1

    def start(self) -> None:
        """Standing alone: start the own scheduler. In the app (which starts its ticks):
        resume the ticks after :meth:`stop`."""
        self._stopping.clear()
        for tick in self._ticks:
            tick.resume()
        if self._own_ticks is not None:
            self._own_ticks.start()

    def stop(self) -> None:
        """Cancel both ticks (waiting for a run under way): a test scans by hand after."""
        for tick in self._ticks:
            tick.cancel()
        if self._own_ticks is not None:
            self._own_ticks.stop()

    @property
    def running(self) -> bool:
        return all(tick.running for tick in self._ticks)


def install(wiring: Wiring, *, scan_interval_seconds: float | None = None) -> None:
    if scan_interval_seconds is None:
        scan_interval_seconds = wiring.settings.reminder_scan_seconds
    wake = wiring.worker.wake
    scanner = ReminderScanner(wiring.db, wiring.plan, wiring.clock, on_enqueued=wake)
    handlers = ReminderJobs(wiring.db, wiring.plan, wiring.clock, wiring.platform, on_enqueued=wake)
    wiring.add_job_handlers(handlers.handlers())
    register_renderers(wiring.renderers, wiring.plan.tz)
    buttons = ReminderButtons(
        wiring.db, wiring.plan, wiring.clock, wiring.commands, on_enqueued=wake
    )
    register_reminder_buttons(wiring, buttons)
    # Its ticks start and stop with the app's.
    wiring.exposed["reminders"] = Reminders(scanner, scan_interval_seconds, ticks=wiring)
