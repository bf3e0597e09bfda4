"""How many server processes ``oor-bot serve`` runs, and the supervisor that runs them:
stop signals reach every process, a bad exit is the parent's, a failed start stops all, a
process that dies while serving is replaced."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings, server_processes
from bot.supervisor import Supervisor
from tests.support import EXAMPLE_PLAN, ROOT

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REAL = {"slack_bot_token": "xoxb-test", "webhook_token": "t"}


def test_default_is_one_process_per_core_on_postgresql_and_one_on_sqlite() -> None:
    assert server_processes(load_settings(database_url=PG, **REAL), cores=6) == 6
    assert server_processes(load_settings(database_url="sqlite:///x.db", **REAL), cores=6) == 1
    # The sandbox's Slack emulator is one process's memory.
    assert server_processes(load_settings(database_url=PG), cores=6) == 1


def test_an_explicit_count_wins_on_postgresql() -> None:
    assert server_processes(load_settings(database_url=PG, workers=3, **REAL), cores=6) == 3


@pytest.mark.parametrize("database_url", ["sqlite:///x.db", PG])
def test_several_processes_on_sqlite_or_in_the_sandbox_are_refused(database_url: str) -> None:
    token = REAL if database_url.startswith("sqlite") else {}
    settings = load_settings(database_url=database_url, workers=2, **token)
    with pytest.raises(ConfigError, match=r"^OOR_WORKERS: 2 processes need PostgreSQL"):
        server_processes(settings)


def test_serve_refuses_two_processes_on_sqlite_in_one_line_before_migrating(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OOR_", "SLACK_"))}
    db = tmp_path / "oor.db"
    env |= {
        "OOR_DATABASE_URL": f"sqlite:///{db}",
        "OOR_PLAN": str(EXAMPLE_PLAN),
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": "s",
        "OOR_WEBHOOK_TOKEN": "t",
    }
    for args, extra in ((["--workers", "2"], {}), ([], {"OOR_WORKERS": "2"})):
        result = subprocess.run(
            [sys.executable, "-m", "bot", "serve", *args],
            env=env | extra,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("oor-bot: OOR_WORKERS:"), result.stderr
        assert not db.exists()  # refused before anything was migrated


# -- the supervisor, over real forked processes ----------------------------------------------
# The supervisor runs in a process forked from the test (which may hold threads of its own:
# a fork keeps only the calling one), and its children signal it themselves, as an
# operator's SIGTERM would.


@pytest.fixture
def sock() -> Iterator[socket.socket]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield s


def _supervise(
    tmp_path: Path,
    count: int,
    target: Callable[[socket.socket], None],
    sock: socket.socket,
    **options: float,
) -> tuple[int, list[int]]:
    """The supervisor's exit status and its children's exit codes."""
    codes = tmp_path / "exit_codes.json"
    pid = os.fork()
    if pid == 0:  # the supervisor's process
        status = 99
        try:
            supervisor = Supervisor(count, target, sock, **options)
            status = supervisor.run()
            codes.write_text(json.dumps(supervisor.exit_codes))
        finally:
            os._exit(status)
    _, wait_status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(wait_status), json.loads(codes.read_text())


@pytest.fixture
def starts(tmp_path: Path) -> Path:
    """One line per child start, written by the children."""
    return tmp_path / "starts"


def _record_start(starts: Path) -> int:
    with starts.open("a") as f:
        f.write(f"{os.getpid()}\n")
    return len(starts.read_text().splitlines())


def _exit_on_sigterm(code: int) -> None:
    def stop(_sig: int, _frame: object) -> None:
        os._exit(code)

    signal.signal(signal.SIGTERM, stop)


def _stop_parent_then_wait(starts: Path, count: int, code: int = 0) -> Callable[..., None]:
    def target(_sock: socket.socket) -> None:
        _exit_on_sigterm(code)
        if _record_start(starts) == count:  # the last child up: the operator stops it all
            os.kill(os.getppid(), signal.SIGTERM)
        while True:
            time.sleep(1)

    return target


def test_sigterm_reaches_every_process_and_the_parent_exits_0(
    sock: socket.socket, starts: Path
) -> None:
    status, codes = _supervise(starts.parent, 3, _stop_parent_then_wait(starts, 3), sock)
    assert (status, codes) == (0, [0, 0, 0])
    assert len(set(starts.read_text().split())) == 3


def test_a_process_that_stops_badly_makes_the_parent_exit_1(
    sock: socket.socket, starts: Path
) -> None:
    status, codes = _supervise(starts.parent, 2, _stop_parent_then_wait(starts, 2, 3), sock)
    assert (status, codes) == (1, [3, 3])


def test_a_process_that_fails_to_start_stops_the_others_and_the_parent_exits_1(
    sock: socket.socket, starts: Path
) -> None:
    def target(_sock: socket.socket) -> None:
        _exit_on_sigterm(0)
        if _record_start(starts) == 1:
            raise SystemExit(2)  # e.g. the database refused it
        while True:
            time.sleep(1)

    status, codes = _supervise(starts.parent, 2, target, sock, startup_failure_seconds=60)
    assert status == 1
    # The other was stopped: by its handler, or by the default one if it was still starting.
    assert codes[0] == 2 and codes[1:] in ([0], [-signal.SIGTERM]), codes
    assert len(starts.read_text().split()) <= 2  # nothing was started again


def test_a_process_that_dies_while_serving_is_replaced(sock: socket.socket, starts: Path) -> None:
    def target(_sock: socket.socket) -> None:
        _exit_on_sigterm(0)
        if _record_start(starts) < 3:
            raise SystemExit(9)  # crashed after serving a while (see startup_failure_seconds)
        os.kill(os.getppid(), signal.SIGTERM)
        while True:
            time.sleep(1)

    status, codes = _supervise(starts.parent, 1, target, sock, startup_failure_seconds=0)
    assert (status, codes) == (0, [0])
    assert len(set(starts.read_text().split())) == 3  # two replacements
