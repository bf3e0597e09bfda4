"""Socket Mode holds up: Slack down or the app token revoked never stops payment alerts.

``oor-bot serve`` runs as a real process here, so what is checked is what an operator sees:
the HTTP server answering from the start, the log (one line per failed attempt, no
traceback, one line naming SLACK_APP_TOKEN), /readyz and /readyz/slack. Protocol:
tests/fixtures/slack_methods/NOTES.md ("Socket Mode protocol") and
methods/apps.connections.open.json.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.domain.plan import Plan
from bot.sandbox.emulator import Emulator, EmulatorServer
from bot.sandbox.slack_client import SlackClient, SocketModeEnvelopes
from bot.slack.socket_mode import token_error_line
from tests.conftest import RunningBot, start_bot
from tests.support import (
    APP_TOKEN,
    BOT_TOKEN,
    EXAMPLE_PLAN,
    ROOT,
    WEBHOOK_SECRET,
    free_socket,
    native_event,
    post_native,
    slack_signed_headers,
    wait_for,
)

API_TOKEN = "test-api-token"
CANNOT_CONNECT = "Slack Socket Mode: cannot connect"


def _free_port() -> int:
    sock = free_socket()
    port = int(sock.getsockname()[1])
    sock.close()
    return port


class Served:
    """``oor-bot serve`` in Socket Mode without a signing secret, its output in a file."""

    def __init__(self, tmp_path: Path, api_url: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp_path / "serve.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OOR_", "SLACK_"))}
        env |= {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_APP_TOKEN": APP_TOKEN,
            "SLACK_API_URL": api_url,
            "OOR_DATABASE_URL": f"sqlite:///{tmp_path / 'oor.db'}",
            "OOR_PLAN": str(EXAMPLE_PLAN),
            "OOR_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "OOR_API_TOKEN": API_TOKEN,
            "OOR_PORT": str(self.port),
            "OOR_SLACK_TIMEOUT": "3",
            "OOR_SOCKET_MODE_RETRY_MAX_SECONDS": "1",
        }
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "serve"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def get(self, path: str) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", timeout=5)

    def live(self) -> bool:
        try:
            return self.get("/livez").status_code == 200
        except httpx.TransportError:
            assert self.process.poll() is None, self.log()
            return False

    def socket_mode(self) -> str:
        return str(self.get("/readyz").json()["socket_mode"])

    def incident(self, number: int) -> dict[str, Any]:
        response = httpx.get(
            f"{self.url}/api/incidents/OOR-{number}",
            headers={"authorization": f"Bearer {API_TOKEN}"},
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    def log(self) -> str:
        return self.log_path.read_text()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[list[Served]]:
    started: list[Served] = []
    yield started
    for process in started:
        if process.process.poll() is None:
            process.stop()


def _channel_of(emulator: Emulator, number: int) -> str | None:
    for channel in emulator.snapshot()["channels"]:
        if channel["name"].startswith(f"oor-{number}-") and emulator.pins(channel["id"]):
            return str(channel["id"])
    return None


def test_slack_unreachable_at_start_up_stops_no_webhook(
    tmp_path: Path, emulator: Emulator, served: list[Served]
) -> None:
    slack_port = _free_port()  # nothing listens there yet: connection refused
    bot = Served(tmp_path, f"http://127.0.0.1:{slack_port}/api/")
    served.append(bot)
    wait_for(bot.live, timeout=30, what="/livez while Slack is unreachable")
    accepted = post_native(bot.url, native_event(title="Alipay channel blocked"))
    assert accepted.status_code == 202, accepted.text
    assert bot.incident(1)["title"] == "Alipay channel blocked"  # stored
    ready = bot.get("/readyz")
    assert ready.status_code == 200  # ready for webhooks: a load balancer keeps sending them
    assert ready.json()["socket_mode"] == "connecting"
    assert "cannot reach 127.0.0.1" in ready.json()["socket_mode_reason"]
    assert bot.get("/readyz/slack").status_code == 503
    assert bot.get("/metrics").status_code == 200
    # No signing secret in Socket Mode, so no HTTP route for Slack at all.
    body = "command=/oor&text=help"
    events = httpx.post(f"{bot.url}/slack/events", content=body, headers=slack_signed_headers(body))
    assert events.status_code == 404
    wait_for(lambda: bot.log().count(CANNOT_CONNECT) >= 2, what="two failed attempts")

    # Slack comes back, answering apps.connections.open with 503 twice before it works.
    emulator.faults.add("apps.connections.open", status=503, times=2)
    with EmulatorServer(emulator, port=slack_port):
        wait_for(lambda: bot.get("/readyz/slack").status_code == 200, 30, "Socket Mode up")
        assert bot.socket_mode() == "connected"
        # The work the webhook queued while Slack was away is done now.
        channel = wait_for(lambda: _channel_of(emulator, 1), 30, "the incident's channel")
        slack = SlackClient(SocketModeEnvelopes(emulator), emulator)
        assert slack.slash_command("status", user_id="U01ALICE", channel_id=channel).status == 200
        opens = [c.http_status for c in emulator.calls_to("apps.connections.open")]
        assert opens == [503, 503, 200]
        bot.stop()

    log = bot.log()
    assert "Traceback" not in log and APP_TOKEN not in log
    failures = [line for line in log.splitlines() if CANNOT_CONNECT in line]
    attempts = [int(re.findall(r"attempt=(\d+)", line)[0]) for line in failures]
    assert attempts == list(range(1, len(failures) + 1))  # one line per attempt
    refused = [line for line in failures if "cannot reach 127.0.0.1" in line]
    unavailable = [line for line in failures if "internal_error (HTTP 503)" in line]
    assert len(refused) >= 2 and len(unavailable) == 2
    assert len(refused) + len(unavailable) == len(failures)


def test_a_revoked_app_token_is_one_line_and_webhooks_still_work(
    tmp_path: Path, emulator: Emulator, emulator_server: EmulatorServer, served: list[Served]
) -> None:
    emulator.revoke_app_token()
    bot = Served(tmp_path, emulator_server.api_url)
    served.append(bot)
    wait_for(bot.live, timeout=30, what="/livez")
    wait_for(lambda: bot.socket_mode() == "failed", what="Socket Mode failed")
    ready = bot.get("/readyz")
    line = token_error_line("invalid_auth")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "socket_mode": "failed", "socket_mode_reason": line}
    assert bot.get("/readyz/slack").status_code == 503

    # Webhooks are stored and the outbox works: the bot token is a different token.
    assert post_native(bot.url, native_event()).status_code == 202
    wait_for(lambda: _channel_of(emulator, 1), 30, "the incident's channel")
    bot.stop()

    log = bot.log()
    token_lines = [x for x in log.splitlines() if "SLACK_APP_TOKEN" in x]
    assert len(token_lines) == 1 and token_lines[0].rstrip().endswith(line), log
    assert len(emulator.calls_to("apps.connections.open")) == 1  # retrying cannot fix it
    assert "Traceback" not in log and APP_TOKEN not in log and CANNOT_CONNECT not in log


# ---------------------------------------------------------------------- in one process
@pytest.fixture
def socket_bot(
    sqlite_url: str, emulator_server: EmulatorServer, plan: Plan
) -> Iterator[RunningBot]:
    running = start_bot(
        sqlite_url,
        emulator_server.api_url,
        plan,
        slack_app_token=APP_TOKEN,
        slack_signing_secret=None,
        socket_mode_retry_max_seconds=1,
    )
    wait_for(lambda: _state(running) == "connected", what="Socket Mode up")
    yield running
    running.stop()


def _state(bot: RunningBot) -> str:
    return str(httpx.get(f"{bot.url}/readyz").json()["socket_mode"])


def test_a_dropped_connection_is_opened_again(socket_bot: RunningBot, emulator: Emulator) -> None:
    hub = emulator.socket_mode
    assert hub.close_all() == 1  # no disconnect frame: the socket just goes away
    wait_for(lambda: hub.opened_total == 2 and _state(socket_bot) == "connected", 30, "reopened")
    channel = emulator.channel_by_name("payments-incidents")
    assert channel is not None
    slack = SlackClient(SocketModeEnvelopes(emulator), emulator)
    assert slack.slash_command("help", user_id="U01ALICE", channel_id=channel["id"]).status == 200
    assert [(c["id"], c["envelopes"]) for c in hub.state()["open"]] == [("C0002", 1)]


def test_a_token_revoked_while_running_fails_at_the_next_refresh(
    socket_bot: RunningBot, emulator: Emulator
) -> None:
    emulator.revoke_app_token()
    emulator.socket_mode.request_refresh()
    wait_for(lambda: _state(socket_bot) == "failed", what="Socket Mode failed")
    assert post_native(socket_bot.url, native_event()).status_code == 202
    wait_for(lambda: _channel_of(emulator, 1), 30, "the incident's channel")
    assert [c.error for c in emulator.calls_to("apps.connections.open")] == [None, "invalid_auth"]


def test_socket_mode_with_a_signing_secret_still_verifies_http_requests(
    sqlite_url: str, emulator_server: EmulatorServer, plan: Plan
) -> None:
    bot = start_bot(sqlite_url, emulator_server.api_url, plan, slack_app_token=APP_TOKEN)
    try:
        body = "command=/oor&text=help"
        unsigned = httpx.post(
            f"{bot.url}/slack/events",
            content=body,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert unsigned.status_code == 401
    finally:
        bot.stop()
