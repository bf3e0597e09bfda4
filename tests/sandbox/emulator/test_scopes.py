"""The emulator asks for scopes per argument and per target, the way Slack does.

References (copied into the repository, MIT):
- tests/fixtures/slack_methods/methods/<method>.json: Slack's current docs per method; `scope.bot`
  is every bot scope the method can need, `rate_limits` its tier, `errors` its error codes.
- tests/fixtures/slack_methods/NOTES.md: "a method's scope can depend on its arguments":
  conversations.list with types=private_channel needs groups:read, conversations.create with
  is_private=true needs groups:write.
- Slack's scope families (https://api.slack.com/scopes): channels:* for public channels,
  groups:* for private ones, mpim:* for group DMs, im:* for DMs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.sandbox.emulator import METHODS, Emulator
from bot.sandbox.emulator.methods import ALL_SCOPES

DOCS = Path(__file__).resolve().parents[2] / "fixtures" / "slack_methods" / "methods"
# Implemented, but not among the methods copied from slack-api-ref: their arguments, errors and
# (2020) scopes are checked against tests/fixtures/slack_web_api by test_spec.py.
WITHOUT_CURRENT_DOCS = {"users.list", "pins.list", "chat.getPermalink"}
# Errors every method page lists under "common errors", not in the per-method `errors`.
COMMON_ERRORS = {"invalid_arguments"}
# Errors the current pages no longer list but the 2020 spec or Slack's older pages did
# (test_spec.py checks they are there).
ONLY_IN_OLDER_DOCS = {
    "conversations.history": {"invalid_limit"},
    "conversations.invite": {"too_many_users"},
    "chat.postMessage": {"invalid_attachments", "msg_too_long"},
    "chat.postEphemeral": {"user_not_found"},
}


def docs(method: str) -> dict[str, Any]:
    return dict(json.loads((DOCS / f"{method}.json").read_text()))


def bot_scopes_in_docs(method: str) -> set[str]:
    scope = docs(method).get("scope") or {}
    return set(scope.get("bot", [])) if isinstance(scope, dict) else set()


DOCUMENTED = sorted(set(METHODS) - WITHOUT_CURRENT_DOCS)


def test_every_implemented_method_has_current_docs_or_is_listed() -> None:
    assert {m for m in METHODS if not (DOCS / f"{m}.json").exists()} == WITHOUT_CURRENT_DOCS


@pytest.mark.parametrize("name", DOCUMENTED)
def test_every_scope_a_rule_can_ask_for_is_a_documented_bot_scope(name: str) -> None:
    rule = METHODS[name].scopes
    if METHODS[name].token_type == "app":
        # An app-level token's scope is no bot scope: the page lists none, and NOTES.md
        # (Socket Mode protocol, step 1) names connections:write.
        assert bot_scopes_in_docs(name) == set()
        assert rule.scopes() == {"connections:write"}
        return
    documented = bot_scopes_in_docs(name)
    assert rule.scopes() <= documented, rule.scopes() - documented
    # A method needing no bot scope is documented so, and the other way round.
    assert bool(rule.scopes()) == bool(documented), (rule, documented)


@pytest.mark.parametrize("name", DOCUMENTED)
def test_rate_limit_tier_is_the_documented_one(name: str) -> None:
    assert f"t{METHODS[name].tier}" == docs(name)["rate_limits"]


@pytest.mark.parametrize("name", DOCUMENTED)
def test_error_codes_are_the_documented_ones(name: str) -> None:
    extra = set(METHODS[name].errors) - set(docs(name)["errors"]) - COMMON_ERRORS
    assert extra == ONLY_IN_OLDER_DOCS.get(name, set())


def test_methods_without_current_docs_still_declare_tier_and_scope() -> None:
    # slack-api-ref (not copied): users.list t2 users:read, pins.list t2 pins:read,
    # chat.getPermalink t5 and no scope.
    tiers = {m: METHODS[m].tier for m in WITHOUT_CURRENT_DOCS}
    assert tiers == {"users.list": 2, "pins.list": 2, "chat.getPermalink": 5}
    assert METHODS["users.list"].scopes.scopes() == {"users:read"}
    assert METHODS["pins.list"].scopes.scopes() == {"pins:read"}
    assert METHODS["chat.getPermalink"].scopes.scopes() == frozenset()


# --------------------------------------------------------------------------- per argument
def needs(emu: Emulator, method: str, **args: Any) -> tuple[tuple[str, ...], ...]:
    emu.execute(method, args, emu.bot_token)
    return emu.calls[-1].needed_scopes


def test_conversations_list_needs_the_scope_of_every_requested_type() -> None:
    emu = Emulator()
    assert needs(emu, "conversations.list") == (("channels:read",),)  # default: public only
    assert needs(emu, "conversations.list", types="private_channel") == (("groups:read",),)
    assert needs(emu, "conversations.list", types="public_channel,private_channel") == (
        ("channels:read",),
        ("groups:read",),
    )
    assert needs(emu, "conversations.list", types=["im", "mpim"]) == (("im:read",), ("mpim:read",))


def test_listing_private_channels_with_channels_read_alone_is_missing_scope() -> None:
    emu = Emulator(scopes=["channels:read"])
    emu.add_channel("secret", members=[emu.bot_user_id], is_private=True)
    assert emu.execute("conversations.list", {}, emu.bot_token).body["ok"]
    body = emu.execute(
        "conversations.list", {"types": "public_channel,private_channel"}, emu.bot_token
    ).body
    assert body == {
        "ok": False,
        "error": "missing_scope",
        "needed": "groups:read",
        "provided": "channels:read",
    }
    emu.scopes = frozenset({"channels:read", "groups:read"})
    body = emu.execute(
        "conversations.list", {"types": "public_channel,private_channel"}, emu.bot_token
    ).body
    assert [c["name"] for c in body["channels"]] == ["secret"]


def test_unknown_conversation_types_are_refused() -> None:
    emu = Emulator()
    body = emu.execute("conversations.list", {"types": "public_channel,dm"}, emu.bot_token).body
    assert body["error"] == "invalid_types"


def test_creating_a_private_channel_needs_groups_write() -> None:
    emu = Emulator(scopes=["channels:manage"])
    assert emu.execute("conversations.create", {"name": "pub"}, emu.bot_token).body["ok"]
    body = emu.execute(
        "conversations.create", {"name": "priv", "is_private": "true"}, emu.bot_token
    ).body
    assert (body["error"], body["needed"]) == ("missing_scope", "groups:write")
    assert emu.channel_by_name("priv") is None
    emu.scopes = frozenset({"groups:write"})
    body = emu.execute("conversations.create", {"name": "pub2", "is_private": False}, "xoxb-test")
    assert body.body["needed"] == "channels:manage"
    assert emu.execute(
        "conversations.create", {"name": "priv", "is_private": True}, emu.bot_token
    ).body["ok"]


# --------------------------------------------------------------------------- per target
@pytest.fixture
def targets() -> tuple[Emulator, dict[str, str]]:
    """An emulator granting everything, with one conversation of each type holding the bot."""
    emu = Emulator()
    emu.add_user("U01ALICE", "alice")
    emu.add_user("U02BOB", "bob")
    public = emu.add_channel("pub", members=[emu.bot_user_id])["id"]
    private = emu.add_channel("priv", members=[emu.bot_user_id], is_private=True)["id"]
    im = emu.execute("conversations.open", {"users": "U01ALICE"}, emu.bot_token).body
    mpim = emu.execute("conversations.open", {"users": "U01ALICE,U02BOB"}, emu.bot_token).body
    ids = {"public": public, "private": private, "im": im["channel"]["id"]}
    ids["mpim"] = mpim["channel"]["id"]
    return emu, ids


@pytest.mark.parametrize(
    ("method", "by_type"),
    [
        (
            "conversations.info",
            {"public": "channels:read", "private": "groups:read", "im": "im:read"},
        ),
        ("conversations.members", {"public": "channels:read", "mpim": "mpim:read"}),
        (
            "conversations.history",
            {
                "public": "channels:history",
                "private": "groups:history",
                "im": "im:history",
                "mpim": "mpim:history",
            },
        ),
        ("conversations.archive", {"public": "channels:manage", "private": "groups:write"}),
    ],
)
def test_channel_methods_need_the_scope_of_the_target_type(
    targets: tuple[Emulator, dict[str, str]], method: str, by_type: dict[str, str]
) -> None:
    emu, ids = targets
    for kind, scope in by_type.items():
        assert needs(emu, method, channel=ids[kind]) == ((scope,),), kind
        others = ALL_SCOPES - {scope}
        emu.scopes = others
        body = emu.execute(method, {"channel": ids[kind]}, emu.bot_token).body
        assert (body.get("error"), body.get("needed")) == ("missing_scope", scope), kind
        emu.scopes = None


def test_topic_and_invites_accept_the_broad_or_the_granular_scope(
    targets: tuple[Emulator, dict[str, str]],
) -> None:
    emu, ids = targets
    assert needs(emu, "conversations.setTopic", channel=ids["public"], topic="x") == (
        ("channels:manage", "channels:write.topic"),
    )
    assert needs(emu, "conversations.setPurpose", channel=ids["private"], purpose="x") == (
        ("groups:write", "groups:write.topic"),
    )
    emu.scopes = frozenset({"channels:write.topic", "groups:write.invites"})
    topic = {"channel": ids["public"], "topic": "Alipay down"}
    assert emu.execute("conversations.setTopic", topic, emu.bot_token).body["ok"]
    invite = {"channel": ids["private"], "users": "U02BOB"}
    assert emu.execute("conversations.invite", invite, emu.bot_token).body["ok"]
    refused = emu.execute("conversations.invite", {**invite, "channel": ids["public"]}, "xoxb-test")
    assert refused.body["needed"] == "channels:manage,channels:write.invites"


def test_opening_a_dm_needs_im_write_and_a_group_dm_mpim_write() -> None:
    emu = Emulator(scopes=["im:write"])
    emu.add_user("U01ALICE", "alice")
    emu.add_user("U02BOB", "bob")
    assert emu.execute("conversations.open", {"users": "U01ALICE"}, emu.bot_token).body["ok"]
    with_bot = {"users": f"U01ALICE,{emu.bot_user_id}"}
    assert emu.execute("conversations.open", with_bot, emu.bot_token).body["ok"]
    group = emu.execute("conversations.open", {"users": "U01ALICE,U02BOB"}, emu.bot_token).body
    assert (group["error"], group["needed"]) == ("missing_scope", "mpim:write")


def test_posting_needs_chat_write_in_every_conversation_type(
    targets: tuple[Emulator, dict[str, str]],
) -> None:
    emu, ids = targets
    for channel in ids.values():
        assert needs(emu, "chat.postMessage", channel=channel, text="hi") == (("chat:write",),)


def test_an_unknown_target_is_channel_not_found_with_any_scope_of_the_family() -> None:
    emu = Emulator(scopes=["groups:read"])
    body = emu.execute("conversations.info", {"channel": "C404"}, emu.bot_token).body
    assert body["error"] == "channel_not_found"


def test_missing_scope_answers_carry_the_headers_slack_sends() -> None:
    emu = Emulator(scopes=["channels:read"])
    result = emu.execute("conversations.list", {"types": "private_channel"}, emu.bot_token)
    assert result.headers["X-OAuth-Scopes"] == "channels:read"
    accepted = set(result.headers["X-Accepted-OAuth-Scopes"].split(","))
    assert accepted == {"channels:read", "groups:read", "mpim:read", "im:read"}
