"""Serve an `Emulator` with uvicorn in a background thread, or from the command line.

The port is known (and written into `emu.base_url`) before the first request, which upload
and response URLs need (see :mod:`bot.sandbox.served`).
"""

from __future__ import annotations

import argparse

import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount

from bot.sandbox.emulator.app import create_emulator_app
from bot.sandbox.emulator.emulator import Emulator
from bot.sandbox.served import ServedApp


class EmulatorServer(ServedApp):
    """Run `create_emulator_app(emu)` on a real HTTP port in a daemon thread."""

    name = "slack-emulator"

    def __init__(
        self, emu: Emulator, host: str = "127.0.0.1", port: int = 0, *, mount_path: str = ""
    ) -> None:
        """`mount_path` (e.g. "/sandbox/slack") serves the emulator under that prefix, the way
        the bot's web app mounts it, so URLs handed out by the emulator include the prefix."""
        super().__init__(host, port)
        self.emu = emu
        self.mount_path = mount_path.rstrip("/")

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}{self.mount_path}/"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}api/"

    def bound(self) -> None:
        self.emu.base_url = self.base_url

    def asgi_app(self) -> Starlette:
        app: Starlette = create_emulator_app(self.emu)
        if self.mount_path:
            app = Starlette(routes=[Mount(self.mount_path, app=app)])
        return app


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
