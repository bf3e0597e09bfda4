"""Stateful PagerDuty emulator (Events API v2, REST API v2 reads, signed Webhooks v3), served
over real HTTP for tests and the sandbox, like the Slack emulator (bot/sandbox/emulator/).

Point the bot's ``OOR_PAGERDUTY_API_URL`` and ``OOR_PAGERDUTY_EVENTS_URL`` at a
``PagerDutyServer``'s ``api_url`` / ``events_url``. Built from the research notes and field
lists in shared/reference/pagerduty/ (no PagerDuty text copied).
"""

from bot.sandbox.pagerduty.api_types import Answer, Query
from bot.sandbox.pagerduty.app import create_pagerduty_app
from bot.sandbox.pagerduty.emulator import PagerDutyEmulator
from bot.sandbox.pagerduty.faults import REST_RATE_LIMIT, PdFault, PdFaults
from bot.sandbox.pagerduty.model import (
    Call,
    EscalationPolicy,
    Page,
    Service,
    User,
    WebhookDelivery,
    WebhookSubscription,
)
from bot.sandbox.pagerduty.schedules import Entry, Layer, Schedule
from bot.sandbox.pagerduty.server import DEMO_ROUTING_KEY, PagerDutyServer, seed_demo_account

__all__ = [
    "DEMO_ROUTING_KEY",
    "REST_RATE_LIMIT",
    "Answer",
    "Call",
    "Entry",
    "EscalationPolicy",
    "Layer",
    "Page",
    "PagerDutyEmulator",
    "PagerDutyServer",
    "PdFault",
    "PdFaults",
    "Query",
    "Schedule",
    "Service",
    "User",
    "WebhookDelivery",
    "WebhookSubscription",
    "create_pagerduty_app",
    "seed_demo_account",
]
