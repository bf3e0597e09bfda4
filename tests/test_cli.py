"""The ``oor-bot`` command: one clear line for bad configuration, ``plan check``, ``migrate``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support import EXAMPLE_PLAN, FIXTURES, ROOT


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OOR_", "SLACK_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env=clean | (env or {}),
        cwd=ROOT,
        timeout=60,
    )


def test_plan_check_accepts_the_example_plan() -> None:
    result = _run("plan", "check", str(EXAMPLE_PLAN))
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout


def test_plan_check_names_the_key_path_of_each_problem() -> None:
    result = _run("plan", "check", str(FIXTURES / "plans" / "bad_responder.yaml"))
    assert result.returncode == 2
    assert "responders.commander[" in result.stderr
    assert "Traceback" not in result.stderr


def test_invalid_configuration_is_one_line_naming_the_variable(tmp_path: Path) -> None:
    cases = {
        "OOR_PORT": "not-a-port",
        "SLACK_BOT_TOKEN": "xoxp-user-token",
        "OOR_DATABASE_URL": "mysql://nope",
        "OOR_WEBHOOK_SECRET": "plain-secret",
    }
    for variable, value in cases.items():
        result = _run("migrate", env={variable: value, "OOR_PLAN": str(EXAMPLE_PLAN)})
        assert result.returncode == 2, (variable, result.stdout, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and variable in lines[0], (variable, result.stderr)
        assert value not in lines[0] or variable == "OOR_PORT"


def test_a_webhook_secret_that_is_not_base64_is_one_line_before_migrating(
    tmp_path: Path,
) -> None:
    # It used to pass the whsec_ check, migrate, then fail building the app: a traceback.
    db = tmp_path / "oor.db"
    result = _run(
        "serve",
        env={
            "OOR_WEBHOOK_SECRET": "whsec_notbase64!!!",
            "OOR_DATABASE_URL": f"sqlite:///{db}",
            "OOR_PLAN": str(EXAMPLE_PLAN),
        },
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("oor-bot: OOR_WEBHOOK_SECRET: "), lines
    assert "notbase64" not in lines[0]  # never echo a secret
    assert not db.exists()  # refused before migrating anything


def test_a_token_without_a_signing_secret_is_refused(tmp_path: Path) -> None:
    result = _run(
        "serve",
        env={
            "SLACK_BOT_TOKEN": "xoxb-real",
            "OOR_WEBHOOK_TOKEN": "t",
            "OOR_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
        },
    )
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == "oor-bot: SLACK_SIGNING_SECRET: required when SLACK_BOT_TOKEN is set without "
        "SLACK_APP_TOKEN"
    )


def test_socket_mode_needs_a_bot_token_too(tmp_path: Path) -> None:
    # Socket Mode needs no signing secret (tests/integration/test_socket_mode.py serves
    # without one) but an app token alone would silently start the sandbox.
    result = _run(
        "serve",
        env={
            "SLACK_APP_TOKEN": "xapp-1-secret",
            "OOR_WEBHOOK_TOKEN": "t",
            "OOR_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
        },
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("oor-bot: SLACK_APP_TOKEN: set SLACK_BOT_TOKEN")
    assert "xapp-1-secret" not in result.stderr


def test_migrate_creates_the_schema(tmp_path: Path) -> None:
    db = tmp_path / "oor.db"
    result = _run("migrate", env={"OOR_DATABASE_URL": f"sqlite:///{db}"})
    assert result.returncode == 0, result.stderr
    assert db.exists()


def test_an_unreachable_database_is_one_line() -> None:
    result = _run(
        "migrate",
        env={"OOR_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2"},
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("oor-bot: OOR_DATABASE_URL: cannot use")


def test_lease_and_grace_settings_are_checked_in_one_line() -> None:
    cases = {
        "OOR_JOB_LEASE_SECONDS": "2",  # renewed every third: too short to survive a hiccup
        "OOR_SHUTDOWN_GRACE_SECONDS": "-1",
    }
    for variable, value in cases.items():
        result = _run("migrate", env={variable: value, "OOR_PLAN": str(EXAMPLE_PLAN)})
        assert result.returncode == 2, (variable, result.stdout, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"oor-bot: {variable}: "), result.stderr
