"""Shared fixtures: databases (SQLite and PostgreSQL), the Slack emulator, a running bot."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import psycopg
import pytest

from bot import cli as bot_cli
from bot.app import OorApp, create_app
from bot.config import Settings
from bot.domain.clock import Clock
from bot.domain.plan import Plan
from bot.domain.plan_file import load_plan
from bot.logging_setup import configure_logging
from bot.sandbox.emulator import Emulator, EmulatorServer
from bot.sandbox.workspace import seed_demo_workspace
from bot.storage.db import Database
from bot.storage.migrate import upgrade_url
from bot.worker import WorkerOptions
from tests.contract import manifest_bot_scopes, problems_with_call
from tests.support import (
    BOT_TOKEN,
    EXAMPLE_PLAN,
    SIGNING_SECRET,
    WEBHOOK_SECRET,
    WEBHOOK_TOKEN,
    ServerThread,
)

PG_ADMIN_DSN = os.environ.get("OOR_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def _postgres_available() -> str | None:
    try:
        with psycopg.connect(PG_ADMIN_DSN, connect_timeout=2):
            return None
    except Exception as exc:
        return f"PostgreSQL not reachable at {PG_ADMIN_DSN}: {type(exc).__name__}"


def require_postgres() -> None:
    problem = _postgres_available()
    if problem is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{problem} (CI must run the PostgreSQL tests)")
    pytest.skip(problem)


@contextmanager
def _pg_database(template: str) -> Iterator[str]:
    """A database of its own on the test server, a copy of ``template``, dropped afterwards.

    A database rather than a schema: migrations take their advisory lock per database, so
    one test's migration never waits for another's (nor for another checkout's suite on
    the same server)."""
    name = f"oor_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
    try:
        yield _pg_database_url(name)
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            # FORCE: a connection a test left open (a killed bot's) must not keep it.
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


def _pg_database_url(name: str) -> str:
    """The SQLAlchemy URL of database ``name`` on the test server."""
    server = PG_ADMIN_DSN.removeprefix("postgresql://").rsplit("/", 1)[0]
    return f"postgresql+psycopg://{server}/{name}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped afterwards."""
    require_postgres()
    with _pg_database("template0") as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'oor.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database (nothing migrated), once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'oor.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per test process: tests get copies of it, since
    migrating takes ~0.1-0.2 s and the copy a millisecond."""
    path = tmp_path_factory.mktemp("template") / "oor.db"
    upgrade_url(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A PostgreSQL database migrated once per test process, the template of each test's
    database: a copy takes ~35 ms where migrating an empty schema took 0.3-0.5 s (and
    waited on every other process's migrations for the advisory lock)."""
    require_postgres()
    name = f"oor_tpl_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE template0")
    try:
        upgrade_url(_pg_database_url(name))  # its engine is disposed: nothing stays connected
        yield name
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database migrated to the newest revision, fresh for the test: once on SQLite and
    once on PostgreSQL (a copy of a template migrated once; ``empty_database_url`` for
    one with nothing in it)."""
    if request.param == "sqlite":
        path = tmp_path / "oor.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    with _pg_database(request.getfixturevalue("pg_template")) as url:
        yield url


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)  # already migrated
    yield database
    database.dispose()


@pytest.fixture(autouse=True)
def _uncached_loggers(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI run in-process configures structlog; with cached loggers, a module's logger
    first used then would escape ``capture_logs`` in every later test."""
    monkeypatch.setattr(
        bot_cli, "configure_logging", partial(configure_logging, cache_loggers=False)
    )


@pytest.fixture(scope="session")
def plan() -> Plan:
    return load_plan(EXAMPLE_PLAN)


def assert_calls_keep_the_contract(emu: Emulator) -> None:
    """Every call made to ``emu`` agrees with Slack's spec and the manifest's scopes."""
    problems = {
        problem
        for call in emu.calls
        if call.http_status != 404
        for problem in problems_with_call(call.method, call.args, call.needed_scopes)
    }
    assert not problems, f"Slack API contract problems: {sorted(problems)}"


def without_slack_rate_limits(emu: Emulator) -> None:
    """For tests whose bot runs on a ManualClock: a job that met a 429 is put back by that
    clock, which stands still while the test waits, and the test's clock jumps make the bot
    post faster than Slack's per-channel rate. Slack's rates are tested where they matter
    (tests/sandbox/emulator/test_faults.py, tests/slack/test_event_summary.py,
    tests/integration/test_alert_storm.py)."""
    emu.rate_limits.clear()


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """A fresh emulated workspace granting the bot exactly manifest.yml's scopes, as Slack
    would after installing the app, with Slack's rate limits. Afterwards, every call the test
    made to it is checked against Slack's spec and, with the scopes it needed for its
    arguments and target, against the manifest (see ``tests/contract.py``)."""
    emu = Emulator(bot_token=BOT_TOKEN, scopes=manifest_bot_scopes())
    seed_demo_workspace(emu)
    yield emu
    assert_calls_keep_the_contract(emu)


@pytest.fixture
def emulator_server(emulator: Emulator) -> Iterator[EmulatorServer]:
    server = EmulatorServer(emulator)
    server.start()
    yield server
    server.stop()


def make_settings(database_url: str, api_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "slack_bot_token": BOT_TOKEN,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": api_url,
        "database_url": database_url,
        "plan_path": EXAMPLE_PLAN,
        "webhook_secret": WEBHOOK_SECRET,
        "webhook_token": WEBHOOK_TOKEN,
        "slack_timeout_seconds": 5,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type, call-arg]


class RunningBot:
    def __init__(self, app: OorApp, server: ServerThread) -> None:
        self.app = app
        self.server = server
        self.url = server.url

    def stop(self) -> None:
        self.server.stop()


def start_bot(
    database_url: str,
    api_url: str,
    plan: Plan,
    *,
    clock: Clock | None = None,
    **settings_overrides: object,
) -> RunningBot:
    settings = make_settings(database_url, api_url, **settings_overrides)
    upgrade_url(settings.database_url)
    app = create_app(
        settings,
        plan=plan,
        clock=clock,
        worker_options=WorkerOptions(threads=4, poll_interval=0.05),
    )
    return RunningBot(app, ServerThread(app.asgi).start())


@pytest.fixture
def bot(database_url: str, emulator_server: EmulatorServer, plan: Plan) -> Iterator[RunningBot]:
    running = start_bot(database_url, emulator_server.api_url, plan)
    yield running
    running.stop()
