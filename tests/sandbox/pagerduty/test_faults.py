"""Faults and rate limits, so later tests can check the bot's retries (NOTES.md "REST v2
essentials": 960 requests a minute per key, `ratelimit-*` headers, 429; "Events API v2":
429/5xx are to be retried)."""

from __future__ import annotations

import time

import httpx
import pytest

from bot.domain.clock import ManualClock
from bot.sandbox.pagerduty import PagerDutyEmulator
from tests.sandbox.pagerduty.test_events import trigger


def test_events_429_has_retry_after_and_changes_nothing(
    http: httpx.Client, emu: PagerDutyEmulator
) -> None:
    """NOTES.md documents no rate-limit header for the Events API: Retry-After is sent."""
    emu.faults.add("events.enqueue", status=429, reset_seconds=7, times=1)
    response = http.post("/v2/enqueue", json=trigger())
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert emu.pages == []
    assert http.post("/v2/enqueue", json=trigger()).status_code == 202  # used up
    assert len(emu.pages) == 1
    assert [c.status for c in emu.calls_to("events.enqueue")] == [429, 202]


def test_5xx_for_n_calls_then_the_retry_pages_once(
    http: httpx.Client, emu: PagerDutyEmulator
) -> None:
    emu.faults.add("events.*", status=503, times=2)
    statuses = [http.post("/v2/enqueue", json=trigger()).status_code for _ in range(4)]
    assert statuses == [503, 503, 202, 202]
    [page] = emu.pages
    assert [e["outcome"] for e in page.events] == ["created", "deduplicated"]


def test_rest_429_carries_ratelimit_reset(api: httpx.Client, emu: PagerDutyEmulator) -> None:
    """REST 429: `ratelimit-limit`, `ratelimit-remaining`, `ratelimit-reset`."""
    emu.faults.add("rest.oncalls", status=429, reset_seconds=12, times=1)
    response = api.get("/oncalls")
    assert response.status_code == 429
    assert response.headers["ratelimit-reset"] == "12"
    assert response.headers["ratelimit-remaining"] == "0"
    assert response.headers["ratelimit-limit"] == "960"
    assert "Retry-After" not in response.headers
    assert api.get("/oncalls").status_code == 200
    assert api.get("/users/PALICE1").status_code == 200  # another endpoint was never faulted


def test_rest_rate_limit_per_token_on_the_clock(
    api: httpx.Client, emu: PagerDutyEmulator, clock: ManualClock
) -> None:
    """Every answer carries the ratelimit-* headers; past the limit, 429 until the window
    moves on."""
    emu.rate_limit.limit = (3, 60.0)
    try:
        remaining = [api.get("/users/PALICE1").headers["ratelimit-remaining"] for _ in range(3)]
        assert remaining == ["2", "1", "0"]
        refused = api.get("/users/PALICE1")
        assert refused.status_code == 429
        assert refused.headers["ratelimit-reset"] == "60"
        clock.advance(seconds=61)
        assert api.get("/users/PALICE1").status_code == 200
    finally:
        emu.rate_limit.limit = (960, 60.0)


def test_wildcard_5xx_and_slow_answers(api: httpx.Client, emu: PagerDutyEmulator) -> None:
    emu.faults.add("*", status=500, times=1)
    assert api.get("/schedules/PSCHED1").status_code == 500
    assert api.get("/schedules/PSCHED1").status_code == 200
    emu.faults.add("rest.*", latency=0.3, times=1)
    started = time.monotonic()
    assert api.get("/oncalls").status_code == 200
    assert time.monotonic() - started >= 0.3
    # A read, so the late answer cannot change a later test's account.
    emu.faults.add("rest.users", latency=2.0, times=1)
    with pytest.raises(httpx.TimeoutException):
        api.get("/users/PALICE1", timeout=0.5)
    emu.faults.clear()
    assert emu.faults.active() == []


def test_faults_over_http(http: httpx.Client, emu: PagerDutyEmulator) -> None:
    """The control endpoint the sandbox and out-of-process tests use."""
    added = http.post("/_emulator/faults", json={"endpoint": "events.enqueue", "status": 502})
    assert added.json()["fault"]["status"] == 502
    assert http.post("/v2/enqueue", json=trigger()).status_code == 502
    assert len(http.get("/_emulator/faults").json()["faults"]) == 1
    assert http.delete("/_emulator/faults").json() == {"ok": True}
    assert http.post("/v2/enqueue", json=trigger()).status_code == 202
    assert http.post("/_emulator/faults", json={"status": 200}).status_code == 400
