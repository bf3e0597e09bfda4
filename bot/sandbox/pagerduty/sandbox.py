"""Sandbox mode's PagerDuty: the emulator served by the bot's own server under
``/sandbox/pagerduty``, like the Slack one under ``/sandbox/slack`` (bot/app.py).

Without ``OOR_PAGERDUTY_API_TOKEN`` the sandbox points the bot's PagerDuty settings at the
emulator: its REST API and Events API, a Webhooks v3 subscription to the bot's
``/webhooks/pagerduty`` signed with a secret made up here. The account has the sandbox
workspace's people (same emails, so on-call people are found in the emulated Slack), a
weekly "Payments primary" rotation of Bob and Erin and one service taking every page.

A plan without paging of its own (``plan.example.yaml``) gets the sandbox's: system crash
sev1/sev2 and transaction interruption sev1 page when they open, and system crash also
invites whoever is on call on "Payments primary". The routing key is the emulator's
service key, in the variable the sandbox plan names.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from typing import Any

from bot.config import Settings
from bot.domain.clock import Clock
from bot.domain.plan import Plan
from bot.domain.plan_paging import OnCallTarget, PagingPlan
from bot.domain.types import OorType, Role, Severity
from bot.sandbox.pagerduty.emulator import PagerDutyEmulator
from bot.sandbox.workspace import SANDBOX_USERS

PREFIX = "/sandbox/pagerduty"
API_TOKEN = "sandbox-pagerduty-token"
ROUTING_KEY = "5a4db0c5a4db0c5a4db0c5a4db0c5a4d"  # 32 characters, like an integration key
ROUTING_KEY_VARIABLE = "OOR_SANDBOX_PD_ROUTING_KEY"
SCHEDULE = "PSANDBX"
POLICY = "PSANDEP"
SERVICE = "PSANDSV"
WEEK = 7 * 24 * 3600
SUBSCRIPTION = "PSANDWH"


def seed_account(emu: PagerDutyEmulator) -> None:
    """The sandbox workspace's people; Bob and Erin rotate weekly on "Payments primary"
    (turning Mondays 09:00 UTC), Dave is level 2; one service takes every page."""
    ids = {}
    for _slack_id, name, email, real_name in SANDBOX_USERS:
        pd_id = f"P{name.upper()[:5]:X<5}1"
        emu.add_user(pd_id, real_name.split(" (")[0], email)
        ids[name] = pd_id
    emu.add_schedule(
        SCHEDULE,
        "Payments primary",
        layers=[
            {
                "users": [ids["bob"], ids["erin"]],
                "start": "2026-01-05T09:00:00Z",
                "rotation_turn_length_seconds": WEEK,
            }
        ],
    )
    emu.add_escalation_policy(POLICY, "Payments", [[SCHEDULE], [ids["dave"]]])
    emu.add_service(SERVICE, "Payments", POLICY, ROUTING_KEY)


def sandbox_plan(plan: Plan) -> Plan:
    """``plan`` with the sandbox's paging, unless it pages or names on-call targets itself."""
    if plan.paging.routing_keys or plan.paging.default_routing_key:
        return plan
    if any(plan.on_call_targets(t) for t in OorType):
        return plan
    paging = PagingPlan(
        on_open={
            OorType.SYSTEM_CRASH: [Severity.SEV1, Severity.SEV2],
            OorType.TRANSACTION_INTERRUPTION: [Severity.SEV1],
        },
        default_routing_key=ROUTING_KEY_VARIABLE,
    )
    crash = plan.for_type(OorType.SYSTEM_CRASH)
    crash = crash.model_copy(
        update={"on_call": {Role.TECH: [OnCallTarget(kind="schedule", id=SCHEDULE, level=1)]}}
    )
    types = plan.oor_types.model_copy(update={OorType.SYSTEM_CRASH.value: crash})
    return plan.model_copy(update={"paging": paging, "oor_types": types})


def sandbox_pagerduty(
    settings: Settings, plan: Plan, bot_url: str, clock: Clock
) -> tuple[Settings, Plan, PagerDutyEmulator | None]:
    """The settings, plan and emulator of sandbox mode; a real PagerDuty token wins (the
    settings and plan are then used as they are, and no emulator runs)."""
    if settings.pagerduty_api_token is not None:
        return settings, plan, None
    from pydantic import SecretStr

    emu = PagerDutyEmulator(clock=clock, api_token=API_TOKEN)
    seed_account(emu)
    secret = settings.pagerduty_webhook_secret or SecretStr(secrets.token_urlsafe(32))
    emu.add_webhook_subscription(
        f"{bot_url}/webhooks/pagerduty",
        secret=secret.get_secret_value().split(",")[-1].strip(),
        id=SUBSCRIPTION,
    )
    # The routing key is no secret here: the emulator's, read where the plan says.
    os.environ.setdefault(ROUTING_KEY_VARIABLE, ROUTING_KEY)
    updates: dict[str, Any] = {
        "pagerduty_api_token": SecretStr(API_TOKEN),
        "pagerduty_api_url": f"{bot_url}{PREFIX}",
        "pagerduty_events_url": f"{bot_url}{PREFIX}",
        "pagerduty_webhook_secret": secret,
    }
    return settings.model_copy(update=updates), sandbox_plan(plan), emu


def retry_webhooks(emu: PagerDutyEmulator) -> Callable[[], None]:
    """The sandbox's tick: the emulated PagerDuty retries the webhooks the bot has not
    received yet (redelivery.py), as PagerDuty does on its own."""

    def tick() -> None:
        emu.deliver_due()

    return tick


__all__ = ["PREFIX", "retry_webhooks", "sandbox_pagerduty", "sandbox_plan", "seed_account"]
