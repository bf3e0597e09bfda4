"""Step deadlines that remind and escalate, exactly once across replicas, surviving restarts.

``install(wiring)`` plugs the feature in: the outbox job handlers (post the reminder,
escalate, DM the escalation contacts), the reminder buttons' Bolt listener, and start/stop
hooks for an in-process APScheduler ``BackgroundScheduler`` that ticks
:meth:`ReminderScanner.scan` every few seconds and, at start-up and then every ten minutes,
:meth:`ReminderScanner.sweep`, the safety net that recomputes every open incident's stored
next-due time. Everything that matters lives in the database (see
:mod:`bot.reminders.scan`); the scheduler holds no state worth keeping.

``wiring.exposed["reminders"]`` is the :class:`Reminders` object (tests call
``.scanner.scan()`` with a manual clock instead of waiting for the scheduler).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import structlog
from apscheduler.schedulers.background import BackgroundScheduler

from bot.reminders.jobs import ReminderJobs
from bot.reminders.scan import Claimed, ReminderScanner
from bot.reminders.slack import ReminderButtons, register_reminder_listeners
from bot.reminders.views import register_renderers
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
_JOB_ID = "reminders.scan"
_SWEEP_JOB_ID = "reminders.sweep"


class Reminders:
    """The scanner plus the scheduler that ticks it."""

    def __init__(
        self,
        scanner: ReminderScanner,
        interval_seconds: float = DEFAULT_SCAN_INTERVAL_SECONDS,
        sweep_interval_seconds: float = DEFAULT_SWEEP_INTERVAL_SECONDS,
    ) -> None:
        if interval_seconds <= 0 or sweep_interval_seconds <= 0:
            raise ValueError("the reminder scan and sweep intervals must be positive")
        self.scanner = scanner
        self.interval_seconds = interval_seconds
        self.sweep_interval_seconds = sweep_interval_seconds
        self._scheduler: BackgroundScheduler | None = None
        self._stopping = threading.Event()  # ends a sweep under way at shutdown
        self._failures = 0
        # Scheduled scans that completed: a scan that starts after a change (a deadline
        # passing) has seen it once this grows by two.
        self.scans = 0
        self.sweeps = 0  # sweeps completed (the first runs at start-up)

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
        if self._scheduler is not None:
            return
        self._stopping.clear()
        scheduler = BackgroundScheduler(timezone=UTC)
        scheduler.add_job(
            self.tick,
            "interval",
            seconds=self.interval_seconds,
            id=_JOB_ID,
            max_instances=1,  # a slow scan is not overtaken by the next one
            coalesce=True,  # ticks missed while busy run once, not in a burst
        )
        scheduler.add_job(
            self.sweep,
            "interval",
            seconds=self.sweep_interval_seconds,
            id=_SWEEP_JOB_ID,
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC),  # at start-up, then every interval
        )
        scheduler.start()
        self._scheduler = scheduler

    def stop(self) -> None:
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None:
            self._stopping.set()
            scheduler.shutdown(wait=True)

    @property
    def running(self) -> bool:
        return self._scheduler is not None


def install(wiring: Wiring, *, scan_interval_seconds: float | None = None) -> None:
    if scan_interval_seconds is None:
        scan_interval_seconds = wiring.settings.reminder_scan_seconds
    wake = wiring.worker.wake
    scanner = ReminderScanner(wiring.db, wiring.plan, wiring.clock, on_enqueued=wake)
    handlers = ReminderJobs(wiring.db, wiring.plan, wiring.clock, wiring.platform, on_enqueued=wake)
    wiring.job_handlers.update(handlers.handlers())
    register_renderers(wiring.renderers, wiring.plan.tz)
    buttons = ReminderButtons(
        wiring.db, wiring.plan, wiring.clock, wiring.commands, on_enqueued=wake
    )
    register_reminder_listeners(wiring.bolt, buttons)
    reminders = Reminders(scanner, scan_interval_seconds)
    wiring.on_start.append(reminders.start)
    wiring.on_stop.append(reminders.stop)
    wiring.exposed["reminders"] = reminders
