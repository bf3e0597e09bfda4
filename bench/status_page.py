"""Status page benchmark: requests/s of ``/status`` and ``summary.json`` served by the bot,
side by side with a bare Starlette endpoint returning the same bytes, in the same run.

    .venv/bin/python bench/status_page.py                 # 3 rounds of 5 s per target
    .venv/bin/python bench/status_page.py --seconds 10 --conns 64 --rounds 5

The bot is ``oor-bot serve`` in sandbox mode (its own process, a fresh SQLite file) with
incidents on the page: six opened through its webhook, three announced through approved
status_page drafts (Chinese and English), one of those resolved. The bare app (its own
process, same uvicorn settings as ``oor-bot serve``) answers the two paths with the bytes
and headers the bot gave. The client (this process, asyncio + aiohttp, keep-alive) runs a
closed loop of ``--conns`` connections per target for ``--seconds``; rounds interleave the
targets so drift in the shared machine's load hits them alike. Reported: the median
requests/s over the rounds and the spread (min–max), and the bot's median as a share of the
bare endpoint's. Every answer must be 200 (or 304 for the revalidating target), else it
counts as an error and the exit status is 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from typing import Any

import aiohttp
import httpx

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SELF = [sys.executable, str(Path(__file__).resolve())]
SANDBOX_TOKEN = "sandbox-webhook-token"
PATHS = {"page": "/status?lang=en", "summary": "/status/api/v2/summary.json?lang=en"}
KEPT_HEADERS = ("content-type", "etag", "cache-control", "vary", "content-language")


# -- the bare app: `python bench/status_page.py _bare PORT FILE` ----------------------------
def serve_bare(port: int, recorded: Path) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    answers = json.loads(recorded.read_text())

    def endpoint(name: str) -> Any:
        body = answers[name]["body"].encode()
        headers = {k: v for k, v in answers[name]["headers"].items() if k != "content-type"}
        media = answers[name]["headers"]["content-type"]

        async def answer(_request: Request) -> Response:
            return Response(body, media_type=media, headers=headers)

        return answer

    app = Starlette(
        routes=[
            Route("/status", endpoint("page")),
            Route("/status/api/v2/summary.json", endpoint("summary")),
        ]
    )
    uvicorn.run(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="on"
    )


# -- processes ------------------------------------------------------------------------------
def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def process(name: str, cmd: list[str], env: dict[str, str], logdir: Path) -> Iterator[int]:
    log = logdir / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, env=env, cwd=logdir, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield proc.pid
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
            else:
                print(f"  {name} exited {proc.returncode}:\n{log.read_text()[-2000:]}")


def wait_http(url: str, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{what} not ready at {url}")


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OOR_", "SLACK_"))}
    return env | extra


# -- putting incidents on the page ----------------------------------------------------------
def populate(bot: str, db_url: str) -> None:
    events = [
        ("payment_failure", "sev2", "alipay"),
        ("payment_failure", "sev1", "wechat_pay"),
        ("transaction_interruption", "sev2", "unionpay"),
        ("amount_error", "sev3", "card"),
        ("payment_failure", "sev3", "bank_transfer"),
        ("transaction_interruption", "sev3", None),
    ]
    for index, (oor_type, severity, method) in enumerate(events):
        details = {
            "payment_method": method,
            "merchant_id": f"M-{index}",
            "amount": "12.00",
            "currency": "CNY",
        }
        event = {
            "id": f"bench-{index}",
            "type": oor_type,
            "title": f"Bench incident {index}",
            "severity": severity,
            "details": {k: v for k, v in details.items() if v is not None},
        }
        answer = httpx.post(
            f"{bot}/webhooks/oor",
            json=event,
            headers={"authorization": f"Bearer {SANDBOX_TOKEN}"},
            timeout=10,
        )
        assert answer.status_code == 202, answer.text
    # Drafts are approved through the bot's own services on the same database; the
    # serving bot's outbox posts them in its (emulated) Slack.
    from bot.app import create_app
    from bot.config import Settings
    from bot.domain import lifecycle
    from bot.domain.plan_sections import Locale, NotifyChannel

    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=db_url, plan_path=ROOT / "plan.example.yaml", port=free_port()
    )
    app = create_app(settings, start_worker=False)
    drafts = app.wiring.exposed["notifications"] if app.wiring else None
    assert drafts is not None
    wanted = [(NotifyChannel.STATUS_PAGE, Locale.ZH_CN), (NotifyChannel.STATUS_PAGE, Locale.EN)]

    def announce(number: int) -> None:
        incident = app.incidents.get(number)
        assert incident is not None
        for draft in drafts.create(incident, "U03CAROL", wanted).created:
            assert drafts.approve(draft.id, "U02BOB").changed

    for number in (1, 2, 3):
        announce(number)
    for actor, command in (
        ("U01ALICE", lifecycle.acknowledge),
        ("U02BOB", lambda s, a, t: lifecycle.resolve(s, a, t, "fixed")),
    ):
        app.incidents.apply(1, actor, lambda s, t, c=command, a=actor: c(s, a, t))
    announce(1)
    app.db.dispose()


# -- load ----------------------------------------------------------------------------------
async def closed_loop(
    url: str, conns: int, seconds: float, headers: dict[str, str], ok: int
) -> tuple[float, int, int]:
    """``conns`` workers, each sending its next request when the last one answered."""
    done = errors = 0
    stop = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=conns)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal done, errors
            while time.monotonic() < stop:
                try:
                    async with session.get(url, headers=headers) as answer:
                        await answer.read()
                        if answer.status == ok:
                            done += 1
                        else:
                            errors += 1
                except aiohttp.ClientError:
                    errors += 1

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(conns)))
        elapsed = time.monotonic() - started
    return done / elapsed, done, errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--conns", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="oor-bench-status-") as tmpdir, ExitStack() as stack:
        tmp = Path(tmpdir)
        db_url = f"sqlite:///{tmp / 'bench.db'}"
        bot_port, bare_port = free_port(), free_port()
        env = clean_env(
            OOR_DATABASE_URL=db_url,
            OOR_PLAN=str(ROOT / "plan.example.yaml"),
            OOR_PORT=str(bot_port),
            OOR_LOG_LEVEL="warning",
        )
        stack.enter_context(process("bot", [str(BIN / "oor-bot"), "serve"], env, tmp))
        bot = f"http://127.0.0.1:{bot_port}"
        wait_http(f"{bot}/readyz", 60, "oor-bot")
        populate(bot, db_url)
        time.sleep(2)  # the bot's outbox posts the drafts; the page's check runs once a second

        recorded: dict[str, Any] = {}
        for name, path in PATHS.items():
            answer = httpx.get(f"{bot}{path}", timeout=10)
            answer.raise_for_status()
            headers = {k: answer.headers[k] for k in KEPT_HEADERS if k in answer.headers}
            recorded[name] = {"body": answer.text, "headers": headers}
        summary = json.loads(recorded["summary"]["body"])
        print(
            f"page: {len(recorded['page']['body'].encode())} B HTML, summary.json "
            f"{len(recorded['summary']['body'].encode())} B; {len(summary['incidents'])} open "
            f"public incidents, indicator {summary['status']['indicator']}"
        )
        (tmp / "recorded.json").write_text(json.dumps(recorded))
        cmd = [*SELF, "_bare", str(bare_port), str(tmp / "recorded.json")]
        stack.enter_context(process("bare", cmd, clean_env(), tmp))
        bare = f"http://127.0.0.1:{bare_port}"
        wait_http(f"{bare}/status", 30, "bare app")

        etag = recorded["page"]["headers"]["etag"]
        targets = {
            "bot /status": (f"{bot}{PATHS['page']}", {}, 200),
            "bare /status": (f"{bare}/status", {}, 200),
            "bot summary.json": (f"{bot}{PATHS['summary']}", {}, 200),
            "bare summary.json": (f"{bare}/status/api/v2/summary.json", {}, 200),
            "bot /status 304": (f"{bot}{PATHS['page']}", {"if-none-match": etag}, 304),
        }
        rates: dict[str, list[float]] = {name: [] for name in targets}
        errors = 0
        load = os.getloadavg()[0]
        for _ in range(args.rounds):
            for name, (url, headers, ok) in targets.items():
                rate, _done, failed = asyncio.run(
                    closed_loop(url, args.conns, args.seconds, headers, ok)
                )
                rates[name].append(rate)
                errors += failed
        print(
            f"\n{os.cpu_count()} cores, load {load:.2f} at start; {args.rounds} rounds x "
            f"{args.seconds:.0f} s, {args.conns} connections, client in this process\n"
        )
        print(f"{'target':<20} {'median req/s':>12} {'spread':>17} {'vs bare':>8}")
        for name, values in rates.items():
            median = statistics.median(values)
            bare_name = f"bare {name.split(' ', 1)[1]}" if name.startswith("bot ") else None
            share = ""
            if bare_name in rates:
                share = f"{median / statistics.median(rates[bare_name]):.0%}"
            spread = f"{min(values):.0f}–{max(values):.0f}"
            print(f"{name:<20} {median:>12.0f} {spread:>17} {share:>8}")
        print(f"\nerrors: {errors}")
        return 1 if errors else 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "_bare":
        serve_bare(int(sys.argv[2]), Path(sys.argv[3]))
    else:
        sys.exit(main())
