"""An alert storm: one Alertmanager notification carrying thousands of alerts of one group.

Each run starts the Slack emulator and ``oor-bot serve`` as subprocesses on a fresh
database (bench/ingest.py's helpers), opens the group's incident with a small notification,
waits for its board, and then measures:

- the big notification: wall time until its ``202`` (all its alerts are one transaction),
  and again for the same notification re-sent (Alertmanager retrying: all duplicates);
- what it left for Slack: the outbox jobs it created;
- a new, unrelated incident opened right after it: seconds until its board is pinned (the
  outbox must not be buried under the storm);
- after the summary window: how many messages the storm's channel got.

The body limit is 1 MiB, so the alerts are as small as Alertmanager's format allows (a
status, ``startsAt`` and a fingerprint; the title comes from the group's annotations).
Run it with ``PYTHONPATH=<a checkout of another commit>`` to measure that commit's code with
the same script.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import ingest as bench  # bench/ingest.py: fresh databases, servers, the machine description
from standardwebhooks import Webhook

MAX_BODY = 1024 * 1024  # bot.ingest.limits.MAX_BODY_BYTES


def notification(run: str, alerts: int, first: int = 0) -> bytes:
    rows = [
        {"status": "firing", "startsAt": "2026-11-25T19:49:24Z", "fingerprint": f"{i:016x}"}
        for i in range(first, first + alerts)
    ]
    return json.dumps(
        {
            "version": "4",
            "receiver": "oor",
            "status": "firing",
            "groupKey": f'{{}}:{{alertname="PaymentChannelErrorRate", run="{run}"}}',
            "alerts": rows,
            "commonLabels": {"alertname": "PaymentChannelErrorRate", "oor_type": "payment_failure"},
            "commonAnnotations": {"summary": "Alipay error rate over 30%"},
            "externalURL": "http://alertmanager.example:9093",
            "truncatedAlerts": 0,
        },
        separators=(",", ":"),
    ).encode()


def post(bot: str, path: str, body: bytes, timeout: float = 600) -> httpx.Response:
    """A webhook signed as bench/ingest.py's bot expects (Standard Webhooks)."""
    msg_id = f"msg_{uuid.uuid4().hex}"
    now = datetime.now(UTC)
    headers = {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(bench.SECRET).sign(msg_id, now, body.decode()),
    }
    return httpx.post(f"{bot}{path}", content=body, headers=headers, timeout=timeout)


def wait_board(db_url: str, number: int, timeout: float) -> float | None:
    """Seconds until incident ``number`` has its board posted, or None after ``timeout``."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        rows = bench.query(db_url, f"SELECT board_ts FROM incident WHERE id = {number}")
        if rows and rows[0][0]:
            return round(time.monotonic() - start, 2)
        time.sleep(0.1)
    return None


def one_run(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    run = uuid.uuid4().hex[:8]
    big = notification(run, args.alerts, first=1)
    with ExitStack() as stack:
        db_url = stack.enter_context(bench.database(args.db, tmp))
        bot, emu, _pid = bench.bot_stack(stack, db_url, tmp)
        bench.wait_idle(db_url)
        opened = post(bot, "/webhooks/alertmanager", notification(run, 1))
        assert opened.status_code == 202, opened.text
        number = int(opened.json()["incident_id"].removeprefix("OOR-"))
        assert wait_board(db_url, number, 60) is not None, "the storm's board never came"
        jobs_before = bench.query(db_url, "SELECT count(*) FROM job")[0][0]

        start = time.monotonic()
        response = post(bot, "/webhooks/alertmanager", big)
        request_s = round(time.monotonic() - start, 2)
        jobs_made = bench.query(db_url, "SELECT count(*) FROM job")[0][0] - jobs_before
        start = time.monotonic()
        again = post(bot, "/webhooks/alertmanager", big)  # Alertmanager retrying it
        resend_s = round(time.monotonic() - start, 2)

        other = {
            "id": f"{run}-other", "type": "system_crash", "title": "Settlement batch stuck",
            "source": "batch-monitor",
        }  # fmt: skip
        start = time.monotonic()
        new = post(bot, "/webhooks/oor", json.dumps(other).encode(), timeout=60)
        assert new.status_code == 202, new.text
        new_number = int(new.json()["incident_id"].removeprefix("OOR-"))
        waited = wait_board(db_url, new_number, args.board_timeout)
        board_s = None if waited is None else round(time.monotonic() - start, 2)

        time.sleep(args.settle)  # the summary window closes, the outbox drains
        channel = bench.query(db_url, f"SELECT channel_id FROM incident WHERE id = {number}")
        state = httpx.get(f"{emu}/_emulator/state", timeout=60).json()
        messages = next(
            (len(c["messages"]) for c in state["channels"] if c["id"] == channel[0][0]), None
        )
        stored = bench.query(db_url, "SELECT count(*) FROM event")[0][0]
    return {
        "alerts": args.alerts, "body_bytes": len(big), "status": response.status_code,
        "answer": response.json() if response.status_code == 202 else response.text[:200],
        "request_s": request_s, "jobs_made": jobs_made, "new_board_s": board_s,
        "resend_s": resend_s, "resend_answer": again.json() if again.status_code == 202 else None,
        "storm_channel_messages": messages, "events_stored": stored,
    }  # fmt: skip


def _spread(values: list[float]) -> str:
    if not values:
        return "-"
    return f"median {statistics.median(values):g} (min {min(values):g}, max {max(values):g})"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    p.add_argument("--alerts", type=int, default=10_000, help="alerts in the big notification")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--settle", type=float, default=40.0, help="seconds before counting messages")
    p.add_argument("--board-timeout", type=float, default=300.0)
    args = p.parse_args()
    size = len(notification("x" * 8, args.alerts, first=1))
    print(f"machine: {json.dumps(bench.machine())}")
    print(f"notification: {args.alerts} alerts, {size:,} bytes (limit {MAX_BODY:,})")
    if size > MAX_BODY:
        print("the body limit rejects it (413): nothing to measure")
        return 1
    results = []
    with tempfile.TemporaryDirectory(prefix="oor-storm-") as tmp:
        for i in range(args.runs):
            load = Path("/proc/loadavg").read_text().split()[0]
            result = one_run(args, Path(tmp)) | {"load1_before": float(load)}
            print(f"run {i + 1}: {json.dumps(result, ensure_ascii=False)}", flush=True)
            results.append(result)
    print("request (s):", _spread([r["request_s"] for r in results]))
    print("the same notification again (s):", _spread([r["resend_s"] for r in results]))
    boards = [r["new_board_s"] for r in results if r["new_board_s"] is not None]
    print(
        "new incident's board (s):",
        _spread(boards),
        f"({len(results) - len(boards)} not within {args.board_timeout:g} s)",
    )
    print("storm channel messages:", [r["storm_channel_messages"] for r in results])
    print("outbox jobs made by the notification:", [r["jobs_made"] for r in results])
    return 0


if __name__ == "__main__":
    sys.exit(main())
