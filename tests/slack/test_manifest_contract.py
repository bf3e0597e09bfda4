"""manifest.yml and the code agree; every method the bot calls is a real Slack method."""

from __future__ import annotations

from tests.contract import (
    manifest,
    manifest_bot_scopes,
    methods_called_by_the_bot,
    problems_with_call,
    spec_methods,
)


def test_every_method_the_bot_calls_exists_and_has_a_scope_in_the_manifest() -> None:
    called = methods_called_by_the_bot()
    assert "conversations.create" in called  # the scan finds the calls
    problems = [p for method in sorted(called) for p in problems_with_call(method, {})]
    assert problems == []


def test_every_scope_in_the_manifest_is_needed() -> None:
    needed = {"commands", "users:read"}  # /oor; users:read.email requires users:read
    for method in methods_called_by_the_bot():
        needed |= set(spec_methods()[method]["scopes"]) & manifest_bot_scopes()
    assert manifest_bot_scopes() - needed == set()


def test_manifest_declares_the_command_and_interactivity_on_the_events_endpoint() -> None:
    features = manifest()["features"]
    assert [c["command"] for c in features["slash_commands"]] == ["/oor"]
    assert features["slash_commands"][0]["url"].endswith("/slack/events")
    interactivity = manifest()["settings"]["interactivity"]
    assert interactivity["is_enabled"] and interactivity["request_url"].endswith("/slack/events")


def test_the_contract_check_catches_made_up_methods_and_arguments() -> None:
    assert problems_with_call("conversations.explode", {})
    assert problems_with_call("conversations.create", {"name": "x", "colour": "red"})
    assert problems_with_call("conversations.create", {"name": "x", "is_private": False}) == []
