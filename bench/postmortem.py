"""Post-mortem compile benchmark: an incident with 10,000 timeline entries.

First :func:`bot.postmortems.compile.compile_postmortem` alone (no database, no Slack),
at three sizes, to show the time grows linearly with the timeline. Then the whole
compile as ``/oor review`` runs it, :meth:`PostmortemService.compile`: read the incident
and its 10,000 timeline rows, compile, store the new version and queue its upload, on
SQLite (a temporary file) and PostgreSQL (``OOR_BENCH_PG``, a fresh schema; skipped if it
cannot be reached). The budget for both is one second. Prints medians of several runs.

    .venv/bin/python bench/postmortem.py [--entries 10000] [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg
from sqlalchemy import insert

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.domain.clock import ManualClock  # noqa: E402
from bot.domain.events import OorEvent, PaymentDetails  # noqa: E402
from bot.domain.incident import IncidentSnapshot, StepRecord, TimelineEntry  # noqa: E402
from bot.domain.plan import Plan  # noqa: E402
from bot.domain.plan_file import load_plan  # noqa: E402
from bot.domain.types import (  # noqa: E402
    CauseCategory,
    IncidentStatus,
    OorType,
    Role,
    Severity,
    Step,
    StepState,
)
from bot.incidents.ingest import IngestService  # noqa: E402
from bot.incidents.service import IncidentService  # noqa: E402
from bot.postmortems.compile import compile_postmortem  # noqa: E402
from bot.postmortems.model import ActionItem, ReviewNotes  # noqa: E402
from bot.postmortems.service import PostmortemService  # noqa: E402
from bot.storage.db import Database  # noqa: E402
from bot.storage.migrate import upgrade  # noqa: E402
from bot.storage.models import TimelineRow  # noqa: E402

PG_DSN = os.environ.get("OOR_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")

OPENED = datetime(2026, 11, 25, 4, 30, tzinfo=UTC)
PEOPLE = ["U01ALICE", "U02BOB", "U03CAROL", "U05ERIN", "alertmanager"]
KINDS = ["finding", "note", "grouped", "record", "step"]


def snapshot(entries: int) -> IncidentSnapshot:
    end = OPENED + timedelta(seconds=7 * entries)
    steps = tuple(
        StepRecord(
            step,
            StepState.DONE,
            started_at=OPENED + timedelta(minutes=i),
            started_by=PEOPLE[i % 3],
            completed_at=OPENED + timedelta(minutes=3 * i + 2),
            completed_by=PEOPLE[i % 3],
        )
        for i, step in enumerate(Step)
    )
    return IncidentSnapshot(
        number=42,
        type=OorType.TRANSACTION_INTERRUPTION,
        title="Card payments interrupted in every region",
        severity=Severity.SEV1,
        status=IncidentStatus.CLOSED,
        source="alertmanager",
        opened_at=OPENED,
        occurred_at=OPENED - timedelta(minutes=2),
        details={"amount": "1234567.89", "currency": "CNY", "affected_transactions": 48211},
        channel_name="oor-42-transaction-interruption-card",
        steps=steps,
        roles={Role.COMMANDER: "U01ALICE", Role.TECH: "U02BOB", Role.COMMS: "U03CAROL"},
        resolved_at=end - timedelta(hours=1),
        closed_at=end,
        resolution_summary="Rolled back the router release",
        cause_category=CauseCategory.PROGRAM_ERROR,
        event_count=entries // 10,
    )


def timeline(entries: int) -> list[TimelineEntry]:
    return [
        TimelineEntry(
            at=OPENED + timedelta(seconds=7 * i),
            actor=PEOPLE[i % len(PEOPLE)],
            kind=KINDS[i % len(KINDS)],
            text=f"entry {i}: error rate {i % 97}% on acquirer {i % 7} | <latency> p99 {i % 900}ms",
        )
        for i in range(entries)
    ]


def time_compile(entries: int, runs: int) -> tuple[float, int]:
    plan = load_plan(ROOT / "plan.example.yaml")
    snap, tl = snapshot(entries), timeline(entries)
    notes = ReviewNotes(what_happened="…", root_cause="A bad release", to_improve="Canary")
    items = [ActionItem(n, f"Action {n}", "U02BOB", date(2026, 12, n)) for n in range(1, 6)]
    seconds = []
    size = 0
    for _ in range(runs):
        started = time.perf_counter()
        pm = compile_postmortem(snap, tl, notes, items, 3, plan, version=1, compiled_at=OPENED)
        seconds.append(time.perf_counter() - started)
        size = len(pm.markdown)
    return statistics.median(seconds), size


# -- through the service, with a database ------------------------------------------------
@contextmanager
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as directory:
        yield f"sqlite:///{Path(directory) / 'bench.db'}"


@contextmanager
def postgres_url() -> Iterator[str]:
    schema = f"bench_pm_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_DSN, autocommit=True, connect_timeout=3) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"postgresql+psycopg://{PG_DSN.removeprefix('postgresql://')}" + (
            f"?options=-csearch_path%3D{schema}"
        )
    finally:
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def seed(db: Database, plan: Plan, entries: int) -> int:
    """One incident, opened the way a webhook opens it, with ``entries`` timeline rows."""
    event = OorEvent(
        source="native",
        dedup_key="bench-postmortem",
        type=OorType.TRANSACTION_INTERRUPTION,
        title="Card payments interrupted in every region",
        details=PaymentDetails(payment_method="card", amount=Decimal("1234567.89"), currency="CNY"),
    )
    number = IngestService(db, plan).ingest([event], now=OPENED).incident_number
    assert number is not None
    rows = [
        {
            "incident_id": number,
            "at": e.at,
            "actor": e.actor,
            "kind": e.kind,
            "text": e.text,
            "data": {"mentions": []},
        }
        for e in timeline(entries)
    ]
    with db.engine.begin() as conn:
        conn.execute(insert(TimelineRow.__table__), rows)  # type: ignore[attr-defined]
    return number


def time_service(url: str, entries: int, runs: int) -> float:
    """Median seconds of :meth:`PostmortemService.compile` (each run stores a version)."""
    db = Database(url)
    try:
        upgrade(db.engine)
        plan = load_plan(ROOT / "plan.example.yaml")
        number = seed(db, plan, entries)
        clock = ManualClock(OPENED + timedelta(days=1))
        incidents = IncidentService(db, clock, on_enqueued=lambda: None, plan=plan)
        service = PostmortemService(db, plan, clock, incidents, on_enqueued=lambda: None)
        seconds = []
        for _ in range(runs):
            clock.advance(minutes=1)
            started = time.perf_counter()
            stored = service.compile(number, "U01ALICE")
            seconds.append(time.perf_counter() - started)
        assert stored.facts["timeline_entries"] >= entries
        return statistics.median(seconds)
    finally:
        db.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    time_compile(100, 1)  # warm up: template compiled and cached
    print(f"compile_postmortem, median of {args.runs} runs")
    for entries in sorted({args.entries // 10, args.entries // 2, args.entries}):
        median, size = time_compile(entries, args.runs)
        kib = size / 1024
        print(f"  {entries:>7,} timeline entries: {median * 1000:7.1f} ms  ({kib:,.0f} KiB)")
    median, _ = time_compile(args.entries, args.runs)
    slowest = median
    print(f"PostmortemService.compile (read, compile, store), median of {args.runs} runs")
    for name, database in (("SQLite", sqlite_url), ("PostgreSQL", postgres_url)):
        try:
            with database() as url:
                took = time_service(url, args.entries, args.runs)
        except psycopg.OperationalError as exc:
            print(f"  {name:<10}: skipped ({type(exc).__name__}: PostgreSQL not reachable)")
            continue
        slowest = max(slowest, took)
        print(f"  {name:<10} {args.entries:>7,} timeline entries: {took * 1000:7.1f} ms")
    verdict = "OK" if slowest < 1.0 else "TOO SLOW"
    print(
        f"{args.entries:,} entries, slowest in {slowest * 1000:.0f} ms: {verdict} (budget 1000 ms)"
    )
    return 0 if slowest < 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
