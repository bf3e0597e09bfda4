"""Serve an `Emulator` with uvicorn in a background thread, or from the command line.

The socket is bound before uvicorn starts, so `port=0` yields a free port that is known (and
written into `emu.base_url`) before the first request, which upload and response URLs need.
"""

from __future__ import annotations

import argparse
import socket
import threading
import time
from types import TracebackType

import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount

from bot.sandbox.emulator.app import create_emulator_app
from bot.sandbox.emulator.emulator import Emulator

START_TIMEOUT_S = 10.0


class EmulatorServer:
    """Run `create_emulator_app(emu)` on a real HTTP port in a daemon thread."""

    def __init__(
        self, emu: Emulator, host: str = "127.0.0.1", port: int = 0, *, mount_path: str = ""
    ) -> None:
        """`mount_path` (e.g. "/sandbox/slack") serves the emulator under that prefix, the way
        the bot's web app mounts it, so URLs handed out by the emulator include the prefix."""
        self.emu = emu
        self.host = host
        self.port = port
        self.mount_path = mount_path.rstrip("/")
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}{self.mount_path}/"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}api/"

    def start(self) -> EmulatorServer:
        """Start serving; returns once the server accepts connections."""
        if self._thread is not None:
            raise RuntimeError("server already started")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self._socket = sock
        self.port = sock.getsockname()[1]
        self.emu.base_url = self.base_url
        app: Starlette = create_emulator_app(self.emu)
        if self.mount_path:
            app = Starlette(routes=[Mount(self.mount_path, app=app)])
        config = uvicorn.Config(
            app,
            log_level="warning",
            lifespan="off",
            access_log=False,
        )
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="slack-emulator", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("Slack emulator failed to start")
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

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def demo_emulator() -> Emulator:
    """A fresh emulator with a couple of people and a #general channel to play with."""
    emu = Emulator()
    emu.add_user("U01ALICE", "alice", "alice@example.com", "Alice Martin")
    emu.add_user("U02BOB", "bob", "bob@example.com", "Bob Durand")
    emu.add_usergroup("payments-oncall", ["U01ALICE", "U02BOB"])
    emu.add_channel("general", members=["U01ALICE", "U02BOB", emu.bot_user_id], is_general=True)
    return emu


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve a local Slack Web API emulator.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    options = parser.parse_args(argv)
    emu = demo_emulator()
    emu.base_url = f"http://{options.host}:{options.port}/"
    print(f"Slack emulator: WebClient(token={emu.bot_token!r}, base_url='{emu.base_url}api/')")
    print(f"State: {emu.base_url}_emulator/state")
    uvicorn.run(create_emulator_app(emu), host=options.host, port=options.port, log_level="info")
