"""The ``oor-bot`` command: ``serve``, ``migrate``, ``plan check PATH``, ``incidents``,
``notify render``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy.exc import OperationalError

from bot.chat.port import DisplayNames
from bot.config import ConfigError, Settings, load_settings, server_processes
from bot.digest.cli import add_digest_parser, run_digest
from bot.domain.clock import SystemClock
from bot.domain.plan import PlanError
from bot.domain.plan_file import load_plan, plan_summary
from bot.incidents_cli import add_incidents_parser, run_incidents
from bot.logging_setup import configure_logging
from bot.notifications.cli import add_notify_parser, run_notify
from bot.postmortems.cli import add_postmortem_parser, run_postmortem
from bot.storage.db import Database


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="oor-bot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser(
        "serve", help="migrate the database and serve Slack, webhooks and health"
    )
    serve.add_argument(
        "--workers",
        type=_positive,
        metavar="N",
        help="server processes sharing the port (OOR_WORKERS; default: one per core on "
        "PostgreSQL, 1 on SQLite)",
    )
    sub.add_parser("migrate", help="bring the database schema up to date")
    plan = sub.add_parser("plan", help="emergency plan tools")
    plan_sub = plan.add_subparsers(dest="plan_command", required=True)
    check = plan_sub.add_parser("check", help="validate an emergency plan file")
    check.add_argument("path")
    add_incidents_parser(sub)
    add_postmortem_parser(sub)
    add_digest_parser(sub)
    add_notify_parser(sub)
    return parser


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {value!r}")
    return int(value)


@contextmanager
def _database(settings: Settings) -> Iterator[Database]:
    db = Database(settings.database_url)
    try:
        yield db
    finally:
        db.dispose()


def _slack_names(settings: Settings) -> DisplayNames | None:
    """People's names from Slack, through the same directory (and cache) the bot uses;
    None without a bot token (the sandbox has no real workspace to ask)."""
    if settings.slack_bot_token is None:
        return None
    from bot.slack.platform import slack_display_names  # imported late: Slack only here

    return slack_display_names(settings)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "plan":
            plan = load_plan(args.path)
            print(f"{args.path}: OK")
            print(plan_summary(plan))
            return 0
        # `serve --workers N` wins over OOR_WORKERS, validated the same way.
        workers = getattr(args, "workers", None)
        settings = load_settings(**({"workers": workers} if workers else {}))
        configure_logging(settings.log_level, settings.log_format)
        if args.command == "incidents":
            with _database(settings) as db:
                names = _slack_names(settings) if getattr(args, "names", False) else None
                private = settings.api_private_token
                return run_incidents(
                    args,
                    db,
                    load_plan(settings.plan_path).tz,
                    names,
                    private_token=private.get_secret_value() if private else None,
                )
        if args.command == "notify":
            plan = load_plan(args.plan or settings.plan_path)
            return run_notify(args, plan, settings.templates_dir)
        if args.command == "postmortem":
            with _database(settings) as db:
                return run_postmortem(args, db)
        if args.command == "digest":
            with _database(settings) as db:
                return run_digest(args, db, load_plan(settings.plan_path), SystemClock())
        from bot import server  # imported late: `plan check` needs none of it

        if args.command == "migrate":
            server.migrate(settings)
            print("database is up to date")
            return 0
        return server.serve(settings, server_processes(settings))
    except ConfigError as exc:
        print(f"oor-bot: {exc}", file=sys.stderr)
        return 2
    except PlanError as exc:
        where = args.path if args.command == "plan" else getattr(args, "plan", None) or "OOR_PLAN"
        print(f"oor-bot: {where}: {exc}", file=sys.stderr)
        return 2
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        print(f"oor-bot: OOR_DATABASE_URL: cannot use the database: {reason}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
