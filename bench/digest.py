"""Digest benchmark: the weekly figures over 10,000 incidents on PostgreSQL.

Creates a fresh schema, bulk-inserts the incidents of one ISO week (all six steps each,
amounts in three currencies, a share resolved, post-mortems and action items) plus a
previous week of history, then times the digest computation (this week's figures and the
previous week's, as the scheduled job runs it) and, separately, the rendering and chart.

    .venv/bin/python bench/digest.py [--incidents 10000] [--history 2000] [--runs 5]

Target: the computation under 2 s.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import insert

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.digest.figures import compute_digest  # noqa: E402
from bot.digest.render import render_digest  # noqa: E402
from bot.digest.schedule import IsoWeek  # noqa: E402
from bot.digest.views import SLACK_STYLE  # noqa: E402
from bot.domain.plan_file import load_plan  # noqa: E402
from bot.domain.types import Step  # noqa: E402
from bot.storage.db import Database  # noqa: E402
from bot.storage.migrate import upgrade  # noqa: E402
from bot.storage.models import ActionItemRow, IncidentRow, PostmortemRow, StepRow  # noqa: E402

PG_DSN = os.environ.get("OOR_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
TYPES = ("payment_failure", "transaction_interruption", "amount_error", "system_crash")
SEVERITIES = ("sev1", "sev2", "sev3", "sev4")
CURRENCIES = ("CNY", "USD", "HKD")
OWNERS = tuple(f"U{n:02d}OWNER" for n in range(30))


def _incidents(count: int, start: Any, rng: random.Random, first_id: int) -> tuple[list, list]:
    incidents: list[dict[str, Any]] = []
    steps: list[dict[str, Any]] = []
    week = timedelta(days=7).total_seconds()
    for n in range(count):
        number = first_id + n
        opened = start + timedelta(seconds=rng.uniform(0, week - 1))
        ack = opened + timedelta(seconds=rng.expovariate(1 / 600))
        fixed = ack + timedelta(seconds=rng.expovariate(1 / 7200))
        resolved = fixed if rng.random() < 0.85 else None
        incidents.append(
            {
                "id": number,
                "type": rng.choice(TYPES),
                "title": f"Incident {number}",
                "severity": rng.choice(SEVERITIES),
                "status": "resolved" if resolved else "open",
                "source": "native",
                "opened_at": opened,
                "resolved_at": resolved,
                "details": {
                    "amount": f"{rng.uniform(1, 100000):.2f}",
                    "currency": rng.choice(CURRENCIES),
                    "affected_transactions": rng.randint(1, 500),
                },
                "event_count": 1,
                "generation": 0,
                "updated_at": opened,
            }
        )
        done = {Step.RESPOND: ack, Step.RECORD: ack, Step.INVESTIGATE: fixed}
        if resolved:
            done[Step.RESOLVE] = resolved
            done[Step.NOTIFY] = resolved
        for position, step in enumerate(Step, start=1):
            at = done.get(step)
            steps.append(
                {
                    "incident_id": number,
                    "step": step.value,
                    "position": position,
                    "state": "done" if at else "pending",
                    "completed_at": at,
                }
            )
    return incidents, steps


def seed(db: Database, week: IsoWeek, count: int, history: int) -> None:
    rng = random.Random(47)
    plan = load_plan(ROOT / "plan.example.yaml")
    start, _end = week.bounds(plan.tz)
    previous_start, _ = week.previous().bounds(plan.tz)
    old, old_steps = _incidents(history, previous_start, rng, 1)
    new, new_steps = _incidents(count, start, rng, history + 1)
    postmortems = [
        {
            "incident_id": row["id"],
            "version": 1,
            "markdown": "#",
            "facts": {},
            "compiled_by": "U01",
            "compiled_at": row["resolved_at"],
            "published_at": row["resolved_at"] + timedelta(days=1),
        }
        for row in old
        if row["resolved_at"] and rng.random() < 0.5
    ]
    items = [
        {
            "incident_id": row["id"],
            "number": 1,
            "text": "fix it",
            "owner": rng.choice(OWNERS),
            "due_date": (row["opened_at"] + timedelta(days=3)).date(),
            "state": "open",
            "created_by": "U01",
            "created_at": row["opened_at"],
        }
        for row in old + new
        if rng.random() < 0.3
    ]
    with db.engine.begin() as conn:
        for table, rows in (
            (IncidentRow, old + new),
            (StepRow, old_steps + new_steps),
            (PostmortemRow, postmortems),
            (ActionItemRow, items),
        ):
            if rows:
                conn.execute(insert(table.__table__), rows)  # type: ignore[attr-defined]
        conn.exec_driver_sql("ANALYZE")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--history", type=int, default=2_000, help="incidents the week before")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    schema = f"bench_digest_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    dsn = PG_DSN.removeprefix("postgresql://")
    db = Database(f"postgresql+psycopg://{dsn}?options=-csearch_path%3D{schema}")
    try:
        upgrade(db.engine)
        week = IsoWeek(2026, 47)
        began = time.perf_counter()
        seed(db, week, args.incidents, args.history)
        seeded = time.perf_counter() - began
        print(f"seeded {args.incidents} + {args.history} incidents in {seeded:.1f} s")
        plan = load_plan(ROOT / "plan.example.yaml")
        timings = []
        digest = None
        for _ in range(args.runs):
            began = time.perf_counter()
            with db.session() as session:
                digest = compute_digest(session, plan, week)
            timings.append(time.perf_counter() - began)
        assert digest is not None
        began = time.perf_counter()
        render_digest(digest, plan, SLACK_STYLE)
        from bot.digest.chart import render_chart

        render_chart(digest.current)
        drawing = time.perf_counter() - began
        print(
            f"digest figures ({week} and the week before, {args.runs} runs): "
            f"median {statistics.median(timings) * 1000:.0f} ms, "
            f"max {max(timings) * 1000:.0f} ms, first {timings[0] * 1000:.0f} ms"
        )
        print(f"render + chart: {drawing * 1000:.0f} ms")
        print(
            f"check: {digest.current.opened_total} opened, MTTR median "
            f"{digest.current.mttr.median or 0:.0f} s, "
            f"compliance {digest.current.compliance_total.met}/"
            f"{digest.current.compliance_total.total}"
        )
        return 0 if max(timings) < 2.0 else 1
    finally:
        db.dispose()
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


if __name__ == "__main__":
    sys.exit(main())
