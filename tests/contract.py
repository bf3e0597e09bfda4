"""Keeping the bot (and the emulator it is tested against) honest about Slack's Web API.

Slack's 2020 OpenAPI spec (``tests/fixtures/slack_web_api/spec_subset.json``, MIT) lists
each method's arguments; newer methods and arguments are in ``newer_methods.json`` with
links to Slack's docs. Which scopes a call needs depends on its arguments and target
(``conversations.list types=private_channel`` needs ``groups:read``): the emulator decides
it per call with its rule table, checked against Slack's current per-method docs in
``tests/fixtures/slack_methods`` by tests/sandbox/emulator/test_scopes.py, and records it on
each call; here every recorded need is checked against manifest.yml.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import yaml

from bot.sandbox.emulator import METHODS
from bot.sandbox.emulator.args import Args
from bot.sandbox.emulator.scopes import Needs
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


APP_TOKEN_SCOPES = {"connections:write"}


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


def needed_scopes(method: str, args: dict[str, Any]) -> Needs:
    """What a call with these arguments needs when its target is unknown (a static check):
    the emulator's rule (``bot.sandbox.emulator.methods``), else the spec's list, any one."""
    spec = METHODS.get(method)
    if spec is not None:
        return spec.scopes.needs(None, Args(args, spec.args))
    scopes = tuple(spec_methods().get(method, {}).get("scopes", ()))
    return (scopes,) if scopes else ()


def problems_with_call(method: str, args: dict[str, Any], needed: Needs | None = None) -> list[str]:
    """What is wrong with one call: a made-up method or argument, or a scope it needs (given
    its arguments and, when the emulator recorded them as ``needed``, its target) that
    manifest.yml lacks."""
    known = spec_methods().get(method)
    if known is None:
        return [f"{method}: not a Slack Web API method in the spec or newer_methods.json"]
    problems = [
        f"{method}: argument {name!r} is not in Slack's spec"
        for name in args
        if name not in known["args"]
    ]
    spec = METHODS.get(method)
    # An app-level token (Socket Mode) is made in the app's settings with connections:write,
    # which the README asks for; the manifest's scopes are the bot token's.
    granted = APP_TOKEN_SCOPES if spec and spec.token_type == "app" else manifest_bot_scopes()
    for clause in needed_scopes(method, args) if needed is None else needed:
        if not granted.intersection(clause):
            shown = {k: v for k, v in args.items() if k not in ("blocks", "view", "text")}
            problems.append(
                f"{method} {shown}: needs {' or '.join(clause)}, which manifest.yml lacks"
            )
    return problems
