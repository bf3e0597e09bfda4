"""``oor-bot digest``: prints the digest, writes the chart, claims the week unless --dry-run."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import select

from bot.digest.chart import PNG_SIGNATURE
from bot.digest.cli import add_digest_parser, run_digest
from bot.domain.clock import ManualClock
from bot.storage.db import Database
from bot.storage.migrate import upgrade
from bot.storage.models import DigestRunRow, JobRow
from tests.digest.fixture_week import PLAN_PATH, digest_plan, seed_fixture_weeks
from tests.support import ROOT

WEDNESDAY = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="oor-bot")
    add_digest_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["digest", *argv])


def _claims(db: Database) -> list[str]:
    with db.session() as session:
        return list(session.exec(select(DigestRunRow.week)).all())


def test_dry_run_prints_the_previous_week_and_writes_the_chart(
    db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_fixture_weeks(db)
    chart = tmp_path / "chart.png"
    code = run_digest(
        _args("--dry-run", "--chart", str(chart)), db, digest_plan(), ManualClock(WEDNESDAY)
    )
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("*Weekly OOR review — 2026-W47*\n")  # the week before 2026-11-25
    assert "• median: 8m 30s (prev 10m, Δ −1m 30s)" in out  # MTTA
    assert "*Step deadlines met:* 45% (5/11) (prev 71% (5/7), Δ −26 pp)" in out
    assert f"chart: {chart}" in out
    assert chart.read_bytes().startswith(PNG_SIGNATURE)
    assert _claims(db) == []


def test_any_week_with_the_default_chart_name(
    db: Database,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert (
        run_digest(_args("--week", "2026-W46", "--dry-run"), db, digest_plan(), ManualClock()) == 0
    )
    assert capsys.readouterr().out.startswith("*Weekly OOR review — 2026-W46*")
    assert (tmp_path / "digest-2026-W46.png").read_bytes().startswith(PNG_SIGNATURE)


def test_without_dry_run_the_week_is_claimed_for_posting_once(
    db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = _args("--week", "2026-W47", "--chart", str(tmp_path / "c.png"))
    assert run_digest(args, db, digest_plan(), ManualClock(WEDNESDAY)) == 0
    assert (
        "queued: the bot posts the 2026-W47 digest to #payments-review" in capsys.readouterr().out
    )
    assert run_digest(args, db, digest_plan(), ManualClock(WEDNESDAY)) == 1
    assert "already claimed" in capsys.readouterr().err
    assert _claims(db) == ["2026-W47"]
    with db.session() as session:
        [job] = session.exec(select(JobRow).where(JobRow.kind == "digest.post")).all()
    assert job.payload == {"week": "2026-W47", "late": False, "manual": True}


def test_a_bad_week_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        _args("--week", "2026-47")
    assert exit_info.value.code == 2
    assert "expected an ISO week like 2026-W47" in capsys.readouterr().err


def test_the_oor_bot_command(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'oor.db'}"
    database = Database(url)
    upgrade(database.engine)
    seed_fixture_weeks(database)
    database.dispose()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OOR_", "SLACK_"))}
    env = clean | {"OOR_DATABASE_URL": url, "OOR_PLAN": str(PLAN_PATH)}
    chart = tmp_path / "w47.png"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "digest",
            "--week",
            "2026-W47",
            "--dry-run",
            "--chart",
            str(chart),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "*Incidents opened:* 5 (prev 3, Δ +2)" in result.stdout
    assert chart.read_bytes()[:8] == PNG_SIGNATURE
