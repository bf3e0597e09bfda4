"""A bot in sandbox mode on a real port, as ``make run`` starts it without a Slack token."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from bot.app import OorApp, create_app
from bot.config import Settings
from bot.domain.plan import Plan
from bot.sandbox.emulator import Emulator
from bot.storage.migrate import upgrade_url
from tests.support import ServerThread, free_socket


@dataclass
class Sandbox:
    app: OorApp
    url: str

    @property
    def emulator(self) -> Emulator:
        assert self.app.emulator is not None
        return self.app.emulator


@pytest.fixture
def sandbox(sqlite_url: str, plan: Plan) -> Iterator[Sandbox]:
    sock = free_socket()
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=sqlite_url, port=sock.getsockname()[1]
    )
    upgrade_url(sqlite_url)
    app = create_app(settings, plan=plan)
    server = ServerThread(app.asgi, sock).start()
    try:
        yield Sandbox(app, server.url)
    finally:
        server.stop()
