"""The PagerDuty emulator on a real port, a ManualClock, and a webhook receiver."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from bot.domain.clock import ManualClock
from bot.sandbox.pagerduty import PagerDutyEmulator, PagerDutyServer

# A Monday, 01:00 UTC (the project's ManualClock default).
START = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
TOKEN = "pd-test-token"
ROUTING_KEY = "a" * 32
OTHER_KEY = "b" * 32
WEEK = 7 * 24 * 3600


@pytest.fixture(scope="module")
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture(scope="module")
def server(clock: ManualClock) -> Iterator[PagerDutyServer]:
    with PagerDutyServer(PagerDutyEmulator(clock=clock, api_token=TOKEN)) as srv:
        yield srv


@pytest.fixture
def emu(server: PagerDutyServer, clock: ManualClock) -> PagerDutyEmulator:
    """A fresh account: Alice and Bob rotate weekly from Monday 09:00 UTC on "Primary",
    Carol is level 2; services "Payments" and "Cards" use that policy."""
    clock.set(START)
    emu = server.emu
    emu.reset()
    emu.add_user("PALICE1", "Alice Martin", "alice@example.com")
    emu.add_user("PBOB001", "Bob Durand", "bob@example.com")
    emu.add_user("PCAROL1", "Carol Chen", "carol@example.com")
    emu.add_schedule(
        "PSCHED1",
        "Primary",
        layers=[
            {
                "users": ["PALICE1", "PBOB001"],
                "start": "2026-11-02T09:00:00Z",
                "rotation_turn_length_seconds": WEEK,
            }
        ],
    )
    emu.add_escalation_policy("PEPOL01", "Payments", [["PSCHED1"], ["PCAROL1"]])
    emu.add_service("PSVC001", "Payments", "PEPOL01", ROUTING_KEY)
    emu.add_service("PSVC002", "Cards", "PEPOL01", OTHER_KEY)
    return emu


@pytest.fixture
def http(server: PagerDutyServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=10.0) as client:
        yield client


@pytest.fixture
def api(server: PagerDutyServer) -> Iterator[httpx.Client]:
    """A REST client as the bot would hold one (NOTES.md "REST v2 essentials" headers)."""
    headers = {
        "Authorization": f"Token token={TOKEN}",
        "Accept": "application/vnd.pagerduty+json;version=2",
    }
    with httpx.Client(base_url=server.api_url, headers=headers, timeout=10.0) as client:
        yield client


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A plain HTTP endpoint that records every POST and answers ``status``."""

    url: str = ""
    status: int = 200
    received: list[Received] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            state.received.append(Received(self.path, dict(self.headers.items()), body))
            self.send_response(state.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/webhooks/pagerduty"
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
