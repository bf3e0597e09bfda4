"""Print the weekly review digest (and claim it for posting).

Prints the digest of any ISO week (default: the previous one, in the plan's time zone) and
writes its chart PNG (default ``digest-<week>.png``). The same code as the scheduled job.

Without ``--dry-run`` the week is also *claimed* for posting, through the same
``digest_run`` claim the scheduler uses: the outbox job is enqueued and the running bot's
worker posts it to the review channel. A week already claimed (by the schedule or an
earlier command) is not posted again; the command says so and exits with 1.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from pathlib import Path
from typing import Any

from bot.digest.figures import compute_digest
from bot.digest.render import render_digest
from bot.digest.schedule import IsoWeek, claim, claimed_run
from bot.digest.views import SLACK_STYLE
from bot.domain.clock import Clock
from bot.domain.plan import Plan
from bot.storage.db import Database


def _week(text: str) -> IsoWeek:
    try:
        return IsoWeek.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_digest_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "digest",
        help="print (and queue for posting) the weekly review digest",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--week", type=_week, help="ISO week, e.g. 2026-W47 (default: the previous week)"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="only print and draw; do not claim or post"
    )
    parser.add_argument("--chart", type=Path, help="where to write the PNG (digest-<week>.png)")
    return parser


def run_digest(args: argparse.Namespace, db: Database, plan: Plan, clock: Clock) -> int:
    from bot.digest.chart import render_chart  # matplotlib loads only for this command

    now = clock.now()
    week: IsoWeek = args.week or IsoWeek.containing(now, plan.tz).previous()
    with db.session() as session:
        digest = compute_digest(session, plan, week)
    print(render_digest(digest, plan, SLACK_STYLE), end="")  # what Slack will show
    chart: Path = args.chart or Path(f"digest-{week}.png")
    chart.write_bytes(render_chart(digest.current))
    print(f"\nchart: {chart}")
    if args.dry_run:
        return 0
    if not plan.review_channel:
        print("oor-bot: the plan has no review_channel to post the digest to", file=sys.stderr)
        return 2
    owner = f"cli:{socket.gethostname()}:{os.getpid()}"
    if claim(db, week, now=now, owner=owner, manual=True):
        print(f"queued: the bot posts the {week} digest to {plan.review_channel}")
        return 0
    run = claimed_run(db, week)
    when = run.claimed_at.isoformat() if run else "?"
    print(
        f"oor-bot: the {week} digest was already claimed ({when}, {run.claimed_by if run else '?'})"
        "; not posting it again",
        file=sys.stderr,
    )
    return 1
