"""Keeping the bot (and the emulator it is tested against) honest about Slack's Web API.

Slack's 2020 OpenAPI spec (``tests/fixtures/slack_web_api/spec_subset.json``, MIT) lists
each method's arguments and scopes; newer methods and arguments are in
``newer_methods.json`` with links to Slack's docs. The spec predates granular bot scopes,
so its legacy scope names are mapped to today's bot scopes below.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import yaml

from tests.support import FIXTURES, ROOT

SPEC_DIR = FIXTURES / "slack_web_api"

# https://api.slack.com/scopes — legacy (2020 spec) scope -> granular bot scope.
LEGACY_TO_BOT_SCOPE = {
    "chat:write:bot": "chat:write",
    "chat:write:user": "chat:write",
    "channels:write": "channels:manage",
}
# Methods whose bot scope differs from the spec's legacy list.
METHOD_BOT_SCOPES = {"conversations.join": ["channels:join"]}


@cache
def spec_methods() -> dict[str, dict[str, Any]]:
    paths = json.loads((SPEC_DIR / "spec_subset.json").read_text())["paths"]
    methods: dict[str, dict[str, Any]] = {}
    for path, verbs in paths.items():
        entry = next(iter(verbs.values()))
        scopes = (entry.get("security") or [{}])[0].get("slackAuth", [])
        methods[path.lstrip("/")] = {
            "args": {p["name"] for p in entry.get("parameters", [])},
            "scopes": [LEGACY_TO_BOT_SCOPE.get(s, s) for s in scopes if s != "none"],
        }
    newer = json.loads((SPEC_DIR / "newer_methods.json").read_text())
    for name, info in newer["methods"].items():
        methods[name] = {"args": set(info["args"]) | {"token"}, "scopes": info["bot_scopes"]}
    for name, args in newer["newer_arguments"].items():
        methods[name]["args"] |= set(args)
    for name, scopes in METHOD_BOT_SCOPES.items():
        methods[name]["scopes"] = scopes
    return methods


@cache
def manifest() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "manifest.yml").read_text()))


def manifest_bot_scopes() -> set[str]:
    return set(manifest()["oauth_config"]["scopes"]["bot"])


def methods_called_by_the_bot() -> set[str]:
    """Every ``gateway.call("method", ...)`` in the bot's code (not the emulator's)."""
    found: set[str] = set()
    pattern = re.compile(r'\.call\(\s*"([a-z]+\.[A-Za-z.]+)"')
    for path in (ROOT / "bot").rglob("*.py"):
        if "sandbox" in path.parts:
            continue
        found |= set(pattern.findall(path.read_text()))
    return found


def problems_with_call(method: str, args: dict[str, Any]) -> list[str]:
    known = spec_methods().get(method)
    if known is None:
        return [f"{method}: not a Slack Web API method in the spec or newer_methods.json"]
    problems = [
        f"{method}: argument {name!r} is not in Slack's spec"
        for name in args
        if name not in known["args"]
    ]
    if known["scopes"] and not set(known["scopes"]) & manifest_bot_scopes():
        problems.append(f"{method}: manifest.yml has none of the scopes {known['scopes']}")
    return problems
