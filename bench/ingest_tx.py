"""The ingest transaction alone: CPU, wall time and statements per event, no HTTP.

One thread stores native events through ``IngestService`` into a fresh database (SQLite
file or PostgreSQL schema, as bench/ingest.py makes them), in the grouped mix (one of
``--groups`` open incidents) or the distinct mix (every event opens an incident).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ingest as bench  # bench/ingest.py: fresh databases, the machine description
from sqlalchemy import event

from bot.domain.events import OorEvent, PaymentDetails
from bot.domain.plan_file import load_plan
from bot.domain.types import OorType, Severity
from bot.incidents.ingest import IngestService
from bot.storage.db import Database
from bot.storage.migrate import upgrade


def make_events(n: int, groups: int) -> list[OorEvent]:
    run = uuid.uuid4().hex[:8]
    details = PaymentDetails(payment_method="alipay", merchant_id="M-00001", currency="CNY")
    return [
        OorEvent(
            source="native",
            dedup_key=f"{run}-{i}",
            type=OorType.PAYMENT_FAILURE,
            title=f"Alipay channel blocked on merchant M-{i % max(groups, 1):05d}",
            severity=Severity.SEV2,
            group_key=f"{run}-group-{i % groups}" if groups else None,
            details=details,
            payload={"id": f"{run}-{i}", "type": "payment_failure", "details": {"n": i}},
        )
        for i in range(n)
    ]


def measure(db_url: str, n: int, groups: int) -> dict[str, Any]:
    db = Database(db_url)
    upgrade(db.engine)
    service = IngestService(db, load_plan(bench.ROOT / "plan.example.yaml"))
    warm = make_events(max(groups, 1) + 200, groups)  # open the groups, warm the caches
    for e in warm:
        service.ingest([e], now=datetime.now(UTC))
    statements = 0

    def count(*_: Any) -> None:
        nonlocal statements
        statements += 1

    event.listen(db.engine, "before_cursor_execute", count)
    events = make_events(n, groups)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    outcomes: dict[str, int] = {}
    for e in events:
        outcome = service.ingest([e], now=datetime.now(UTC)).outcome.value
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    db.dispose()
    return {
        "events": n, "outcomes": outcomes, "cpu_ms_per_ev": round(1000 * cpu / n, 3),
        "wall_ms_per_ev": round(1000 * wall / n, 3), "statements_per_ev": round(statements / n, 2),
    }  # fmt: skip


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    p.add_argument("--events", type=int, default=3000)
    p.add_argument("--groups", type=int, default=50, help="0: the distinct mix")
    args = p.parse_args()
    info = bench.machine()
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    if info["postgres"].startswith("unavailable") and "postgres" in dbs:
        dbs.remove("postgres")
    runs = []
    with tempfile.TemporaryDirectory(prefix="oor-bench-tx-") as tmp:
        for db in dbs:
            with bench.database(db, Path(tmp)) as url:
                load1 = os.getloadavg()[0]
                result = {"db": db, "groups": args.groups, **measure(url, args.events, args.groups)}
                runs.append(result | {"load1_before": load1})
                print(
                    f"{db:<9} groups={args.groups:<4} cpu {result['cpu_ms_per_ev']:.3f} ms/ev, "
                    f"wall {result['wall_ms_per_ev']:.3f} ms/ev, "
                    f"{result['statements_per_ev']} statements/ev, load {load1:.1f}"
                )
    print(json.dumps({"bench": "ingest_tx", "machine": info, "runs": runs}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
