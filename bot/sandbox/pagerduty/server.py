"""Serve a `PagerDutyEmulator` with uvicorn in a background thread, or from the command line.

Like the Slack emulator's (:mod:`bot.sandbox.served`), the port is known, and written into
``emu.base_url``, before the first request.
"""

from __future__ import annotations

import argparse
import threading
from datetime import UTC, datetime, timedelta

import uvicorn
from starlette.applications import Starlette

from bot.sandbox.pagerduty.app import create_pagerduty_app
from bot.sandbox.pagerduty.emulator import PagerDutyEmulator
from bot.sandbox.served import ServedApp


class PagerDutyServer(ServedApp):
    """Run ``create_pagerduty_app(emu)`` on a real HTTP port in a daemon thread."""

    name = "pagerduty-emulator"

    def __init__(self, emu: PagerDutyEmulator, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.emu = emu

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    @property
    def api_url(self) -> str:
        """What ``OOR_PAGERDUTY_API_URL`` would be (REST API v2)."""
        return self.base_url.rstrip("/")

    @property
    def events_url(self) -> str:
        """What ``OOR_PAGERDUTY_EVENTS_URL`` would be: events go to ``{events_url}/v2/enqueue``."""
        return self.base_url.rstrip("/")

    def bound(self) -> None:
        self.emu.base_url = self.base_url

    def asgi_app(self) -> Starlette:
        return create_pagerduty_app(self.emu)


DEMO_ROUTING_KEY = "0" * 24 + "demo0001"


def seed_demo_account(emu: PagerDutyEmulator, now: datetime | None = None) -> None:
    """Alice and Bob on a weekly rotation (from last Monday, 09:00 UTC), Carol as level 2,
    and a "Payments" service whose integration key is :data:`DEMO_ROUTING_KEY`."""
    now = (now or emu.clock.now()).astimezone(UTC)
    monday = (now - timedelta(days=now.weekday())).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    emu.add_user("PALICE1", "Alice Martin", "alice@example.com")
    emu.add_user("PBOB001", "Bob Durand", "bob@example.com")
    emu.add_user("PCAROL1", "Carol Chen", "carol@example.com")
    emu.add_schedule(
        "PSCHED1",
        "Payments primary",
        layers=[
            {
                "users": ["PALICE1", "PBOB001"],
                "start": monday - timedelta(days=7),
                "rotation_virtual_start": monday,
                "rotation_turn_length_seconds": 7 * 24 * 3600,
            }
        ],
    )
    emu.add_escalation_policy("PEPOL01", "Payments", [["PSCHED1"], ["PCAROL1"]])
    emu.add_service("PSVC001", "Payments", "PEPOL01", DEMO_ROUTING_KEY)


RETRY_EVERY_SECONDS = 5.0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve a local PagerDuty emulator.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8901)
    options = parser.parse_args(argv)
    emu = PagerDutyEmulator()
    seed_demo_account(emu)
    emu.base_url = f"http://{options.host}:{options.port}/"
    print(f"PagerDuty emulator at {emu.base_url} (API token {next(iter(emu.api_tokens))!r})")
    print(f"Events: POST {emu.base_url}v2/enqueue with routing_key {DEMO_ROUTING_KEY!r}")
    print(f"State: {emu.base_url}_emulator/state")
    stop = threading.Event()

    def retry_webhooks() -> None:  # as PagerDuty does on its own (redelivery.py)
        while not stop.wait(RETRY_EVERY_SECONDS):
            emu.deliver_due()

    threading.Thread(target=retry_webhooks, name="pd-webhook-retries", daemon=True).start()
    uvicorn.run(create_pagerduty_app(emu), host=options.host, port=options.port, log_level="info")
