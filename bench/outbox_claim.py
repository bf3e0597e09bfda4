"""Outbox bookkeeping per job: claiming in batches of different sizes, and the heartbeat.

The worker claims up to 2 x threads jobs at a time (8 with the default 4 threads, and at
least 4 once it is busy) instead of a fixed 16, so that at most ``threads`` claimed jobs wait
for a thread — held by the heartbeat, given back on SIGTERM. This measures what that costs:
the claim and the finishing UPDATE per job, with claims of 4, 8 and 16, and one heartbeat
renewal of 8 held jobs. Jobs do nothing, so this is the outbox's own database work only.

    .venv/bin/python bench/outbox_claim.py [--jobs 2000] [--runs 3]

PostgreSQL: ``OOR_BENCH_PG`` (default postgres@127.0.0.1:5432/test), in a fresh schema,
skipped if unreachable.
"""

from __future__ import annotations

import argparse
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

from bot.storage import jobs  # noqa: E402
from bot.storage.db import Database  # noqa: E402
from bot.storage.migrate import upgrade  # noqa: E402

PG_DSN = os.environ.get("OOR_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
NOW = datetime(2026, 11, 25, 4, 30, tzinfo=UTC)
LEASE = timedelta(seconds=15)
CLAIM_SIZES = (4, 8, 16)


def enqueue(db: Database, count: int, tag: str) -> None:
    rows = [
        jobs.job_values("bench", now=NOW, dedup_key=f"{tag}-{n}", payload={"n": n})
        for n in range(count)
    ]
    with db.engine.begin() as conn:
        jobs.insert_jobs(conn, rows)


def drain(db: Database, limit: int) -> tuple[float, float, int]:
    """Claim ``limit`` at a time and complete each job, as the worker does; returns wall
    and CPU seconds and the number of jobs."""
    done = 0
    wall, cpu = time.perf_counter(), time.process_time()
    while True:
        with db.engine.begin() as conn:
            claimed = jobs.claim_due(conn, now=NOW, owner="bench", lease=LEASE, limit=limit)
        if not claimed:
            break
        for job in claimed:
            with db.engine.begin() as conn:
                jobs.complete(conn, job.id, owner="bench", now=NOW)
        done += len(claimed)
    return time.perf_counter() - wall, time.process_time() - cpu, done


def time_heartbeat(db: Database, beats: int) -> float:
    enqueue(db, 8, f"held-{uuid.uuid4().hex[:6]}")
    with db.engine.begin() as conn:
        held = [j.id for j in jobs.claim_due(conn, now=NOW, owner="hb", lease=LEASE, limit=8)]
    started = time.perf_counter()
    for n in range(beats):
        with db.engine.begin() as conn:
            renewed = jobs.renew_leases(
                conn, held, owner="hb", now=NOW + timedelta(seconds=n), lease=LEASE
            )
        assert len(renewed) == len(held)
    return (time.perf_counter() - started) / beats


def bench(db: Database, label: str, count: int, runs: int) -> None:
    upgrade(db.engine)
    print(f"\n{label}: {count} jobs per run, {runs} runs, median (min-max)")
    print("claim size | wall ms/job | CPU ms/job")
    for limit in CLAIM_SIZES:
        walls: list[float] = []
        cpus: list[float] = []
        for run in range(runs):
            enqueue(db, count, f"c{limit}-{run}")
            wall, cpu, done = drain(db, limit)
            assert done == count, (done, count)
            walls.append(wall * 1000 / done)
            cpus.append(cpu * 1000 / done)
        print(f"{limit:>10} | {_fmt(walls)} | {_fmt(cpus)}")
    beats = [time_heartbeat(db, 200) * 1000 for _ in range(runs)]
    print(f"heartbeat of 8 held jobs: {_fmt(beats)} ms per renewal")


def _fmt(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'bench.db'}")
        try:
            bench(db, "sqlite", args.jobs, args.runs)
        finally:
            db.dispose()
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(PG_DSN, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
    except psycopg.OperationalError as exc:
        print(f"\npostgres: skipped ({exc})")
        return
    dsn = PG_DSN.removeprefix("postgresql://")
    db = Database(f"postgresql+psycopg://{dsn}?options=-csearch_path%3D{schema}")
    try:
        bench(db, "postgres", args.jobs, args.runs)
    finally:
        db.dispose()
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
