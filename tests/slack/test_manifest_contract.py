"""manifest.yml and the code agree; every method the bot calls is a real Slack method."""

from __future__ import annotations

import copy

import pytest

from bot.sandbox.emulator import METHODS, Emulator
from tests.contract import (
    manifest,
    manifest_bot_scopes,
    methods_called_by_the_bot,
    problems_with_call,
)


def test_every_method_the_bot_calls_exists_and_has_a_scope_in_the_manifest() -> None:
    called = methods_called_by_the_bot()
    assert "conversations.create" in called  # the scan finds the calls
    problems = [p for method in sorted(called) for p in problems_with_call(method, {})]
    assert problems == []


def test_every_scope_in_the_manifest_is_needed() -> None:
    """Each scope is one that some argument or target of a method the bot calls can need
    (the emulator's per-argument rules, bot.sandbox.emulator.methods)."""
    needed = {"commands", "users:read"}  # /oor; users:read.email requires users:read
    for method in methods_called_by_the_bot():
        needed |= METHODS[method].scopes.scopes() & manifest_bot_scopes()
    assert manifest_bot_scopes() - needed == set()


def test_a_call_whose_arguments_need_a_scope_the_manifest_lacks_is_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The bot lists public and private channels (bot/slack/channels.py); Slack wants the
    scope of every listed type (tests/fixtures/slack_methods/NOTES.md)."""
    emu = Emulator(scopes=manifest_bot_scopes())
    listed = emu.execute(
        "conversations.list", {"types": "public_channel,private_channel"}, emu.bot_token
    )
    assert listed.body["ok"], listed.body
    call = emu.calls[-1]
    assert call.needed_scopes == (("channels:read",), ("groups:read",))
    assert problems_with_call(call.method, call.args, call.needed_scopes) == []

    without = copy.deepcopy(manifest())
    without["oauth_config"]["scopes"]["bot"].remove("groups:read")
    monkeypatch.setattr("tests.contract.manifest", lambda: without)
    assert "groups:read" not in manifest_bot_scopes()
    assert problems_with_call(call.method, call.args, call.needed_scopes) == [
        "conversations.list {'types': 'public_channel,private_channel'}: "
        "needs groups:read, which manifest.yml lacks"
    ]
    # Only public channels: channels:read is enough.
    assert problems_with_call("conversations.list", {"types": "public_channel"}) == []
    # A Slack granting exactly the manifest's scopes refuses the call, as real Slack did.
    strict = Emulator(scopes=manifest_bot_scopes())
    refused = strict.execute(
        "conversations.list", {"types": "public_channel,private_channel"}, strict.bot_token
    )
    assert refused.body["error"] == "missing_scope"
    assert refused.body["needed"] == "groups:read"
    assert "channels:read" in refused.body["provided"].split(",")


def test_scopes_that_depend_on_the_target_are_checked_with_the_target() -> None:
    """conversations.history needs the scope of the channel's type: a DM's history needs
    im:history, which the manifest has; a group DM's would need mpim:history, which it has not
    (the bot never reads one)."""
    emu = Emulator(scopes=manifest_bot_scopes())
    emu.add_user("U01ALICE", "alice")
    emu.add_user("U02BOB", "bob")
    dm = emu.execute("conversations.open", {"users": "U01ALICE"}, emu.bot_token).body
    group = emu.execute("conversations.open", {"users": "U01ALICE,U02BOB"}, emu.bot_token).body
    assert group["error"] == "missing_scope" and group["needed"] == "mpim:write"
    history = emu.execute("conversations.history", {"channel": dm["channel"]["id"]}, "xoxb-test")
    assert history.body["ok"], history.body
    call = emu.calls[-1]
    assert call.needed_scopes == (("im:history",),)
    assert problems_with_call(call.method, call.args, call.needed_scopes) == []
    assert problems_with_call(call.method, call.args, (("mpim:history",),)) == [
        f"conversations.history {{'channel': '{dm['channel']['id']}'}}: "
        "needs mpim:history, which manifest.yml lacks"
    ]


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
