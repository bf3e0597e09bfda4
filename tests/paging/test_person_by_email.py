"""ChatPlatform.person_by_email on Slack: ``users.lookupByEmail`` against the emulated
workspace (which grants exactly manifest.yml's scopes: users:read.email is among them, per
tests/fixtures/slack_methods/methods/users.lookupByEmail.json), through the directory's
cache; the emulator fixture checks every call against Slack's spec afterwards."""

from __future__ import annotations

from collections import Counter

from bot.metrics import Metrics
from bot.sandbox.emulator import Emulator, EmulatorServer
from bot.slack.directory import Directory
from bot.slack.gateway import SlackGateway, build_web_client
from bot.slack.platform import SlackPlatform, SlackRenderers
from tests.support import BOT_TOKEN


def test_a_pager_s_email_is_found_in_slack_once(
    emulator_server: EmulatorServer, emulator: Emulator
) -> None:
    client = build_web_client(BOT_TOKEN, emulator_server.api_url, timeout=2)
    gateway = SlackGateway(client, Metrics())
    platform = SlackPlatform(gateway, Directory(gateway), SlackRenderers())
    assert platform.person_by_email("Bob@Example.com ") == "U02BOB"
    assert platform.person_by_email("bob@example.com") == "U02BOB"
    assert platform.person_by_email("nobody@example.com") is None
    calls = Counter(c.method for c in emulator.calls)
    assert calls["users.lookupByEmail"] == 2  # bob once (cached), nobody once
