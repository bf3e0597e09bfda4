"""``oor-bot incidents list`` and ``oor-bot incidents show OOR-42``: the read API in a terminal.

``--json`` prints exactly what the API answers; without it, a table (``list``) or a report
(``show``) with times in the plan's time zone. Exit codes: 0 ok, 1 no such incident, 2 bad
arguments (one line on stderr).
"""

from __future__ import annotations

import argparse
import hmac
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.api.queries import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    IncidentQuery,
    QueryError,
    get_incident,
    list_incidents,
    parse_limit,
    parse_since,
    parse_statuses,
    parse_type,
)
from bot.api.serialize import incident_detail, incident_summary, json_value
from bot.domain.clock import in_zone, utc_offset_label
from bot.domain.incident import IncidentSnapshot, TimelineEntry
from bot.domain.records import is_user_id
from bot.domain.types import (
    IncidentStatus,
    OorType,
    Role,
    Step,
    StepState,
    incident_key,
    looks_like_incident_key,
    parse_incident_key,
)
from bot.storage.db import Database

PROG = "oor-bot"
PRIVATE_TOKEN_ENV = "OOR_PRIVATE_TOKEN"
NamesLookup = Callable[[Iterable[str]], dict[str, str]]
STEP_CHARS = {
    StepState.DONE: "D",
    StepState.IN_PROGRESS: "I",
    StepState.SKIPPED: "S",
    StepState.PENDING: "-",
}
STEP_LEGEND = (
    "steps (respond, record, investigate, resolve, notify, review): "
    "D done, I in progress, S skipped, - pending"
)
TITLE_WIDTH = 50
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def add_incidents_parser(subparsers: Any) -> None:
    """Add ``incidents list`` / ``incidents show`` to an argparse sub-parsers action."""
    incidents = subparsers.add_parser("incidents", help="list and show incidents")
    sub = incidents.add_subparsers(dest="incidents_command", required=True)

    listing = sub.add_parser("list", help="incidents, newest first")
    listing.add_argument(
        "--status",
        help=f"comma list of {', '.join(s.value for s in IncidentStatus)}",
    )
    listing.add_argument("--type", help=" | ".join(t.value for t in OorType))
    listing.add_argument(
        "--since",
        help="ISO 8601 datetime; opened at or after it (no zone given: the plan's time zone)",
    )
    listing.add_argument(
        "--limit", help=f"at most this many, 1..{MAX_LIMIT} (default {DEFAULT_LIMIT})"
    )
    listing.add_argument("--json", action="store_true", help="print the API's JSON")
    _add_private_flag(listing)

    show = sub.add_parser("show", help="one incident in full")
    show.add_argument("id", help="OOR-42 or 42")
    show.add_argument("--json", action="store_true", help="print the API's JSON")
    show.add_argument(
        "--names",
        action="store_true",
        help="show people by name, asked of Slack (needs SLACK_BOT_TOKEN); else by id",
    )
    _add_private_flag(show)


def _add_private_flag(parser: Any) -> None:
    parser.add_argument(
        "--include-private",
        action="store_true",
        help=f"private incidents too: needs {PRIVATE_TOKEN_ENV} equal to OOR_API_PRIVATE_TOKEN",
    )


def _private_allowed(private_token: str | None) -> bool:
    """Whether whoever runs the CLI holds the private token, as a read-API caller must:
    ``OOR_PRIVATE_TOKEN`` in their environment equal to ``OOR_API_PRIVATE_TOKEN``."""
    given = os.environ.get(PRIVATE_TOKEN_ENV, "").strip().encode()
    if not private_token or not private_token.strip() or not given:
        return False
    return hmac.compare_digest(given, private_token.encode())


def run_incidents(
    args: argparse.Namespace,
    db: Database,
    tz: ZoneInfo,
    names: NamesLookup | None = None,
    *,
    private_token: str | None = None,
) -> int:
    """Run ``incidents list|show``; print to stdout; return the exit code. ``names``
    (ids → names, from the chat platform) is asked for the people ``show --names`` shows.
    Private incidents only with ``--include-private`` and the private token
    (bot.domain.privacy)."""
    include_private = bool(getattr(args, "include_private", False))
    if include_private and not _private_allowed(private_token):
        return _usage_error(
            f"--include-private: set {PRIVATE_TOKEN_ENV} to the private token "
            "(OOR_API_PRIVATE_TOKEN where the bot runs)"
        )
    if args.incidents_command == "list":
        try:
            query = replace(_list_query(args, tz), include_private=include_private)
        except QueryError as exc:
            return _usage_error(f"--{exc.field}: {exc.message}")
        with db.session() as session:
            snapshots = list_incidents(session, query)
        if args.json:
            _print_json([incident_summary(s) for s in snapshots])
        else:
            print(format_list(snapshots, tz))
        return 0

    if args.incidents_command == "show":
        number = parse_incident_key(args.id)
        if number is None and looks_like_incident_key(args.id):  # OOR-0, or past the column
            print(f"{PROG}: no incident {args.id.strip()[:24].upper()}", file=sys.stderr)
            return 1
        if number is None:
            return _usage_error(f"{args.id!r} is not an incident id; use OOR-42 or 42")
        with db.session() as session:
            found = get_incident(session, number, include_private=include_private)
        if found is None:
            # A private one is "no incident" too: the same answer as the read API's 404.
            print(f"{PROG}: no incident {incident_key(number)}", file=sys.stderr)
            return 1
        if args.json:
            _print_json(incident_detail(*found))
        else:
            known = names(people_of(*found)) if names and args.names else {}
            print(format_detail(*found, tz=tz, names=known))
        return 0

    return _usage_error(f"unknown incidents command {args.incidents_command!r}")


def _list_query(args: argparse.Namespace, tz: ZoneInfo) -> IncidentQuery:
    return IncidentQuery(
        statuses=parse_statuses(args.status) if args.status is not None else (),
        type=parse_type(args.type) if args.type is not None else None,
        since=parse_since(args.since, default_tz=tz) if args.since is not None else None,
        limit=parse_limit(args.limit) if args.limit is not None else DEFAULT_LIMIT,
    )


def _usage_error(message: str) -> int:
    print(f"{PROG}: {message}", file=sys.stderr)
    return 2


def _print_json(payload: Any) -> None:
    print(json.dumps(payload, indent=2, ensure_ascii=False))


def steps_string(snapshot: IncidentSnapshot) -> str:
    """Six characters, one per step in plan order: ``DDI---``."""
    return "".join(STEP_CHARS[snapshot.step(step).state] for step in Step)


def _local(value: datetime | None, tz: ZoneInfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return "-"
    local = in_zone(value, tz)
    return local.strftime(fmt.replace("%Z", utc_offset_label(local)))


def _line(text: str) -> str:
    """One line: newlines and runs of spaces in stored text collapse to one space."""
    return " ".join(text.split())


def _printable(text: str) -> str:
    """Titles and notes come from webhooks and Slack: drop control characters (terminal
    escape sequences) before they reach a terminal; keep the report's own newlines."""
    return _CONTROL.sub("", text)


def _truncate(text: str, width: int) -> str:
    text = _line(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def format_list(snapshots: Sequence[IncidentSnapshot], tz: ZoneInfo) -> str:
    if not snapshots:
        return "no incidents"
    header = ("ID", f"OPENED ({tz.key})", "SEV", "STATUS", "TYPE", "STEPS", "TITLE")
    rows = [
        (
            s.key,
            _local(s.opened_at, tz),
            s.severity.label,
            s.status.value,
            s.type.value,
            steps_string(s),
            _truncate(s.title, TITLE_WIDTH),
        )
        for s in snapshots
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    lines = [
        "  ".join([*(cell.ljust(w) for cell, w in zip(r[:-1], widths, strict=True)), r[-1]])
        for r in [header, *rows]
    ]
    return _printable("\n".join([*lines, "", STEP_LEGEND]))


def format_detail(
    snapshot: IncidentSnapshot,
    timeline: Sequence[TimelineEntry],
    *,
    tz: ZoneInfo,
    names: Mapping[str, str] | None = None,
) -> str:
    """The report of ``show``. People show by name where ``names`` (id → name) knows
    them, else by id; never as a chat platform's markup."""
    known = names or {}

    def person(user: str) -> str:
        return _line(known.get(user) or user)

    when = "%Y-%m-%d %H:%M:%S %Z"
    s = snapshot
    lines = [
        f"{s.key}  {_line(s.title)}",
        f"  Type:      {s.type.label} ({s.type.value})",
        f"  Severity:  {s.severity.label}",
        f"  Status:    {s.status.value}",
        f"  Opened:    {_local(s.opened_at, tz, when)}",
    ]
    if s.occurred_at:
        lines.append(f"  Occurred:  {_local(s.occurred_at, tz, when)}")
    if s.resolved_at:
        lines.append(f"  Resolved:  {_local(s.resolved_at, tz, when)}")
    if s.closed_at:
        lines.append(f"  Closed:    {_local(s.closed_at, tz, when)}")
    if s.channel_id or s.channel_name:
        name = f"#{s.channel_name}" if s.channel_name else "?"
        lines.append(f"  Channel:   {name} ({s.channel_id or 'not created yet'})")
    source = s.source + (f" / {s.origin}" if s.origin else "")
    lines.append(f"  Source:    {source}; {s.event_count} event(s)")
    if s.group_key:
        lines.append(f"  Group:     {s.group_key}")
    if s.url:
        lines.append(f"  Link:      {s.url}")
    if s.description:
        lines += ["", "Description", *(f"  {line}" for line in s.description.splitlines())]

    facts = _facts(s.details)
    if facts:
        width = max(len(k) for k, _ in facts)
        lines += ["", "Facts", *(f"  {k.ljust(width)}  {v}" for k, v in facts)]

    lines += ["", "Roles"]
    if s.roles:
        lines += [f"  {r.label.ljust(10)} {person(s.roles[r])}" for r in Role if r in s.roles]
    else:
        lines.append("  (none assigned)")

    if s.resolution_summary or s.cause_category:
        lines += ["", "Resolution"]
        if s.cause_category:
            lines.append(f"  Cause:     {s.cause_category.label}")
        if s.resolution_summary:
            lines.append(f"  Summary:   {_line(s.resolution_summary)}")

    lines += ["", "Steps"]
    for step in Step:
        record = s.step(step)
        line = f"  {step.number}. {step.label.ljust(20)} {record.state.value.ljust(12)}"
        who = []
        if record.started_at or record.started_by:
            by = person(record.started_by) if record.started_by else None
            who.append(f"started {_who_when(by, record.started_at, tz)}")
        if record.completed_at or record.completed_by:
            by = person(record.completed_by) if record.completed_by else None
            who.append(f"completed {_who_when(by, record.completed_at, tz)}")
        lines.append((line + " " + "; ".join(who)).rstrip())
        if record.note:
            lines.append(f"       note: {_line(record.note)}")

    lines += ["", "Timeline"]
    if not timeline:
        lines.append("  (empty)")
    actor_width = max((len(person(e.actor)) for e in timeline), default=0)
    for entry in timeline:
        lines.append(
            f"  {_local(entry.at, tz)}  {person(entry.actor).ljust(actor_width)}"
            f"  [{entry.kind}] {_line(entry.said.plain(known))}"
        )
    return _printable("\n".join(lines))


def people_of(snapshot: IncidentSnapshot, timeline: Sequence[TimelineEntry]) -> list[str]:
    """The ids of everyone the report shows: role holders, step owners, the timeline's
    actors and the people its entries name."""
    found = [*snapshot.roles.values()]
    for record in snapshot.steps:
        found += [u for u in (record.started_by, record.completed_by) if u]
    for entry in timeline:
        found += [entry.actor, *entry.said.people()]
    return [u for u in dict.fromkeys(found) if is_user_id(u)]


def _who_when(who: str | None, at: datetime | None, tz: ZoneInfo) -> str:
    parts = []
    if who:
        parts.append(f"by {who}")
    if at:
        parts.append(_local(at, tz))
    return " ".join(parts)


def _facts(details: dict[str, Any]) -> list[tuple[str, str]]:
    """The recorded facts worth showing: empty values are left out, lists joined."""
    out: list[tuple[str, str]] = []
    for key, value in details.items():
        value = json_value(value)
        if value in (None, "", [], {}):
            continue
        if isinstance(value, dict):
            for sub_key, sub_value in value.items():
                if sub_value not in (None, "", [], {}):
                    out.append((f"{key}.{sub_key}", _fact_text(sub_value)))
            continue
        out.append((key, _fact_text(value)))
    return out


def _fact_text(value: Any) -> str:
    if isinstance(value, list):
        return _line(", ".join(str(v) for v in value))
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return _line(str(value))
