"""Serve a `PagerDutyEmulator` with uvicorn in a background thread, or from the command line.

As with the Slack emulator's server, the socket is bound before uvicorn starts, so ``port=0``
gives a free port that is known (and written into ``emu.base_url``) before the first request.
"""

from __future__ import annotations

import argparse
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from types import TracebackType

import uvicorn

from bot.sandbox.pagerduty.app import create_pagerduty_app
from bot.sandbox.pagerduty.emulator import PagerDutyEmulator

START_TIMEOUT_S = 10.0


class PagerDutyServer:
    """Run ``create_pagerduty_app(emu)`` on a real HTTP port in a daemon thread."""

    def __init__(self, emu: PagerDutyEmulator, host: str = "127.0.0.1", port: int = 0) -> None:
        self.emu = emu
        self.host = host
        self.port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

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

    def start(self) -> PagerDutyServer:
        """Start serving; returns once the server accepts connections."""
        if self._thread is not None:
            raise RuntimeError("server already started")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self._socket = sock
        self.port = sock.getsockname()[1]
        self.emu.base_url = self.base_url
        config = uvicorn.Config(
            create_pagerduty_app(self.emu), log_level="warning", lifespan="off", access_log=False
        )
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="pagerduty-emulator", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("PagerDuty emulator failed to start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=START_TIMEOUT_S)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> PagerDutyServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


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
    uvicorn.run(create_pagerduty_app(emu), host=options.host, port=options.port, log_level="info")
