"""``oor-bot incidents list|show``: tables and reports in the plan's zone, ``--json``, exits."""

from __future__ import annotations

import argparse
import json
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.api.queries import get_incident
from bot.api.serialize import incident_detail, incident_summary
from bot.domain import lifecycle
from bot.domain.clock import ManualClock
from bot.domain.plan import Plan
from bot.domain.types import IncidentStatus, OorType, Role, Step, StepState
from bot.incidents.service import IncidentService
from bot.incidents_cli import add_incidents_parser, format_detail, run_incidents
from bot.sandbox.emulator import EmulatorServer
from bot.slack.platform import slack_display_names
from bot.storage import incidents as repo
from bot.storage.db import Database
from tests.api import T0, add_timeline, open_incident, set_role, set_status, set_step
from tests.conftest import make_settings

SHANGHAI = ZoneInfo("Asia/Shanghai")
HOUR = timedelta(hours=1)


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="oor-bot")
    add_incidents_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["incidents", *argv])


def _run(db: Database, *argv: str) -> int:
    return run_incidents(_args(*argv), db, SHANGHAI)


@pytest.fixture
def two(db: Database, plan: Plan) -> tuple[int, int]:
    """OOR-1: open payment failure, respond done and record in progress, a commander.
    OOR-2: a resolved system crash an hour later, with a very long title."""
    first = open_incident(db, plan, "a", at=T0)
    second = open_incident(
        db,
        plan,
        "b",
        at=T0 + HOUR,
        type=OorType.SYSTEM_CRASH,
        title="Core payment gateway down in every region " + "x" * 80,
        amount=None,
    )
    set_step(
        db,
        first,
        Step.RESPOND,
        StepState.DONE,
        started_at=T0,
        started_by="U0ALICE",
        completed_at=T0 + HOUR / 4,
        completed_by="U0ALICE",
    )
    set_step(db, first, Step.RECORD, StepState.IN_PROGRESS, started_at=T0, started_by="U0BOB")
    set_step(db, first, Step.NOTIFY, StepState.SKIPPED, note="no customer impact yet")
    set_role(db, first, Role.COMMANDER, "U0ALICE", T0)
    add_timeline(db, first, T0 + HOUR / 2, "Alipay confirms the block")
    set_status(db, second, IncidentStatus.RESOLVED, T0 + 2 * HOUR)
    return first, second


def test_list_is_a_table_newest_first_in_the_plan_zone(
    db: Database, two: tuple[int, int], capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(db, "list") == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == [
        "ID",
        "OPENED",
        "(Asia/Shanghai)",
        "SEV",
        "STATUS",
        "TYPE",
        "STEPS",
        "TITLE",
    ]
    assert lines[1].startswith("OOR-2 ") and lines[2].startswith("OOR-1 ")
    assert "2026-11-25 13:30" in lines[1] and "2026-11-25 12:30" in lines[2]
    assert "DI--S-" in lines[2] and "------" in lines[1]
    assert "resolved" in lines[1] and "system_crash" in lines[1]
    assert "…" in lines[1] and "x" * 60 not in lines[1]  # long titles are cut
    # Columns line up: every row's STEPS column starts at the header's.
    column = lines[0].index("STEPS")
    assert lines[1][column : column + 6] == "------"
    assert lines[2][column : column + 6] == "DI--S-"
    assert "D done" in out


def test_list_filters_and_empty_result(
    db: Database, two: tuple[int, int], capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(db, "list", "--status", "open", "--type", "payment_failure") == 0
    out = capsys.readouterr().out
    assert "OOR-1" in out and "OOR-2" not in out
    # A --since without a zone is in the plan's zone: 13:30 Shanghai is OOR-2's opening.
    assert _run(db, "list", "--since", "2026-11-25 13:30") == 0
    out = capsys.readouterr().out
    assert "OOR-2" in out and "OOR-1" not in out
    assert _run(db, "list", "--limit", "1") == 0
    assert "OOR-1" not in capsys.readouterr().out
    assert _run(db, "list", "--status", "closed") == 0
    assert capsys.readouterr().out.strip() == "no incidents"


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (("--status", "pending"), "--status"),
        (("--type", "outage"), "--type"),
        (("--since", "last tuesday"), "--since"),
        (("--limit", "0"), "--limit"),
        (("--limit", "lots"), "--limit"),
    ],
)
def test_bad_list_arguments_exit_2_with_one_line(
    db: Database, argv: tuple[str, ...], flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(db, "list", *argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"oor-bot: {flag}: ")
    assert len(captured.err.strip().splitlines()) == 1


def test_list_json_is_the_api_list(
    db: Database, two: tuple[int, int], capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(db, "list", "--json") == 0
    printed = json.loads(capsys.readouterr().out)
    with db.session() as session:
        snapshots = [repo.snapshot(session, n) for n in reversed(two)]
    expected = [incident_summary(s) for s in snapshots if s is not None]
    assert printed == expected
    assert printed[1]["steps"]["respond"] == "done"


def test_show_is_a_report_with_facts_roles_steps_and_timeline(
    db: Database, two: tuple[int, int], capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(db, "show", "OOR-1") == 0
    out = capsys.readouterr().out
    assert out.startswith("OOR-1  Alipay channel blocked")
    assert "Payment failure (payment_failure)" in out
    assert "2026-11-25 12:30:00 UTC+8" in out  # opened, in the plan's zone
    assert "amount" in out and "1234.50" in out and "M-10086" in out
    assert "Commander  U0ALICE" in out
    assert "1. Rapid response" in out
    respond = next(line for line in out.splitlines() if "1. Rapid response" in line)
    assert "done" in respond and "by U0ALICE 2026-11-25 12:45" in respond
    assert "note: no customer impact yet" in out
    assert "Alipay confirms the block" in out and "[opened]" in out
    assert _run(db, "show", "1") == 0
    assert capsys.readouterr().out == out


def test_show_json_is_the_api_detail(
    db: Database, two: tuple[int, int], capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(db, "show", "oor-1", "--json") == 0
    printed = json.loads(capsys.readouterr().out)
    with db.session() as session:
        snapshot = repo.snapshot(session, two[0])
        assert snapshot is not None
        expected = incident_detail(snapshot, repo.timeline_of(session, two[0]))
    assert printed == expected
    assert printed["details"]["amount"] == "1234.50"


def test_show_unknown_exits_1_and_bad_id_exits_2(
    db: Database, two: tuple[int, int], capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(db, "show", "OOR-99") == 1
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == "oor-bot: no incident OOR-99\n"
    # Past the id column: none such, not a database error (PostgreSQL cannot compare it).
    assert _run(db, "show", "OOR-99999999999") == 1
    assert capsys.readouterr().err == "oor-bot: no incident OOR-99999999999\n"
    assert _run(db, "show", "latest") == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "OOR-42 or 42" in captured.err


def test_terminal_escapes_in_stored_text_never_reach_the_terminal(
    db: Database, plan: Plan, capsys: pytest.CaptureFixture[str]
) -> None:
    number = open_incident(db, plan, "evil", at=T0, title="Pay\x1b]0;pwned\x07 down\nsecond line")
    assert _run(db, "list") == 0
    assert _run(db, "show", str(number)) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert "Pay]0;pwned down second line" in out  # one line, escapes dropped


def test_show_names_people_by_name_or_id_never_markup(db: Database, plan: Plan) -> None:
    """``show`` is read by people outside Slack: a role given through the lifecycle reads
    with the person's name where it is known, else the id — never ``<@U…>``."""
    number = open_incident(db, plan, "who", at=T0)
    service = IncidentService(db, ManualClock(T0 + HOUR), lambda: None, plan=plan)
    service.apply(
        number, "U0ALICE", lambda s, t: lifecycle.assign(s, "U0ALICE", t, Role.TECH, "U0BOB")
    )
    with db.session() as session:
        found = get_incident(session, number)
    assert found is not None
    plain = format_detail(*found, tz=SHANGHAI)
    assert "[role] made U0BOB the tech lead" in plain
    named = format_detail(*found, tz=SHANGHAI, names={"U0BOB": "Bob Li", "U0ALICE": "Alice"})
    assert "[role] made Bob Li the tech lead" in named
    assert "Tech lead  Bob Li" in named
    assert "<@" not in plain + named and "&lt;" not in plain + named


def test_show_names_asks_the_workspace_through_the_bots_directory(
    db: Database,
    plan: Plan,
    database_url: str,
    emulator_server: EmulatorServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``show --names``: the names come from Slack (the emulated workspace), once per
    person; someone Slack does not know stays an id."""
    number = open_incident(db, plan, "names", at=T0)
    service = IncidentService(db, ManualClock(T0 + HOUR), lambda: None, plan=plan)
    service.apply(
        number, "U01ALICE", lambda s, t: lifecycle.assign(s, "U01ALICE", t, Role.TECH, "U02BOB")
    )
    service.apply(
        number, "U01ALICE", lambda s, t: lifecycle.assign(s, "U01ALICE", t, Role.COMMS, "U0GONE")
    )
    names = slack_display_names(make_settings(database_url, emulator_server.api_url))
    assert run_incidents(_args("show", str(number), "--names"), db, SHANGHAI, names) == 0
    out = capsys.readouterr().out
    assert "[role] made Bob Li 李博 (payments engineer) the tech lead" in out
    assert "[role] made U0GONE the comms" in out
    assert "<@" not in out
    assert run_incidents(_args("show", str(number)), db, SHANGHAI, names) == 0
    assert "[role] made U02BOB the tech lead" in capsys.readouterr().out  # ids unless asked
