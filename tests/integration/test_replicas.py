"""Two ``oor-bot serve`` processes on one PostgreSQL: each incident, channel and board once."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from bot.sandbox.emulator import Emulator, EmulatorServer
from tests.integration.processes import BotProcess
from tests.support import native_event, signed_webhook_headers, wait_for


@pytest.fixture
def two_replicas(pg_url: str, emulator_server: EmulatorServer) -> Iterator[list[str]]:
    # Both start at once: the advisory lock lets exactly one of them migrate.
    replicas = [BotProcess(pg_url, emulator_server.api_url) for _ in range(2)]
    try:
        for replica in replicas:
            replica.wait_ready()
        yield [replica.url for replica in replicas]
        for replica in replicas:
            replica.signal(signal.SIGTERM)
        for replica in replicas:
            assert replica.wait(timeout=30) == 0, replica.log()
    finally:
        for replica in replicas:
            replica.close()


def test_two_replicas_open_each_incident_once(two_replicas: list[str], emulator: Emulator) -> None:
    events = [native_event(title=f"Card acquirer timeout {i}") for i in range(12)]

    def deliver(args: tuple[int, dict]) -> httpx.Response:
        index, event = args
        body = json.dumps(event).encode()
        url = two_replicas[index % 2]
        return httpx.post(f"{url}/webhooks/oor", content=body, headers=signed_webhook_headers(body))

    # Every event goes to both replicas at the same time.
    work = [(i, e) for e in events for i in (0, 1)]
    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(deliver, work))
    assert all(r.status_code == 202 for r in responses), [r.text for r in responses]
    statuses = [r.json()["status"] for r in responses]
    assert statuses.count("opened") == 12 and statuses.count("duplicate") == 12

    def channels() -> list[dict]:
        return [c for c in emulator.snapshot()["channels"] if c["name"].startswith("oor-")]

    def all_boards_pinned() -> bool:
        found = channels()
        return len(found) == 12 and all(emulator.pins(c["id"]) for c in found)

    wait_for(all_boards_pinned, timeout=60, what="12 channels with pinned boards")
    created = [c for c in emulator.calls_to("conversations.create") if c.ok]
    assert len(created) == 12
    for channel in channels():
        boards = [
            m for m in emulator.messages(channel["id"]) if "status board" in m.get("text", "")
        ]
        assert len(boards) == 1, channel["name"]
        assert len(emulator.pins(channel["id"])) == 1
