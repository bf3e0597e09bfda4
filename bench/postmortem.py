"""Post-mortem compile benchmark: an incident with 10,000 timeline entries, in memory.

Times :func:`bot.postmortems.compile.compile_postmortem` alone (no database, no Slack):
the Markdown document for a long incident must compile in well under a second, and the
time must grow linearly with the timeline. Prints the median of several runs per size.

    .venv/bin/python bench/postmortem.py [--entries 10000] [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.domain.incident import IncidentSnapshot, StepRecord, TimelineEntry  # noqa: E402
from bot.domain.plan import load_plan  # noqa: E402
from bot.domain.types import (  # noqa: E402
    CauseCategory,
    IncidentStatus,
    OorType,
    Role,
    Severity,
    Step,
    StepState,
)
from bot.postmortems.compile import compile_postmortem  # noqa: E402
from bot.postmortems.model import ActionItem, ReviewNotes  # noqa: E402

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
    verdict = "OK" if median < 1.0 else "TOO SLOW"
    print(f"{args.entries:,} entries in {median * 1000:.0f} ms: {verdict} (budget 1000 ms)")
    return 0 if median < 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
