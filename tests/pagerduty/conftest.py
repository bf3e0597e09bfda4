"""The PagerDuty emulator on a real port, seeded like tests/sandbox/pagerduty/, and the
bot's PagerDuty clients pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from bot.domain.clock import ManualClock
from bot.pagerduty.events import PagerDutyEvents
from bot.pagerduty.pager import PagerDutyPager
from bot.pagerduty.rest import PagerDutyRest
from bot.sandbox.pagerduty import PagerDutyEmulator, PagerDutyServer
from tests.sandbox.pagerduty.seed import seed_account

# A Monday, 01:00 UTC: Alice's week on the "Primary" rotation (it turns at 09:00).
START = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
TOKEN = "pd-test-token"
ROUTING_KEY = "a" * 32
CARDS_KEY = "b" * 32
ROUTES = {"system_crash": ROUTING_KEY, "payment_failure": CARDS_KEY}


@pytest.fixture(scope="module")
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture(scope="module")
def server(clock: ManualClock) -> Iterator[PagerDutyServer]:
    with PagerDutyServer(PagerDutyEmulator(clock=clock, api_token=TOKEN)) as srv:
        yield srv


def seed(emu: PagerDutyEmulator) -> None:
    seed_account(emu, ROUTING_KEY, CARDS_KEY)


@pytest.fixture
def emu(server: PagerDutyServer, clock: ManualClock) -> PagerDutyEmulator:
    clock.set(START)
    emu = server.emu
    emu.reset()
    seed(emu)
    return emu


@pytest.fixture
def pager(
    server: PagerDutyServer, clock: ManualClock, emu: PagerDutyEmulator
) -> Iterator[PagerDutyPager]:
    """The PagerDuty pager, on a freshly seeded account."""
    events = PagerDutyEvents(ROUTES.get, server.events_url, clock=clock, timeout=2.0)
    rest = PagerDutyRest(TOKEN, server.api_url, clock=clock, timeout=2.0)
    pager = PagerDutyPager(events, rest)
    yield pager
    pager.close()
