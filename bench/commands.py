"""Slash-command benchmark: how fast `oor-bot serve` acknowledges `/oor` under load.

Sixteen client connections send signed `/oor` commands (a mix of state-changing and
read-only ones) to `POST /slack/events` of the bot, then of a bare Bolt app on the same
server stack that only acks. The ack time is the HTTP response time: Slack's 3-second
deadline is on it. Every reply the bot sends afterwards through the `response_url` must
reach the Slack emulator. See bench/README.md, section "Commands".
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import math
import random
import secrets
import signal
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import httpx
import ingest  # bench/ingest.py: subprocesses, fresh databases, the machine description

SIGNING_SECRET = "bench-signing-secret"
WEBHOOK_TOKEN = "bench-webhook-token"
BOT_TOKEN = "xoxb-test"  # bot.sandbox.emulator.Emulator's default bot token
USERS = (("U01ALICE", "alice"), ("U02BOB", "bob"), ("U03CAROL", "carol"))  # responders
RESPONDERS = {"U01ALICE", "U02BOB", "U03CAROL", "U05ERIN"}
TYPES = ("payment_failure", "transaction_interruption", "amount_error", "system_crash")
FAILED_PREFIX = "⚠️ Something went wrong"
BUSY_MARK = b"too busy"  # bot.slack.replies.BUSY, answered in the ack: nothing was done
# (text, weight): 7 of 11 change the incident, 4 only read.
MIX = (("ack", 1), ("note bench note {i}", 2), ("investigate bench finding {i}: timeouts", 2),
       ("severity sev2", 1), ("record amount={i}.50 currency=CNY", 1), ("status", 2),
       ("timeline", 1), ("help", 1))  # fmt: skip
Json = dict[str, Any]


# -- the bare app (`python bench/commands.py --serve-bare PORT`) ---------------------------
def serve_bare(port: int) -> None:
    """A Bolt AsyncApp built like the bot's, whose `/oor` only acks, on the same stack."""
    import uvicorn
    from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
    from slack_bolt.async_app import AsyncAck
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from bot.slack.bolt_app import build_bolt_app

    bolt = build_bolt_app(
        token=BOT_TOKEN, signing_secret=SIGNING_SECRET, api_url="http://127.0.0.1:9/api/"
    )

    @bolt.command("/oor")
    async def oor(ack: AsyncAck) -> None:
        await ack()

    handler = AsyncSlackRequestHandler(bolt)

    async def events(request: Request) -> Response:
        return await handler.handle(request)

    app = Starlette(routes=[Route("/slack/events", events, methods=["POST"])])
    # The same uvicorn settings as bot.server.serve.
    uvicorn.run(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="on"
    )


# -- setup ----------------------------------------------------------------------------------
def start_emulator(stack: ExitStack, tmp: Path) -> str:
    """bench/ingest.py's emulator: the plan's people, bot token xoxb-test."""
    port = ingest.free_port()
    stack.enter_context(
        ingest.process("emulator", [*ingest.SELF, "_emulator", str(port)], ingest.clean_env(), tmp)
    )
    url = f"http://127.0.0.1:{port}"
    ingest.wait_http(f"{url}/_emulator/state", 20, "Slack emulator")
    return url


def start_bot(
    stack: ExitStack, emu: str, db_url: str, tmp: Path, workers: int = 1
) -> tuple[str, int]:
    """`oor-bot serve` with `workers` processes (OOR_WORKERS; unset, PostgreSQL would get
    one per core)."""
    port = ingest.free_port()
    env = ingest.clean_env(
        SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=f"{emu}/api/", OOR_DATABASE_URL=db_url, OOR_WEBHOOK_TOKEN=WEBHOOK_TOKEN,
        OOR_PLAN=str(ingest.ROOT / "plan.example.yaml"), OOR_PORT=str(port),
        OOR_LOG_LEVEL="warning", OOR_WORKERS=str(workers),
    )  # fmt: skip
    proc = stack.enter_context(
        ingest.process("bot", [str(ingest.BIN / "oor-bot"), "serve"], env, tmp)
    )
    url = f"http://127.0.0.1:{port}"
    ingest.wait_http(f"{url}/readyz", 60, "oor-bot")
    return url, proc.pid


def start_bare(stack: ExitStack, tmp: Path) -> tuple[str, int]:
    port = ingest.free_port()
    cmd = [sys.executable, str(Path(__file__).resolve()), "--serve-bare", str(port)]
    proc = stack.enter_context(ingest.process("bare", cmd, ingest.clean_env(), tmp))
    url = f"http://127.0.0.1:{port}"
    ingest.wait_http(f"{url}/slack/events", 20, "bare Bolt app", expect=405)
    return url, proc.pid


def open_incidents(bot: str, emu: str, n: int, timeout: float) -> list[tuple[str, str]]:
    """Open n incidents by webhook; (channel id, name) once each is set up in Slack."""
    headers = {"authorization": f"Bearer {WEBHOOK_TOKEN}"}
    run = secrets.token_hex(4)
    for i in range(n):
        details = {"payment_method": "alipay", "amount": "1234.50", "currency": "CNY"}
        title = f"Bench incident {i}: Alipay channel blocked"
        event = {"id": f"cmd-{run}-{i}", "type": TYPES[i % len(TYPES)], "severity": "sev3",
                 "title": title, "details": details}  # fmt: skip
        answer = httpx.post(f"{bot}/webhooks/oor", json=event, headers=headers, timeout=10)
        if answer.status_code != 202:
            raise RuntimeError(f"webhook answered {answer.status_code}: {answer.text}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = httpx.get(f"{emu}/_emulator/state", timeout=10).json()
        ready = [
            (c["id"], c["name"])
            for c in state["channels"]
            if c["name"].startswith("oor-") and c["pins"] and set(c["members"]) >= RESPONDERS
        ]
        if len(ready) >= n:
            return ready
        time.sleep(0.5)
    raise RuntimeError(f"{n} incident channels not ready after {timeout:.0f}s")


# -- load -----------------------------------------------------------------------------------
def slash_body(text: str, channel: tuple[str, str], user: tuple[str, str], url: str) -> str:
    """The form Slack POSTs for a slash command."""
    return urlencode(
        {
            "token": "unused-verification-token", "team_id": "T0OOR",
            "team_domain": "oor-sandbox", "channel_id": channel[0], "channel_name": channel[1],
            "user_id": user[0], "user_name": user[1], "command": "/oor", "text": text,
            "api_app_id": "A0OORBOT", "is_enterprise_install": "false", "response_url": url,
            "trigger_id": f"{random.randint(1, 9999)}.{int(time.time())}.{secrets.token_hex(10)}",
        }
    )  # fmt: skip


def signed_headers(body: str) -> dict[str, str]:
    """x-slack-signature: v0= HMAC-SHA256 of `v0:{timestamp}:{body}` with the signing secret."""
    ts = str(int(time.time()))
    digest = hmac.new(SIGNING_SECRET.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256)
    return {
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": ts,
        "x-slack-signature": f"v0={digest.hexdigest()}",
    }


async def load(
    target: str, emu: str, channels: list[tuple[str, str]], args: argparse.Namespace
) -> Json:
    """`conns` workers; each sends its next command when the last is acked (closed loop)
    or, with --rate, when it is due (open loop: latency counts from the due time)."""
    texts = [text for text, weight in MIX for _ in range(weight)]
    lat: list[float] = []
    statuses: dict[str, int] = {}
    busy = [0]
    sent_at: dict[str, float] = {}  # response_url token -> wall time sent (reply expected)
    loop = asyncio.get_running_loop()
    timeout = aiohttp.ClientTimeout(total=10)
    next_i = iter(range(args.requests))
    async with (
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=args.conns)) as bot,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=args.conns)) as control,
    ):
        start, cpu0 = loop.time(), time.process_time()
        stop_at = start + args.seconds

        async def worker(w: int) -> None:
            rng = random.Random(w)
            while loop.time() < stop_at and (i := next(next_i, None)) is not None:
                text = rng.choice(texts).format(i=i)
                channel, user = rng.choice(channels), rng.choice(USERS)
                # Not timed: a fresh response_url from the emulator, as Slack makes one.
                body = {"channel_id": channel[0], "user_id": user[0]}
                async with control.post(f"{emu}/_emulator/response_urls", json=body) as resp:
                    url = str((await resp.json())["url"])
                form, t0 = slash_body(text, channel, user, url), loop.time()
                if args.rate:
                    t0 = start + i / args.rate
                    await asyncio.sleep(max(0.0, t0 - loop.time()))
                wall = time.time()
                try:
                    async with bot.post(
                        f"{target}/slack/events",
                        data=form, headers=signed_headers(form), timeout=timeout,
                    ) as resp:  # fmt: skip
                        content, key = await resp.read(), str(resp.status)
                except (aiohttp.ClientError, TimeoutError) as exc:
                    content, key = b"-", type(exc).__name__
                lat.append(loop.time() - t0)
                statuses[key] = statuses.get(key, 0) + 1
                busy[0] += BUSY_MARK in content
                if key == "200" and not content and not text.startswith("help"):
                    sent_at[url.rsplit("/", 1)[1]] = wall  # the answer follows

        await asyncio.gather(*(worker(w) for w in range(args.conns)))
        elapsed, client_cpu = loop.time() - start, time.process_time() - cpu0
    ok = statuses.get("200", 0)
    return {
        "requests": len(lat), "ok": ok, "errors": len(lat) - ok, "statuses": statuses,
        "rps": round(len(lat) / elapsed, 1), **percentiles(lat), "elapsed_s": round(elapsed, 2),
        "client_cpu_pct": round(100 * client_cpu / elapsed), "sent_at": sent_at, "busy": busy[0],
    }  # fmt: skip


def percentiles(seconds: list[float], prefix: str = "") -> dict[str, float]:
    lat = sorted(seconds)

    def pct(p: float) -> float:
        return round(1000 * lat[max(0, math.ceil(p * len(lat)) - 1)], 1) if lat else 0.0

    return {f"{prefix}{k}": pct(p) for k, p in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99),
                                                 ("max", 1.0))}  # fmt: skip


def drain(emu: str, sent_at: dict[str, float], timeout: float) -> Json:
    """Wait for the replies due through response_urls; count them, their failures, and time
    them from the sending of the command to their arrival at the emulator."""
    start = time.monotonic()
    while True:
        posts = httpx.get(f"{emu}/_emulator/state", timeout=30).json()["responses"]
        if len(posts) >= len(sent_at) or time.monotonic() - start > timeout:
            break
        time.sleep(1.0)
    failed = sum(1 for p in posts if str(p.get("text", "")).startswith(FAILED_PREFIX))
    delays = [p["at"] - sent_at[p["token"]] for p in posts if p["token"] in sent_at]
    arrived = {p["token"] for p in posts}
    return {
        "expect_replies": len(sent_at), "replies": len(posts), "replies_failed": failed,
        "replies_lost": len(set(sent_at) - arrived), "drain_s": round(time.monotonic() - start, 1),
        **percentiles(delays, "reply_"),
    }  # fmt: skip


def run(target: str, args: argparse.Namespace, tmp: Path, workers: int = 1) -> Json:
    with ExitStack() as stack:
        emu = start_emulator(stack, tmp)
        if target == "bare":
            url, pid = start_bare(stack, tmp)
            channels = [(f"C0BENCH{i:02d}", f"oor-{i}-bench") for i in range(args.incidents)]
        else:
            db_url = stack.enter_context(ingest.database(target, tmp))
            url, pid = start_bot(stack, emu, db_url, tmp, workers)
            channels = open_incidents(url, emu, args.incidents, timeout=120)
            time.sleep(1.0)  # let the channel setup's last board refreshes finish
        load1, cpu0 = float(Path("/proc/loadavg").read_text().split()[0]), ingest.cpu_seconds(pid)
        idle_mb = ingest.memory_mb(pid)
        result = asyncio.run(load(url, emu, channels, args))
        cpu_ms = 1000 * (ingest.cpu_seconds(pid) - cpu0) / max(1, result["requests"])
        result |= {"rss_idle_mb": idle_mb, "rss_peak_mb": ingest.memory_mb(pid, "VmHWM")}
        label = (
            "bare"
            if target == "bare"
            else f"bot/{target}" + (f"/w{workers}" if workers > 1 else "")
        )
        result |= {"target": label,
                   "cpu_ms_per_req": round(cpu_ms, 2), "load1_before": load1}  # fmt: skip
        sent_at = result.pop("sent_at")
        return result | drain(emu, {} if target == "bare" else sent_at, args.drain)


# -- report ---------------------------------------------------------------------------------
def print_table(runs: list[Json]) -> None:
    cols = ("requests", "rps", "p50", "p90", "p99", "max", "errors", "cpu_ms_per_req")
    head = f"{'target':<13}" + "".join(f"{c.removesuffix('_per_req'):>9}" for c in cols)
    head += f"{'replies':>15}{'failed':>7}{'load':>6}"
    print("\n" + head + "\n" + "-" * len(head))
    for r in runs:
        replies = f"{r['replies']}/{r['expect_replies']}"
        print(
            f"{r['target']:<13}" + "".join(f"{r[c]!s:>9}" for c in cols)
            + f"{replies:>15}{r['replies_failed']:>7}{r['load1_before']:>6.1f}"
        )  # fmt: skip
    bares = {r.get("round", 0): r for r in runs if r["target"] == "bare"}
    for r in runs:
        bare = bares.get(r.get("round", 0))
        if bare is None or r is bare:
            continue
        ratio = r["p99"] / max(bare["p99"], 0.1)
        verdict = "MET" if r["p99"] <= 100 and ratio <= 2 else "MISSED"
        print(
            f"{r['target']} / bare: p99 x{ratio:.2f}, p50 x{r['p50'] / max(bare['p50'], 0.1):.2f},"
            f" rps x{r['rps'] / max(bare['rps'], 0.1):.2f} -- target (p99 <= 100 ms and"
            f" <= 2x bare) {verdict}; replies {r['replies']}/{r['expect_replies']} arrived"
            f" ({r['replies_lost']} lost, {r['replies_failed']} failures, {r['busy']} commands"
            f" answered busy in the ack), the last"
            f" {r['drain_s']} s after the load; command to reply p50 {r['reply_p50']} ms,"
            f" p99 {r['reply_p99']} ms, max {r['reply_max']} ms"
        )


def print_medians(runs: list[Json]) -> None:
    """Per target: the median of the runs and their spread (min-max); ratios to the bare
    app are of the medians."""
    print("\nmedians of the runs (spread min-max), load at each start:")
    groups: dict[str, list[Json]] = {}
    for r in runs:
        groups.setdefault(r["target"], []).append(r)
    bare_p99 = statistics.median(float(r["p99"]) for r in groups.get("bare", [{"p99": 0}]))
    for target, rs in groups.items():

        def col(key: str, rs: list[Json] = rs) -> str:
            values = sorted(float(r[key]) for r in rs)
            return f"{statistics.median(values):g} ({values[0]:g}-{values[-1]:g})"

        p99 = statistics.median(float(r["p99"]) for r in rs)
        ratio = f", p99 x{p99 / max(bare_p99, 0.1):.2f} bare" if target != "bare" else ""
        loads = " ".join(f"{r['load1_before']:.1f}" for r in rs)
        print(
            f"{target}: rps {col('rps')}, p50 {col('p50')}, p99 {col('p99')} ms{ratio}, "
            f"CPU/cmd {col('cpu_ms_per_req')} ms, busy {col('busy')}, reply p99"
            f" {col('reply_p99')} ms, lost {col('replies_lost')}, RSS idle {col('rss_idle_mb')}"
            f" peak {col('rss_peak_mb')} MB; load {loads}"
        )


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--serve-bare":
        serve_bare(int(sys.argv[2]))
        return 0
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--db", choices=["sqlite", "postgres", "both"], default="sqlite")
    p.add_argument("--seconds", type=float, default=15.0, help="length of each load run")
    p.add_argument("--requests", type=int, default=100_000, help="stop after M commands")
    p.add_argument("--conns", type=int, default=16, help="concurrent connections (workers)")
    p.add_argument("--incidents", type=int, default=8, help="incident channels to spread over")
    p.add_argument("--drain", type=float, default=300.0, help="max seconds to wait for replies")
    p.add_argument("--rate", type=float, default=0.0, help="commands/s (0: closed loop)")
    p.add_argument("--no-bare", action="store_true", help="skip the bare Bolt app")
    p.add_argument(
        "--workers", type=lambda v: [int(n) for n in v.split(",")], default=[1],
        help="server processes of the bot on PostgreSQL, comma-separated to compare: 1,2",
    )  # fmt: skip
    p.add_argument("--runs", type=int, default=1, help="repeat every row; medians printed")
    args = p.parse_args()
    a = args
    bounds = (0 < a.seconds <= 600, 1 <= a.requests <= 10**6, 1 <= a.conns <= 256,
              1 <= a.incidents <= 50, 0 <= a.drain <= 1800, 0 <= a.rate <= 5000,
              1 <= a.runs <= 20, all(1 <= w <= 8 for w in a.workers))  # fmt: skip
    if not all(bounds):
        p.error("bounds: seconds 0..600, requests 1..1e6, conns 1..256, incidents 1..50, "
                "drain 0..1800, rate 0..5000, runs 1..20, workers 1..8")  # fmt: skip
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks

    info = ingest.machine()
    print(f"machine: {info['cpu']} | {info['cores']} cores | {info['ram_gib']} GiB RAM | "
          f"Python {info['python']} | PostgreSQL {info['postgres']} | "
          f"load {' '.join(info['loadavg'])}")  # fmt: skip
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    if "postgres" in dbs and info["postgres"].startswith("unavailable"):
        print(f"skipping PostgreSQL: {info['postgres']}")
        dbs.remove("postgres")
    runs: list[Json] = []
    with tempfile.TemporaryDirectory(prefix="oor-bench-cmd-") as tmpdir:
        try:
            for round_ in range(args.runs):
                for target in [*dbs, *([] if args.no_bare else ["bare"])]:
                    for workers in args.workers if target == "postgres" else [1]:
                        print(f"load: {target} w{workers}, {args.conns} connections,"
                              f" {args.seconds:g} s ...")  # fmt: skip
                        result = run(target, args, Path(tmpdir), workers)
                        runs.append(result | {"round": round_})
        except KeyboardInterrupt:
            print("interrupted: stopping subprocesses")
            return 130
    print_table(runs)
    if args.runs > 1:
        print_medians(runs)
    print(json.dumps({"bench": "commands", "machine": info, "runs": runs}))
    return 1 if any(r["errors"] or r["replies_lost"] or r["replies_failed"] for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
