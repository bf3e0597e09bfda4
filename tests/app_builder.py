"""Apps built but not served (no worker, no server): what the factory wired, for tests of
the wiring, the command table and the help."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from bot.app import OorApp, create_app
from bot.slack.command_handlers import CommandHandlers
from bot.wiring import Wiring
from tests.conftest import make_settings

UNUSED_API = "http://127.0.0.1:9/api/"  # never called: nothing is started


def built_app(tmp_path: Path, features: Iterable[Callable[[Wiring], None]] | None = None) -> OorApp:
    url = f"sqlite:///{tmp_path / 'built.db'}"
    return create_app(make_settings(url, UNUSED_API), start_worker=False, features=features)


def commands_of(app: OorApp) -> CommandHandlers:
    assert app.commands is not None
    return app.commands
