"""Plugging paging into the app (issue 13): ``install(wiring)``.

- ``POST /webhooks/pagerduty`` whenever ``OOR_PAGERDUTY_WEBHOOK_SECRET`` is set, with the
  job that acts on what it stores;
- a pager: the generic signed webhook when ``OOR_PAGER_WEBHOOK_URL`` is set, else
  PagerDuty when the plan names routing-key variables (the Events API needs no token), else
  none and nothing pages; ``OOR_PAGERDUTY_API_TOKEN`` adds on-call lookups and the emails
  of people who acknowledge in PagerDuty, whichever pager pages;
- with a pager, the scan (bot/paging/scan.py) on an APScheduler interval, beside the
  reminders' (``OOR_REMINDER_SCAN_SECONDS``), and the jobs that page.

``wiring.exposed["paging"]`` is the :class:`Paging` object: tests call ``.scan.scan(now)``
on a manual clock instead of waiting for the scheduler.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

from bot.config import Settings
from bot.domain.clock import Clock
from bot.domain.plan import Plan
from bot.domain.types import OorType
from bot.pagerduty.events import PagerDutyEvents
from bot.pagerduty.pager import PagerDutyPager
from bot.pagerduty.rest import PagerDutyRest
from bot.pagerduty.webhook_route import PagerDutyWebhookDeps, pagerduty_webhook_route
from bot.paging.flows import PagingJobs, RoomNotes
from bot.paging.on_call import OnCallInvites
from bot.paging.on_call_board import OnCallBoard
from bot.paging.port import Pager
from bot.paging.scan import PagingScan
from bot.paging.signed_webhook import SignedWebhookPager

if TYPE_CHECKING:
    from bot.wiring import Wiring

log = structlog.get_logger(__name__)

Waiting = Callable[[], AbstractContextManager[None]]


def routing_keys(
    plan: Plan, environ: os._Environ[str] | dict[str, str] = os.environ
) -> Callable[[str], str | None]:
    """Route (OOR type) -> routing key, read from the variable the plan names, at use."""

    def lookup(route: str) -> str | None:
        try:
            name = plan.paging.routing_key_variable(OorType(route))
        except ValueError:
            return None
        return (environ.get(name) or None) if name else None

    return lookup


def build_pager(
    settings: Settings, plan: Plan, clock: Clock, waiting: Waiting
) -> tuple[Pager | None, PagerDutyRest | None]:
    token = settings.pagerduty_api_token
    rest = (
        PagerDutyRest(
            token.get_secret_value(), settings.pagerduty_api_url, clock=clock, while_waiting=waiting
        )
        if token is not None
        else None
    )
    # An explicit pager webhook wins; else PagerDuty when the plan names routing keys.
    if settings.pager_webhook_url and settings.pager_webhook_secret:
        pager = SignedWebhookPager(
            settings.pager_webhook_url,
            settings.pager_webhook_secret.get_secret_value(),
            clock=clock,
            while_waiting=waiting,
        )
        return pager, rest
    if any(plan.paging.routing_key_variable(t) for t in OorType):
        events = PagerDutyEvents(
            routing_keys(plan), settings.pagerduty_events_url, clock=clock, while_waiting=waiting
        )
        if plan.paging.unrouted():
            log.warning("paging_types_without_routing_key", types=plan.paging.unrouted())
        return PagerDutyPager(events, rest), rest
    return None, rest


@dataclass
class Paging:
    scan: PagingScan | None
    jobs: PagingJobs
    pager: Pager | None
    interval_seconds: float
    clock: Clock
    _failures: int = 0

    def tick(self) -> None:
        if self.scan is None:
            return
        try:
            self.scan.scan(self.clock.now())
        except Exception as exc:  # the database is down: next tick, logged now and then
            if self._failures % 20 == 0:
                log.warning("paging_scan_failed", error=f"{type(exc).__name__}: {exc}")
            self._failures += 1
        else:
            self._failures = 0


def install(wiring: Wiring) -> None:
    settings, plan, clock = wiring.settings, wiring.plan, wiring.clock
    wake, waiting = wiring.worker.wake, wiring.worker.turn.lent
    secrets = settings.pagerduty_webhook_secrets
    if secrets:
        deps = PagerDutyWebhookDeps(
            wiring.db, clock, secrets, on_stored=wake, metrics=wiring.metrics
        )
        wiring.add_routes([pagerduty_webhook_route(deps)])
    pager, rest = build_pager(settings, plan, clock, waiting)
    notes = RoomNotes(wiring.db, clock, wake)
    board = OnCallBoard(wiring.db, plan, wake)
    if any(plan.on_call_targets(t) for t in OorType):
        wiring.add_board_lines(board.board_lines)  # "On call now" on the status board
    jobs = PagingJobs(
        wiring.db,
        pager,
        wiring.incidents,
        wiring.platform,
        clock,
        notes=notes,
        pagerduty=rest,
        room_link=wiring.platform.room_link,
    )
    wiring.add_job_handlers(jobs.handlers())
    on_call = OnCallInvites(
        plan,
        wiring.incidents,
        notes,
        wiring.platform.invite,
        wiring.platform.person_by_email,
        rest.on_call if rest is not None else None,  # on-call targets are PagerDuty's
        board=board,
        clock=clock,
    )
    wiring.add_job_handlers(on_call.handlers())
    scan = None
    wants_on_call = any(plan.on_call_targets(t) for t in OorType)
    if pager is not None or wants_on_call:
        by_webhook = isinstance(pager, SignedWebhookPager)
        scan = PagingScan(
            wiring.db,
            plan,
            wake,
            # PagerDuty pages the types the plan routes (a named variable left unset parks
            # its jobs with that message, visibly); a pager webhook pages every type.
            can_page=lambda t: (
                pager is not None
                and (by_webhook or plan.paging.routing_key_variable(t) is not None)
            ),
        )
    paging = Paging(scan, jobs, pager, settings.reminder_scan_seconds, clock)
    if scan is not None:  # on the app's one scheduler; the scan claims its work in the database
        wiring.add_tick("paging.scan", settings.reminder_scan_seconds, paging.tick)
    wiring.exposed["paging"] = paging


__all__ = ["Paging", "build_pager", "install", "routing_keys"]
