"""The PagerDuty emulator on a real port, a ManualClock, and a webhook receiver."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from bot.domain.clock import ManualClock
from bot.sandbox.pagerduty import PagerDutyEmulator, PagerDutyServer
from tests.http_receiver import Receiver, serving_receiver
from tests.sandbox.pagerduty.seed import seed_account

# A Monday, 01:00 UTC (the project's ManualClock default).
START = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
TOKEN = "pd-test-token"
ROUTING_KEY = "a" * 32
OTHER_KEY = "b" * 32


@pytest.fixture(scope="module")
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture(scope="module")
def server(clock: ManualClock) -> Iterator[PagerDutyServer]:
    with PagerDutyServer(PagerDutyEmulator(clock=clock, api_token=TOKEN)) as srv:
        yield srv


@pytest.fixture
def emu(server: PagerDutyServer, clock: ManualClock) -> PagerDutyEmulator:
    """A fresh account (:func:`seed_account`)."""
    clock.set(START)
    emu = server.emu
    emu.reset()
    seed_account(emu, ROUTING_KEY, OTHER_KEY)
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


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with serving_receiver("/webhooks/pagerduty") as state:
        yield state
