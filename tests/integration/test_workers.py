"""``oor-bot serve`` with two processes on one port (OOR_WORKERS=2): both take webhooks,
the schema is migrated once, each side effect is done once, ``/metrics`` counts for the
whole server whichever process answers, and a SIGTERM to the parent drains every process
and exits 0."""

from __future__ import annotations

import json
import re
import signal
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import select

from bot.incidents.job_kinds import JobKind
from bot.sandbox.emulator import Emulator, EmulatorServer
from bot.storage.db import Database
from bot.storage.models import JobRow
from bot.worker import DEFAULT_GRACE_SECONDS
from tests.integration.processes import BotProcess
from tests.support import native_event, signed_webhook_headers, wait_for

EVENTS = 12


@pytest.fixture
def two_processes(pg_url: str, emulator_server: EmulatorServer) -> Iterator[BotProcess]:
    bot = BotProcess(pg_url, emulator_server.api_url, OOR_WORKERS="2")
    try:
        yield bot.wait_ready()
    finally:
        bot.close()


def _deliver(url: str, event: dict) -> httpx.Response:
    """A new connection each time, as separate senders would open."""
    body = json.dumps(event).encode()
    return httpx.post(f"{url}/webhooks/oor", content=body, headers=signed_webhook_headers(body))


def _channels(emulator: Emulator) -> list[dict]:
    return [c for c in emulator.snapshot()["channels"] if c["name"].startswith("oor-")]


def _boards_pinned(emulator: Emulator, count: int) -> bool:
    found = _channels(emulator)
    return len(found) == count and all(emulator.pins(c["id"]) for c in found)


def _create_jobs(pg_url: str) -> list[JobRow]:
    db = Database(pg_url)
    try:
        with db.session() as session:
            query = select(JobRow).where(JobRow.kind == JobKind.CREATE_CHANNEL)
            return list(session.exec(query).all())
    finally:
        db.dispose()


def test_two_processes_share_the_port_and_do_each_side_effect_once(
    pg_url: str, two_processes: BotProcess, emulator: Emulator
) -> None:
    bot = two_processes
    events = [native_event(title=f"Card acquirer timeout {i}") for i in range(EVENTS)]
    # Every event twice at once (a sender's retry racing its first delivery).
    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda e: _deliver(bot.url, e), [*events, *events]))
    assert all(r.status_code == 202 for r in responses), [r.text for r in responses]
    statuses = [r.json()["status"] for r in responses]
    assert statuses.count("opened") == EVENTS and statuses.count("duplicate") == EVENTS
    served_by = {r.headers["x-oor-process"] for r in responses}
    # Which process accepts a connection is the kernel's choice: more deliveries of events
    # already stored (each a harmless duplicate) until both have answered one.
    for event in events * 8:
        if len(served_by) == 2:
            break
        again = _deliver(bot.url, event)
        assert again.json()["status"] == "duplicate"
        served_by.add(again.headers["x-oor-process"])
    assert len(served_by) == 2 and str(bot.process.pid) not in served_by, served_by

    wait_for(lambda: _boards_pinned(emulator, EVENTS), timeout=60, what="12 channels and boards")
    assert len([c for c in emulator.calls_to("conversations.create") if c.ok]) == EVENTS
    for channel in _channels(emulator):
        assert len(emulator.pins(channel["id"])) == 1, channel["name"]
    # The parent migrated before any process served: the schema was brought up to date once.
    assert bot.log().count("database schema up to date") == 1, bot.log()

    bot.signal(signal.SIGTERM)
    assert bot.wait(timeout=DEFAULT_GRACE_SECONDS + 10) == 0, bot.log()
    assert "exit_codes=[0, 0]" in bot.log(), bot.log()
    for pid in served_by:
        assert not Path(f"/proc/{pid}").exists(), f"process {pid} outlived its parent"


def test_sigterm_to_the_parent_lets_a_running_slack_call_finish_and_exits_0(
    pg_url: str, two_processes: BotProcess, emulator: Emulator
) -> None:
    bot = two_processes
    emulator.faults.add(method="conversations.create", latency=3, times=1)
    assert _deliver(bot.url, native_event()).status_code == 202
    wait_for(
        lambda: not [f for f in emulator.faults.active() if f.method == "conversations.create"],
        what="conversations.create in flight",
    )
    signalled = time.monotonic()
    bot.signal(signal.SIGTERM)
    assert bot.wait(timeout=DEFAULT_GRACE_SECONDS + 10) == 0, bot.log()
    assert time.monotonic() - signalled < DEFAULT_GRACE_SECONDS, bot.log()
    # The process running the call finished it (one attempt) instead of being cut off.
    (job,) = _create_jobs(pg_url)
    assert (job.state, job.attempts, job.lease_owner) == ("done", 1, None)
    assert len(_channels(emulator)) == 1
    assert len(emulator.calls_to("conversations.create")) == 1


def _scrape(url: str) -> tuple[str, dict[tuple[str, frozenset], float]]:
    """Which process answered ``/metrics``, and its samples by (name, labels)."""
    response = httpx.get(f"{url}/metrics")
    assert response.status_code == 200, response.text
    samples = {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }
    return response.headers["x-oor-process"], samples


def test_metrics_count_the_requests_of_every_process(two_processes: BotProcess) -> None:
    bot = two_processes
    event = native_event()
    answered: Counter[str] = Counter()  # deliveries answered, by process
    # Which process accepts a connection is the kernel's choice: deliveries (the first
    # opens, the rest are duplicates) until each process has answered a few.
    while len(answered) < 2 or min(answered.values()) < 3:
        assert answered.total() < 200, f"one process answered every delivery: {answered}"
        response = _deliver(bot.url, event)
        assert response.status_code == 202, response.text
        answered[response.headers["x-oor-process"]] += 1
    sent = answered.total()
    expected = {
        ("oor_webhook_events_total", frozenset({("source", "native"), ("outcome", "opened")})): 1,
        ("oor_webhook_events_total", frozenset({("source", "native"), ("outcome", "duplicate")})): (
            sent - 1
        ),
        (
            "oor_http_request_duration_seconds_count",
            frozenset({("route", "/webhooks/oor"), ("method", "POST"), ("status", "202")}),
        ): sent,
    }

    def totals() -> dict:
        _, samples = _scrape(bot.url)
        return {key: samples.get(key) for key in expected}

    # A request is timed just after its answer is sent: wait for the last one's count.
    wait_for(lambda: totals() == expected, what=f"/metrics totals of {sent} deliveries")
    scraped_by = set()
    for _ in range(40):  # scrapes answered by both processes give the same totals
        pid, samples = _scrape(bot.url)
        scraped_by.add(pid)
        assert {key: samples.get(key) for key in expected} == expected, pid
        if len(scraped_by) == 2:
            break
    assert len(scraped_by) == 2, scraped_by

    # The directory of the counts is this start's, and gone once the server stopped.
    found = re.search(r"share metrics\s+directory=(\S+)", bot.log())
    assert found, bot.log()
    assert Path(found[1]).is_dir()
    bot.signal(signal.SIGTERM)
    assert bot.wait(timeout=DEFAULT_GRACE_SECONDS + 10) == 0, bot.log()
    assert not Path(found[1]).exists()
