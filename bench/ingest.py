"""Ingest benchmark: signed webhook load, a bare-endpoint baseline and a channel storm.

Every server (bot, bare app, Slack emulator) is its own subprocess on 127.0.0.1; this
process only generates load. See bench/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import psycopg
from standardwebhooks import Webhook

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SELF = [sys.executable, str(Path(__file__).resolve())]  # runs the servers below
PG_DSN = os.environ.get("OOR_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BOT_TOKEN = "xoxb-test"  # bot.sandbox.emulator.Emulator's default bot token
TYPES = ("payment_failure", "transaction_interruption", "amount_error", "system_crash")
Json = dict[str, Any]


# -- servers run in subprocesses (`python bench/ingest.py _emulator|_bare PORT`) ------------
def serve_emulator(port: int) -> None:
    import uvicorn

    from bot.sandbox.emulator import Emulator, create_emulator_app
    from bot.sandbox.workspace import seed_demo_workspace

    emu = Emulator(bot_token=BOT_TOKEN)
    seed_demo_workspace(emu)  # the plan's responders and #payments-incidents
    emu.base_url = f"http://127.0.0.1:{port}/"
    uvicorn.run(create_emulator_app(emu), host="127.0.0.1", port=port, log_level="warning")


def serve_bare(port: int) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def accept(_request: Request) -> JSONResponse:
        return JSONResponse({}, status_code=202)

    app = Starlette(routes=[Route("/webhooks/oor", accept, methods=["POST"])])
    # The same uvicorn settings as bot.server.serve.
    uvicorn.run(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="on"
    )


# -- process management -------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def process(
    name: str, cmd: list[str], env: dict[str, str], logdir: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``cmd`` in its own session; always terminated (then killed) on the way out."""
    log = logdir / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, env=env, cwd=logdir, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield proc
        finally:
            died = proc.poll()
            if died is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
            else:  # it should have been running: show why it stopped
                print(f"  {name} exited {died}; log tail:\n{log.read_text()[-2000:]}")


def wait_http(url: str, timeout: float, what: str, expect: int = 200) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == expect:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{what} not ready at {url} after {timeout:.0f}s (see its log)")


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OOR_", "SLACK_"))}
    return env | extra


@contextmanager
def database(kind: str, tmp: Path) -> Iterator[str]:
    """A fresh SQLite file or PostgreSQL schema (dropped afterwards); yields the bot's URL."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp / f'bench-{uuid.uuid4().hex[:8]}.db'}"
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_DSN, autocommit=True, connect_timeout=3) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        dsn = PG_DSN.removeprefix("postgresql://")
        yield f"postgresql+psycopg://{dsn}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG_DSN, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30) as conn:
            return list(conn.execute(sql).fetchall())
    schema = url.rsplit("%3D", 1)[1]
    with psycopg.connect(PG_DSN, connect_timeout=3) as conn:
        conn.execute(f"SET search_path TO {schema}")
        return list(conn.execute(sql).fetchall())


def cpu_seconds(pid: int) -> float:
    """CPU time of ``pid`` and every process under it (``serve --workers N`` forks N)."""
    total = 0.0
    with suppress(FileNotFoundError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            total += cpu_seconds(int(child))
    return total


def memory_mb(pid: int, field: str = "VmRSS") -> float:
    """The largest ``field`` of ``/proc/<pid>/status`` (VmRSS now, VmHWM the peak) among
    ``pid`` and the processes under it, in MB: each server process against the target."""
    largest = 0.0
    with suppress(FileNotFoundError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                largest = int(line.split()[1]) / 1024
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            largest = max(largest, memory_mb(int(child), field))
    return round(largest, 1)


def bot_stack(stack: ExitStack, db_url: str, tmp: Path, workers: int = 1) -> tuple[str, str, int]:
    """Emulator + ``oor-bot serve --workers N`` as subprocesses in ``stack``: bot URL,
    emulator URL, pid (of the parent when N > 1)."""
    emu_port, bot_port = free_port(), free_port()
    emu, cmd = f"http://127.0.0.1:{emu_port}", [*SELF, "_emulator", str(emu_port)]
    stack.enter_context(process("emulator", cmd, clean_env(), tmp))
    wait_http(f"{emu}/_emulator/state", 20, "Slack emulator")
    env = clean_env(
        SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET="bench-signing-secret",
        SLACK_API_URL=f"{emu}/api/", OOR_DATABASE_URL=db_url, OOR_WEBHOOK_SECRET=SECRET,
        OOR_PLAN=str(ROOT / "plan.example.yaml"), OOR_PORT=str(bot_port), OOR_LOG_LEVEL="warning",
        OOR_WORKERS=str(workers),
    )  # fmt: skip
    proc = stack.enter_context(process("bot", [str(BIN / "oor-bot"), "serve"], env, tmp))
    bot = f"http://127.0.0.1:{bot_port}"
    wait_http(f"{bot}/readyz", 60, "oor-bot")
    return bot, emu, proc.pid


def wait_idle(db_url: str, timeout: float = 120) -> None:
    """Until the bot's start-up work is done: on a fresh database the weekly digest's first
    check posts last week's digest (with its chart) through the outbox. Load measured on
    top of that would measure that instead."""
    deadline = time.monotonic() + timeout
    while query(db_url, "SELECT count(*) FROM job WHERE state = 'pending'")[0][0]:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the bot's outbox is not idle after {timeout:.0f}s")
        time.sleep(0.2)


# -- load ----------------------------------------------------------------------------------
def make_event(i: int, groups: int, run: str) -> Json:
    g = i % groups if groups else i
    event: Json = {
        "id": f"{run}-{i}",
        "type": TYPES[g % len(TYPES)],
        "title": f"Alipay channel blocked on merchant M-{g:05d}",
        "severity": "sev2",
        "source": "payment-monitor",
        "url": "https://grafana.example.com/d/payments",
        "details": {"payment_method": "alipay", "merchant_id": f"M-{g:05d}", "amount": "1234.50",
                    "currency": "CNY", "affected_transactions": 57, "error_code": "BLOCKED"},
    }  # fmt: skip
    if groups:
        event["group_key"] = f"{run}-group-{g}"
    return event


async def fire(url: str, n: int, rate: float, conns: int, groups: int) -> Json:
    """Open loop: request i is due at t0 + i/rate whatever happened to the earlier ones."""
    run, signer = uuid.uuid4().hex[:8], Webhook(SECRET)
    lat: list[float] = []
    by_second: dict[int, list[float]] = {}  # second of the run -> latencies of requests due then
    statuses: dict[str, int] = {}
    outcomes: dict[str, int] = {}
    loop = asyncio.get_running_loop()
    timeout = aiohttp.ClientTimeout(total=15)
    connector = aiohttp.TCPConnector(limit=conns)

    async def one(session: aiohttp.ClientSession, i: int, due: float) -> None:
        body = json.dumps(make_event(i, groups, run))
        msg_id, now = f"msg_{run}_{i}", datetime.now(UTC)
        headers = {
            "content-type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signer.sign(msg_id, now, body),
        }
        try:
            async with session.post(url, data=body, headers=headers) as resp:
                answer = await resp.json(content_type=None)
                key = str(resp.status)
                if resp.status == 202 and isinstance(answer, dict) and "status" in answer:
                    outcome = str(answer.get("status"))
                    outcomes[outcome] = outcomes.get(outcome, 0) + 1
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            key = type(exc).__name__
        statuses[key] = statuses.get(key, 0) + 1
        lat.append(loop.time() - due)  # from when it was due: no coordinated omission
        by_second.setdefault(int(due - t0), []).append(lat[-1])

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        t0 = loop.time() + 0.05
        tasks = []
        for i in range(n):
            due = t0 + i / rate
            if due > loop.time():
                await asyncio.sleep(due - loop.time())
            tasks.append(asyncio.create_task(one(session, i, due)))
        sent_lag = loop.time() - (t0 + (n - 1) / rate)
        _done, pending = await asyncio.wait(tasks, timeout=30)
        for task in pending:
            task.cancel()
        elapsed = loop.time() - t0
    lat.sort()
    ok = statuses.get("202", 0)
    # Where the tail comes from: a stall (one slow second) or queueing (every second).
    worst = {s: round(1000 * max(v), 1) for s, v in sorted(by_second.items())}

    def pct(p: float) -> float:
        return round(1000 * lat[min(len(lat) - 1, math.ceil(p * len(lat)) - 1)], 1) if lat else 0

    return {
        "sent": n, "ok": ok, "errors": n - ok, "statuses": statuses, "outcomes": outcomes,
        "eps": round(ok / elapsed, 1), "p50": pct(0.5), "p90": pct(0.9), "p99": pct(0.99),
        "max": pct(1.0), "client_lag_ms": round(1000 * max(0.0, sent_lag), 1),
        "elapsed_s": round(elapsed, 2), "max_by_second": worst,
    }  # fmt: skip


def sustained(args: argparse.Namespace, db: str, mix: str, tmp: Path, workers: int = 1) -> Json:
    n = int(args.rate * args.seconds)
    groups = args.groups if mix == "grouped" else 0
    with ExitStack() as stack:
        if db == "bare":
            port = free_port()
            cmd = [*SELF, "_bare", str(port)]
            pid = stack.enter_context(process("bare", cmd, clean_env(), tmp)).pid
            url = f"http://127.0.0.1:{port}"
            wait_http(f"{url}/webhooks/oor", 20, "bare app", expect=405)
        else:
            db_url = stack.enter_context(database(db, tmp))
            url, emu, pid = bot_stack(stack, db_url, tmp, workers)
            wait_idle(db_url)
            # Channels follow at Slack's pace: Tier 2, 20 conversations.create a minute
            # (tests/fixtures/slack_methods/methods/conversations.create.json).
            body = {"method": "conversations.create", "calls": 20, "per_seconds": 60}
            httpx.post(f"{emu}/_emulator/rate_limits", json=body, timeout=5).raise_for_status()
        load1, cpu0, idle_mb = os.getloadavg()[0], cpu_seconds(pid), memory_mb(pid)
        result = asyncio.run(fire(f"{url}/webhooks/oor", n, args.rate, args.conns, groups))
        cpu = 1000 * (cpu_seconds(pid) - cpu0) / max(1, result["ok"])
        result |= {"cpu_ms_per_ev": round(cpu, 2), "load1_before": load1}
        result |= {"rss_idle_mb": idle_mb, "rss_peak_mb": memory_mb(pid, "VmHWM")}
        if db == "bare":
            return {"target": "bare", "mix": mix, **result}
        stored = query(db_url, "SELECT count(*) FROM event")[0][0]
        backlog = query(db_url, "SELECT count(*) FROM job WHERE state = 'pending'")[0][0]
        result |= {"stored": stored, "stored_ok": stored == result["ok"], "jobs_pending": backlog}
        target = f"bot/{db}" + (f"/w{workers}" if workers > 1 else "")
        return {"target": target, "mix": mix, "workers": workers, **result}


def storm(args: argparse.Namespace, db: str, tmp: Path) -> Json:
    n, window = args.storm, args.storm_window
    limit = 20  # Slack Tier 2: 20 calls per minute
    with ExitStack() as stack:
        db_url = stack.enter_context(database(db, tmp))
        bot, emu, _pid = bot_stack(stack, db_url, tmp)
        wait_idle(db_url)
        body = {"method": "conversations.create", "calls": limit, "per_seconds": window}
        httpx.post(f"{emu}/_emulator/rate_limits", json=body, timeout=5).raise_for_status()
        start = time.monotonic()
        sent = asyncio.run(fire(f"{bot}/webhooks/oor", n, args.rate, args.conns, 0))
        accepted_s = time.monotonic() - start
        deadline = start + math.ceil(n / limit) * window + 180
        channels = boards = 0
        channels_s = None
        while time.monotonic() < deadline:
            state = httpx.get(f"{emu}/_emulator/state", timeout=30).json()
            oor = [c for c in state["channels"] if c["name"].startswith("oor-")]
            channels, boards = len(oor), sum(1 for c in oor if board_pinned(c))
            if channels >= n and channels_s is None:
                channels_s = round(time.monotonic() - start, 1)
            if channels >= n and boards >= n:
                break
            time.sleep(1.0)
        done_s = time.monotonic() - start
        creates = httpx.get(
            f"{emu}/_emulator/calls", params={"method": "conversations.create"}, timeout=30
        ).json()
        rows = query(db_url, "SELECT count(*), count(channel_id), count(board_ts) FROM incident")
        created = sum(1 for c in creates if c["ok"])
        limited = sum(1 for c in creates if c["http_status"] == 429)
        result = {
            "n": n, "window_s": window, "accepted": sent["ok"], "accept_s": round(accepted_s, 2),
            "all_channels_s": channels_s, "all_boards_s": round(done_s, 1),
            "channels": channels, "boards": boards, "creates_ok": created, "creates_429": limited,
            "create_calls": len(creates), "incidents_db": list(rows[0]),
            "ideal_s": (math.ceil(n / limit) - 1) * window,
        }  # fmt: skip
        result["ok"] = sent["ok"] == n and channels == boards == created == n
        return result


def board_pinned(channel: Json) -> bool:
    """Exactly one pin, and it is the bot's status board (a message with blocks)."""
    pins = {p["ts"] for p in channel["pins"]}
    pinned = [m for m in channel["messages"] if m["ts"] in pins]
    return len(pins) == 1 and len(pinned) == 1 and bool(pinned[0].get("blocks"))


# -- report --------------------------------------------------------------------------------
def machine() -> Json:
    def field(path: str, key: str) -> str:
        lines = Path(path).read_text().splitlines()
        return next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith(key)), "?")

    ram = round(int(field("/proc/meminfo", "MemTotal").split()[0]) / 2**20, 1)
    return {
        "cpu": field("/proc/cpuinfo", "model name"), "cores": os.cpu_count(), "ram_gib": ram,
        "python": platform.python_version(), "postgres": pg_version(),
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
    }  # fmt: skip


def pg_version() -> str:
    """The server's version, or why PostgreSQL cannot be used (starts with "unavailable")."""
    try:
        with psycopg.connect(PG_DSN, connect_timeout=3) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            return str(row[0]) if row else "?"
    except Exception as exc:
        return f"unavailable ({type(exc).__name__}: {str(exc).strip().splitlines()[0][:80]})"


def print_table(runs: list[Json]) -> None:
    head = f"{'target':<17}{'mix':<9}{'sent':>6}{'202':>6}{'err':>5}{'ev/s':>8}"
    head += f"{'p50':>8}{'p90':>8}{'p99':>8}{'max':>8}{'cpu/ev':>8}"
    head += f"{'stored':>7}{'jobs':>6}{'load':>6}"
    print("\n" + head + "\n" + "-" * len(head))
    for r in runs:
        print(
            f"{r['target']:<17}{r['mix']:<9}{r['sent']:>6}{r['ok']:>6}{r['errors']:>5}"
            f"{r['eps']:>8}{r['p50']:>8}{r['p90']:>8}{r['p99']:>8}{r['max']:>8}"
            f"{r['cpu_ms_per_ev']:>8}{r.get('stored', '-')!s:>7}{r.get('jobs_pending', '-')!s:>6}"
            f"{r['load1_before']:>6.1f}"
        )
    for r in runs:
        worst = " ".join(f"{ms:g}" for ms in r["max_by_second"].values())
        print(f"{r['target']} {r['mix']}: max latency (ms) of each second: {worst}")
    # Each bot run against the bare run of the same round (the machine's load moves).
    bare = {(r.get("round", 0), r["mix"]): r for r in runs if r["target"] == "bare"}
    for r in runs:
        b = bare.get((r.get("round", 0), r["mix"]))
        if r["target"] != "bare" and b and b["p50"]:
            print(
                f"{r['target']} {r['mix']} / bare: ev/s x{r['eps'] / b['eps']:.2f}, "
                f"p50 x{r['p50'] / b['p50']:.1f}, p99 x{r['p99'] / max(b['p99'], 0.1):.1f}, "
                f"CPU/event x{r['cpu_ms_per_ev'] / max(b['cpu_ms_per_ev'], 0.01):.1f}"
            )


def print_medians(runs: list[Json]) -> None:
    """Per target and mix: the median of the runs and their spread (min-max)."""
    print("\nmedians of the runs (spread min-max), load at each start:")
    groups: dict[tuple[str, str], list[Json]] = {}
    for r in runs:
        groups.setdefault((r["target"], r["mix"]), []).append(r)
    for (target, mix), rs in groups.items():

        def col(key: str, rs: list[Json] = rs) -> str:
            values = sorted(float(r[key]) for r in rs)
            return f"{statistics.median(values):g} ({values[0]:g}-{values[-1]:g})"

        loads = " ".join(f"{r['load1_before']:.1f}" for r in rs)
        bare = [float(r["cpu_ms_per_ev"]) for r in runs if (r["target"], r["mix"]) == ("bare", mix)]
        if bare and target != "bare":
            cpu = statistics.median(float(r["cpu_ms_per_ev"]) for r in rs)
            loads += f"; CPU/event x{cpu / max(statistics.median(bare), 0.01):.1f} bare"
        memory = f", RSS idle {col('rss_idle_mb')} peak {col('rss_peak_mb')} MB"
        print(
            f"{target} {mix}: ev/s {col('eps')}, p50 {col('p50')}, p99 {col('p99')} ms, "
            f"CPU/event {col('cpu_ms_per_ev')} ms, errors {col('errors')}"
            f"{memory if target != 'bare' else ''}; load {loads}"
        )


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] in ("_emulator", "_bare"):
        (serve_emulator if sys.argv[1] == "_emulator" else serve_bare)(int(sys.argv[2]))
        return 0
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    p.add_argument("--seconds", type=float, default=20.0, help="sustained run length")
    p.add_argument("--rate", type=float, default=300.0, help="target events per second")
    p.add_argument("--conns", type=int, default=64, help="max concurrent connections")
    p.add_argument("--groups", type=int, default=50, help="group keys in the grouped mix")
    p.add_argument("--mix", choices=["grouped", "distinct", "both"], default="both")
    p.add_argument("--storm", type=int, default=200, help="distinct events; 0 skips the storm")
    p.add_argument("--storm-window", type=float, default=60.0, help="Slack's minute, seconds")
    p.add_argument("--storm-db", choices=["sqlite", "postgres"], default="postgres")
    p.add_argument("--no-load", action="store_true", help="only the storm")
    p.add_argument(
        "--workers", type=lambda v: [int(n) for n in v.split(",")], default=[1],
        help="server processes of the bot on PostgreSQL, comma-separated to compare: 1,2",
    )  # fmt: skip
    p.add_argument("--runs", type=int, default=1, help="repeat every row; medians printed")
    args = p.parse_args()
    if not (1 <= args.rate <= 5000 and 0 < args.seconds <= 600 and 1 <= args.conns <= 1000):
        p.error("bounds: 1 <= rate <= 5000, 0 < seconds <= 600, 1 <= conns <= 1000")
    if not (0 <= args.storm <= 2000 and 1 <= args.storm_window <= 600):
        p.error("bounds: 0 <= storm <= 2000, 1 <= storm-window <= 600")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks

    info = machine()
    print(f"machine: {info['cpu']} | {info['cores']} cores | {info['ram_gib']} GiB RAM | "
          f"Python {info['python']} | PostgreSQL {info['postgres']}")  # fmt: skip
    if float(info["loadavg"][0]) > (os.cpu_count() or 1) / 2:
        print(f"WARNING: the machine is busy (load {info['loadavg'][0]}): figures will be noisy")
    no_pg = info["postgres"].startswith("unavailable")
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    if "postgres" in dbs and no_pg:
        print(f"skipping PostgreSQL: {PG_DSN} {info['postgres']}")
        dbs.remove("postgres")
    mixes = ["grouped", "distinct"] if args.mix == "both" else [args.mix]
    runs: list[Json] = []
    storm_result: Json | None = None
    with tempfile.TemporaryDirectory(prefix="oor-bench-") as tmpdir:
        tmp = Path(tmpdir)
        try:
            for round_ in range(args.runs):
                for target in [] if args.no_load else ["bare", *dbs]:
                    for workers in [1] if target in ("bare", "sqlite") else args.workers:
                        for mix in mixes:
                            print(f"load: {target} w{workers} {mix}, {args.rate:g}/s "
                                  f"for {args.seconds:g}s ...")  # fmt: skip
                            run = sustained(args, target, mix, tmp, workers)
                            runs.append(run | {"round": round_})
            if runs:
                print_table(runs)
                if args.runs > 1:
                    print_medians(runs)
            storm_db = "sqlite" if no_pg else args.storm_db
            if args.storm:
                scaled = "Slack's real minute" if args.storm_window == 60 else "SCALED"
                limit = f"20 per {args.storm_window:g}s ({scaled})"
                print(f"\nstorm: {args.storm} distinct events on {storm_db}, "
                      f"conversations.create limited to {limit} ...")  # fmt: skip
                storm_result = storm(args, storm_db, tmp)
                print("storm: " + ", ".join(f"{k}={v}" for k, v in storm_result.items()))
        except KeyboardInterrupt:
            print("interrupted: stopping subprocesses")
            return 130
    print(json.dumps({"machine": info, "runs": runs, "storm": storm_result}))
    failed = any(not r.get("stored_ok", True) or r["errors"] for r in runs)
    return 1 if failed or (storm_result and not storm_result["ok"]) else 0


if __name__ == "__main__":
    sys.exit(main())
