"""``POST /slack/events``: bodies are limited before they are read, odd timestamps are 401.

The limit is measured on a real ``oor-bot serve`` process: its peak resident memory
(``VmHWM``) before and after 200 MiB are thrown at it unsigned. Before the limit, Bolt read
any body whole before checking its signature (1,000 MiB grew the process by 3 GB).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from slack_sdk.signature import SignatureVerifier

from bot.sandbox.emulator import EmulatorServer
from tests.conftest import RunningBot, start_bot
from tests.support import (
    EXAMPLE_PLAN,
    ROOT,
    SIGNING_SECRET,
    WEBHOOK_TOKEN,
    free_socket,
    slack_signed_headers,
    slash_command_body,
    wait_for,
)

MIB = 1024 * 1024
CHUNK = b"x" * (256 * 1024)  # one buffer sent again and again: the client holds no body


def _peak_rss_mib(pid: int) -> float:
    """The process's high-water mark of resident memory (Linux ``VmHWM``), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc")


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def served(tmp_path: Path, emulator_server: EmulatorServer) -> Iterator[tuple[int, str]]:
    """``oor-bot serve`` in a subprocess: its pid and base URL."""
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OOR_", "SLACK_"))}
    env |= {
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": emulator_server.api_url,
        "OOR_DATABASE_URL": f"sqlite:///{tmp_path / 'oor.db'}",
        "OOR_PLAN": str(EXAMPLE_PLAN),
        "OOR_WEBHOOK_TOKEN": WEBHOOK_TOKEN,
        "OOR_PORT": str(port),
        "OOR_LOG_LEVEL": "warning",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _ready(url), timeout=30, what="oor-bot serve ready")
        yield process.pid, url
    finally:
        process.terminate()
        process.wait(timeout=20)


def _stream(total: int) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        chunk = CHUNK[: total - sent]
        yield chunk
        sent += len(chunk)


def _unsigned_post(url: str, total: int, *, announce_length: bool) -> tuple[int | None, float]:
    """POST ``total`` bytes to /slack/events without a signature: (status or None, seconds)."""
    headers = {"content-type": "application/x-www-form-urlencoded"}
    if announce_length:
        headers["content-length"] = str(total)
    started = time.monotonic()
    try:
        response = httpx.post(
            f"{url}/slack/events", content=_stream(total), headers=headers, timeout=60
        )
    except httpx.TransportError:
        return None, time.monotonic() - started  # closed on us mid-upload: also refused
    return response.status_code, time.monotonic() - started


@pytest.mark.parametrize("announce_length", [True, False], ids=["content-length", "chunked"])
def test_a_200_mib_unsigned_body_does_not_grow_memory(
    served: tuple[int, str], announce_length: bool
) -> None:
    pid, url = served
    # Warm up the path once (imports, first request), then take the peak so far.
    assert _unsigned_post(url, 1024, announce_length=True)[0] == 401
    before = _peak_rss_mib(pid)
    status, _seconds = _unsigned_post(url, 200 * MIB, announce_length=announce_length)
    after = _peak_rss_mib(pid)
    grew = f"peak RSS grew {after - before:.1f} MiB ({before:.0f} → {after:.0f})"
    assert after - before < 8, grew
    assert status in (413, None)  # None: the server closed the connection on the upload
    assert _ready(url)  # and it goes on serving


def test_an_announced_length_over_the_limit_is_413_without_reading(bot_sqlite: RunningBot) -> None:
    response = httpx.post(
        f"{bot_sqlite.url}/slack/events",
        content=b"x" * 100,
        headers={"content-length": "100", "content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 401  # small: Bolt checks the signature
    big = httpx.post(
        f"{bot_sqlite.url}/slack/events",
        content=_stream(2 * MIB),
        headers={"content-length": str(2 * MIB)},
    )
    assert big.status_code == 413 and big.json()["error"] == "payload_too_large"


@pytest.fixture
def bot_sqlite(sqlite_url: str, emulator_server: EmulatorServer, plan) -> Iterator[RunningBot]:
    running = start_bot(sqlite_url, emulator_server.api_url, plan)
    yield running
    running.stop()


@pytest.mark.parametrize("timestamp", ["abc", "1e9", "١٢٣", "-1", "", "9" * 40])
def test_a_timestamp_that_is_not_a_number_is_401_even_when_signed(
    bot_sqlite: RunningBot, timestamp: str
) -> None:
    body = slash_command_body("status", user_id="U01ALICE", channel_id="C1", response_url="x")
    headers = slack_signed_headers(body)
    headers["x-slack-request-timestamp"] = timestamp
    headers["x-slack-signature"] = SignatureVerifier(SIGNING_SECRET).generate_signature(
        timestamp=timestamp, body=body
    )
    response = httpx.post(
        f"{bot_sqlite.url}/slack/events",
        content=body.encode(),
        headers={k: v.encode() for k, v in headers.items()},
    )
    assert response.status_code == 401, response.text


def test_a_signed_request_still_reaches_bolt(bot_sqlite: RunningBot) -> None:
    body = slash_command_body("help", user_id="U01ALICE", channel_id="C1", response_url="x")
    response = httpx.post(
        f"{bot_sqlite.url}/slack/events", content=body.encode(), headers=slack_signed_headers(body)
    )
    assert response.status_code == 200 and "/oor" in response.text
