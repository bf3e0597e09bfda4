"""Reminder-scan benchmark: one scan over many open incidents, on SQLite and PostgreSQL.

The scan runs every few seconds (``OOR_REMINDER_SCAN_SECONDS``) on every replica and holds
the GIL while it builds the incidents it checks, so its cost is a pause the webhook and
slash-command paths feel. This opens ``--incidents`` incidents through the real ingest
transaction (distinct group keys, all six steps pending), then times ``scan()`` when
nothing is due yet: the steady state between reminders.

    .venv/bin/python bench/reminder_scan.py [--incidents 1000] [--runs 7]

PostgreSQL: ``OOR_BENCH_PG`` (default postgres@127.0.0.1:5432/test), in a fresh schema,
skipped if unreachable.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.domain.clock import ManualClock  # noqa: E402
from bot.domain.plan import Plan  # noqa: E402
from bot.domain.plan_file import load_plan  # noqa: E402
from bot.incidents.ingest import IngestService  # noqa: E402
from bot.ingest.native import parse_native  # noqa: E402
from bot.reminders.scan import ReminderScanner  # noqa: E402
from bot.storage.db import Database  # noqa: E402
from bot.storage.migrate import upgrade  # noqa: E402

PG_DSN = os.environ.get("OOR_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
OPENED = datetime(2026, 11, 25, 4, 30, tzinfo=UTC)


def open_incidents(db: Database, plan: Plan, count: int) -> None:
    ingest = IngestService(db, plan)
    for n in range(count):
        body = {
            "id": f"scan-bench-{n}",
            "type": "payment_failure",
            "title": f"Alipay channel blocked #{n}",
            "group_key": f"scan-bench-{n}",
            "details": {"payment_method": "alipay", "amount": "1234.50", "currency": "CNY"},
        }
        ingest.ingest([parse_native(json.dumps(body).encode())], now=OPENED)


def time_scans(db: Database, plan: Plan, runs: int) -> list[float]:
    # 30 s after the opening: every deadline is still ahead, so the scan claims nothing.
    scanner = ReminderScanner(db, plan, ManualClock(OPENED + timedelta(seconds=30)))
    timings = []
    for _ in range(runs):
        began = time.perf_counter()
        claimed = scanner.scan()
        timings.append(time.perf_counter() - began)
        assert claimed == [], "nothing should be due in the steady state"
    return timings


def report(name: str, count: int, timings: list[float]) -> None:
    print(
        f"{name}: scan over {count} open incidents, {len(timings)} runs: "
        f"median {statistics.median(timings) * 1000:.0f} ms, max {max(timings) * 1000:.0f} ms"
    )


def measure(name: str, db: Database, plan: Plan, args: argparse.Namespace) -> None:
    try:
        upgrade(db.engine)
        open_incidents(db, plan, args.incidents)
        report(name, args.incidents, time_scans(db, plan, args.runs))
    finally:
        db.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    plan = load_plan(ROOT / "plan.example.yaml")
    print(f"load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        measure("SQLite", Database(f"sqlite:///{tmp}/scan.db"), plan, args)
    schema = f"bench_scan_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
    except psycopg.OperationalError as exc:
        print(f"PostgreSQL skipped: {exc}".splitlines()[0])
        return 0
    dsn = PG_DSN.removeprefix("postgresql://")
    try:
        url = f"postgresql+psycopg://{dsn}?options=-csearch_path%3D{schema}"
        measure("PostgreSQL", Database(url), plan, args)
    finally:
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
    return 0


if __name__ == "__main__":
    sys.exit(main())
