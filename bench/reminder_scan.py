"""Reminder-scan benchmark: what one scan costs with many open incidents, SQLite and PostgreSQL.

The scan runs every few seconds (``OOR_REMINDER_SCAN_SECONDS``) on every replica; whatever
it reads and computes is a pause the webhook and slash-command paths feel. This opens
``--incidents`` incidents through the real ingest transaction (distinct group keys, six
steps pending; each count on a fresh database), then times, ``--runs`` times each:

- **idle**: ``scan()`` when nothing is due, the steady state between reminders;
- **due**: ``scan()`` when ``--due`` of the open incidents have a reminder due (a fresh set
  each run, opened earlier so that their first deadline is due) — it claims and enqueues
  each, and stores their next-due times;
- **full read**: what the scan did before ``incident.next_due_at``: read every open
  incident with its steps, snoozes and claims, and compute its due reminders;
- **sweep**: the safety net that recomputes every open incident's next-due time (at
  start-up and every ten minutes), without the rests between its chunks.

    .venv/bin/python bench/reminder_scan.py [--incidents 1000 10000] [--runs 7] [--due 0.01]

PostgreSQL: ``OOR_BENCH_PG`` (default postgres@127.0.0.1:5432/test), in a fresh schema,
skipped if unreachable. Exit status 1 if an idle scan over 10,000 or fewer open incidents
takes 10 ms or more (median).
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
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.domain.clock import ManualClock  # noqa: E402
from bot.domain.deadlines import due_reminders, unclaimed  # noqa: E402
from bot.domain.plan import Plan  # noqa: E402
from bot.domain.plan_file import load_plan  # noqa: E402
from bot.domain.types import IncidentStatus  # noqa: E402
from bot.incidents.ingest import IngestService  # noqa: E402
from bot.ingest.native import parse_native  # noqa: E402
from bot.reminders.scan import ReminderScanner  # noqa: E402
from bot.storage import incidents as repo  # noqa: E402
from bot.storage import next_due  # noqa: E402
from bot.storage.db import Database  # noqa: E402
from bot.storage.migrate import upgrade  # noqa: E402

PG_DSN = os.environ.get("OOR_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
OPENED = datetime(2026, 11, 25, 4, 30, tzinfo=UTC)
RESPOND = timedelta(minutes=10)  # payment_failure sev2 in plan.example.yaml
BUDGET_MS = 10.0


def open_incidents(db: Database, plan: Plan, count: int, due_runs: list[int]) -> None:
    """``count`` open incidents: for run ``r`` of the due scans, ``due_runs[r]`` of them are
    opened so that their first reminder is due at ``OPENED + r + 1`` seconds; the rest at
    ``OPENED``, due ten minutes later."""
    ingest = IngestService(db, plan)
    starts = [
        OPENED - RESPOND + timedelta(seconds=r + 1)
        for r, k in enumerate(due_runs)
        for _ in range(k)
    ]
    starts += [OPENED] * (count - len(starts))
    for n, at in enumerate(starts):
        body = {
            "id": f"scan-bench-{n}",
            "type": "payment_failure",
            "title": f"Alipay channel blocked #{n}",
            "group_key": f"scan-bench-{n}",
            "details": {"payment_method": "alipay", "amount": "1234.50", "currency": "CNY"},
        }
        ingest.ingest([parse_native(json.dumps(body).encode())], now=at)


def full_read(db: Database, plan: Plan, now: datetime) -> int:
    """The scan before next_due_at: every open incident read, its due reminders computed."""
    count = 0
    with db.session() as session:
        rows = session.execute(
            select(repo.INCIDENT)
            .where(repo.INCIDENT.c.status != IncidentStatus.CLOSED.value)
            .order_by(repo.INCIDENT.c.id)
        ).all()
        for state in next_due.load_states(session, rows):
            incident = state.incident
            due = due_reminders(
                incident,
                plan.for_type(incident.type),
                now,
                state.snoozes,
                plan.working_hours,
                plan.tz,
            )
            count += len(unclaimed(due, state.claims))
    return count


def timed(action: Callable[[], object]) -> tuple[float, object]:
    began = time.perf_counter()
    result = action()
    return (time.perf_counter() - began) * 1000, result


def row(name: str, what: str, count: int, timings: list[float]) -> dict[str, object]:
    median = statistics.median(timings)
    print(
        f"{name:10} {count:>6} open  {what:28} median {median:8.2f} ms  "
        f"min {min(timings):8.2f}  max {max(timings):8.2f}  ({len(timings)} runs, "
        f"load {os.getloadavg()[0]:.2f})",
        flush=True,
    )
    return {"db": name, "open": count, "what": what, "median_ms": median}


def measure(
    name: str, db: Database, plan: Plan, count: int, args: argparse.Namespace
) -> list[dict[str, object]]:
    results: list[dict[str, object]] = []
    try:
        upgrade(db.engine)
        per_run = max(1, round(count * args.due))
        open_incidents(db, plan, count, [per_run] * args.runs)
        idle = ReminderScanner(db, plan, ManualClock(OPENED))
        timings = []
        for _ in range(args.runs):
            ms, claimed = timed(idle.scan)
            assert claimed == [], "nothing is due at OPENED"
            timings.append(ms)
        results.append(row(name, "idle scan (nothing due)", count, timings))
        timings = []
        for _ in range(args.runs):
            ms, due = timed(lambda: full_read(db, plan, OPENED))
            assert due == 0
            timings.append(ms)
        results.append(row(name, "full read (the old scan)", count, timings))
        clock = ManualClock(OPENED)
        scanner = ReminderScanner(db, plan, clock)
        timings = []
        for _ in range(args.runs):
            clock.advance(seconds=1)
            ms, claimed = timed(scanner.scan)
            assert isinstance(claimed, list) and len(claimed) == per_run
            timings.append(ms)
        results.append(row(name, f"due scan ({per_run} claimed)", count, timings))
        timings = []
        for _ in range(args.runs):
            ms, corrected = timed(lambda: next_due.sweep(db, plan))
            assert corrected == []
            timings.append(ms)
        results.append(row(name, "sweep (every 10 min)", count, timings))
    finally:
        db.dispose()
    return results


def postgres_url(schema: str) -> str:
    dsn = PG_DSN.removeprefix("postgresql://")
    return f"postgresql+psycopg://{dsn}?options=-csearch_path%3D{schema}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--due", type=float, default=0.01, help="fraction due per due scan")
    args = parser.parse_args()
    plan = load_plan(ROOT / "plan.example.yaml")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    results: list[dict[str, object]] = []
    for count in args.incidents:
        with tempfile.TemporaryDirectory() as tmp:
            db = Database(f"sqlite:///{tmp}/scan.db")
            results += measure("SQLite", db, plan, count, args)
        schema = f"bench_scan_{uuid.uuid4().hex[:8]}"
        try:
            with psycopg.connect(PG_DSN, autocommit=True) as conn:
                conn.execute(f"CREATE SCHEMA {schema}")
        except psycopg.OperationalError as exc:
            print(f"PostgreSQL skipped: {exc}".splitlines()[0])
            continue
        try:
            results += measure("PostgreSQL", Database(postgres_url(schema)), plan, count, args)
        finally:
            with psycopg.connect(PG_DSN, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")
    over = [
        r
        for r in results
        if r["what"] == "idle scan (nothing due)"
        and int(str(r["open"])) <= 10_000
        and float(str(r["median_ms"])) >= BUDGET_MS
    ]
    for r in over:
        print(f"OVER BUDGET: {r['db']} idle scan over {r['open']}: {r['median_ms']:.2f} ms")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
