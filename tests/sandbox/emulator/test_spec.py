"""The emulator's declarations agree with Slack's published spec and newer docs.

Reads only tests/fixtures/slack_web_api (the repository must not depend on /work/shared).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.sandbox.emulator import METHODS, Emulator
from bot.sandbox.emulator.args import Args

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "slack_web_api"
SPEC: dict[str, Any] = json.loads((FIXTURES / "spec_subset.json").read_text())["paths"]
NEWER: dict[str, Any] = json.loads((FIXTURES / "newer_methods.json").read_text())


def operation(method: str) -> dict[str, Any]:
    return next(iter(SPEC[f"/{method}"].values()))


def spec_errors(method: str) -> set[str]:
    schema = operation(method)["responses"]["default"]["schema"]
    return set(schema.get("properties", {}).get("error", {}).get("enum", []))


def test_every_method_is_documented_once() -> None:
    for name in METHODS:
        in_spec = f"/{name}" in SPEC
        in_newer = name in NEWER["methods"]
        assert in_spec != in_newer, name
        if in_newer:
            assert NEWER["methods"][name]["docs"] == f"https://api.slack.com/methods/{name}"
    assert set(NEWER["methods"]) <= set(METHODS)
    assert {p.lstrip("/") for p in SPEC} <= set(METHODS)


@pytest.mark.parametrize("name", sorted(METHODS))
def test_arguments_exist_in_slack_docs(name: str) -> None:
    spec = METHODS[name]
    if f"/{name}" in SPEC:
        documented = {p["name"] for p in operation(name).get("parameters", [])}
        documented |= set(NEWER["newer_arguments"].get(name, {}))
    else:
        documented = set(NEWER["methods"][name]["args"])
    assert set(spec.args) <= documented, set(spec.args) - documented


@pytest.mark.parametrize("name", sorted(METHODS))
def test_error_codes_exist_in_slack_docs(name: str) -> None:
    spec = METHODS[name]
    if f"/{name}" in SPEC:
        documented = spec_errors(name) | set(NEWER["newer_errors"].get(name, {}))
    else:
        documented = set(NEWER["methods"][name]["errors"])
    current = FIXTURES.parent / "slack_methods" / "methods" / f"{name}.json"
    if current.exists():  # Slack's current docs (see test_scopes.py)
        documented |= set(json.loads(current.read_text()).get("errors", {}))
    assert set(spec.errors) <= documented, set(spec.errors) - documented


def test_newer_arguments_are_really_newer() -> None:
    for name, args in NEWER["newer_arguments"].items():
        documented = {p["name"] for p in operation(name).get("parameters", [])}
        assert not set(args) & documented, name
        for link in args.values():
            assert link.startswith(f"https://api.slack.com/methods/{name}")


def test_handlers_cannot_read_undeclared_arguments() -> None:
    args = Args({"channel": "C1", "secret": "x"}, allowed=("channel",))
    assert args.get_str("channel") == "C1"
    with pytest.raises(AssertionError):
        args.get_str("secret")


def test_handlers_only_read_declared_arguments_when_called() -> None:
    """Call every handler with every documented argument set; none may read anything else."""
    emu = Emulator()
    emu.add_user("U01ALICE", "alice", "alice@example.com")
    emu.base_url = "http://emulator.test/"
    for name, spec in METHODS.items():
        result = emu.execute(name, {a: "1" for a in spec.args}, emu.bot_token)
        assert result.status == 200, name
