"""Real ``oor-bot serve`` processes, for what only a process shows: signals, crashes,
restarts and replicas."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from tests.support import (
    EXAMPLE_PLAN,
    ROOT,
    SIGNING_SECRET,
    WEBHOOK_SECRET,
    free_socket,
    wait_for,
)


class BotProcess:
    """``python -m bot serve`` against the emulator, its output kept in a file for failures."""

    def __init__(self, database_url: str, api_url: str, **env: str) -> None:
        sock = free_socket()
        port = sock.getsockname()[1]
        sock.close()
        self.url = f"http://127.0.0.1:{port}"
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("OOR_", "SLACK_"))}
        clean |= {
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": api_url,
            "OOR_DATABASE_URL": database_url,
            "OOR_PLAN": str(EXAMPLE_PLAN),
            "OOR_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "OOR_PORT": str(port),
            "OOR_LOG_LEVEL": "info",
            # One server process, which these tests signal, stop and kill as one replica
            # (serve's default on PostgreSQL is one per core); test_workers.py sets 2.
            "OOR_WORKERS": "1",
            # Above the 10-second Slack calls these tests make: a call must not time out
            # (and be retried, a second attempt) on a busy machine.
            "OOR_SLACK_TIMEOUT": "30",
        }
        self._output = tempfile.NamedTemporaryFile(prefix="oor-bot-", suffix=".log", delete=False)  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve"],
            cwd=ROOT,
            env=clean | env,
            stdout=self._output,
            stderr=subprocess.STDOUT,
        )

    def ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"oor-bot exited with {self.process.returncode}:\n{self.log()}")
        try:
            return httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_ready(self, timeout: float = 30) -> BotProcess:
        wait_for(self.ready, timeout=timeout, what=f"{self.url} ready")
        return self

    def signal(self, sig: signal.Signals) -> None:
        self.process.send_signal(sig)

    def wait(self, timeout: float) -> int:
        return self.process.wait(timeout=timeout)

    def log(self) -> str:
        self._output.flush()
        return Path(self._output.name).read_text(errors="replace")

    def close(self) -> None:
        """Whatever the test did: the process is gone and its log file removed."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self._output.close()
        Path(self._output.name).unlink(missing_ok=True)
