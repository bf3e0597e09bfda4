"""``oor-bot postmortem OOR-42 [--format md|json] [--version N]``: a stored post-mortem.

``md`` (the default) prints the Markdown document exactly as it was shared; ``json`` its
version, who compiled and published it, the figures it was built from and the Markdown.
Exit codes: 0 ok, 1 no such post-mortem, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from bot.api.serialize import iso, json_value
from bot.domain.types import MAX_ID, incident_key, parse_incident_key
from bot.postmortems import versions_store
from bot.postmortems.model import StoredPostmortem
from bot.storage.db import Database

PROG = "oor-bot"


def add_postmortem_parser(subparsers: Any) -> None:
    """Add ``postmortem`` to an argparse sub-parsers action."""
    parser = subparsers.add_parser("postmortem", help="print an incident's post-mortem")
    parser.add_argument("id", help="OOR-42 or 42")
    parser.add_argument("--format", choices=("md", "json"), default="md", help="default: md")
    parser.add_argument("--version", type=int, help="a stored version (default: the newest)")


def postmortem_json(found: StoredPostmortem, versions: list[int]) -> dict[str, Any]:
    return {
        "incident": found.key,
        "version": found.version,
        "versions": versions,
        "filename": found.filename,
        "compiled_by": found.compiled_by,
        "compiled_at": iso(found.compiled_at),
        "published_by": found.published_by,
        "published_at": iso(found.published_at),
        "file_id": found.file_id,
        "facts": json_value(found.facts),
        "markdown": found.markdown,
    }


def run_postmortem(args: argparse.Namespace, db: Database) -> int:
    number = parse_incident_key(args.id)
    if number is None:
        print(f"{PROG}: {args.id!r} is not an incident id; use OOR-42 or 42", file=sys.stderr)
        return 2
    if args.version is not None and not 1 <= args.version <= MAX_ID:
        print(f"{PROG}: --version: a whole number from 1 to {MAX_ID}", file=sys.stderr)
        return 2
    with db.session() as session:
        found = versions_store.get_postmortem(session, number, args.version)
        versions = versions_store.versions(session, number)
    if found is None:
        which = f" v{args.version}" if args.version is not None else ""
        print(f"{PROG}: no post-mortem{which} of {incident_key(number)}", file=sys.stderr)
        return 1
    if args.format == "json":
        print(json.dumps(postmortem_json(found, versions), indent=2, ensure_ascii=False))
    else:
        sys.stdout.write(found.markdown if found.markdown.endswith("\n") else found.markdown + "\n")
    return 0
