"""The bot works on a Slack that grants exactly manifest.yml's scopes, checked per argument.

The `emulator` fixture grants the manifest's scopes and asks for them the way Slack does
(bot.sandbox.emulator.scopes, from tests/fixtures/slack_methods): listing public *and* private
channels needs groups:read, reading a private channel's history groups:history.
"""

from __future__ import annotations

import copy

import pytest
from sqlmodel import select

from bot.domain.plan import Plan
from bot.incidents.job_kinds import JobKind
from bot.sandbox.emulator import Emulator, EmulatorServer
from bot.storage.models import JobRow
from tests.conftest import RunningBot, start_bot
from tests.contract import manifest, manifest_bot_scopes
from tests.support import native_event, post_native, wait_for


def _announce_job(bot: RunningBot) -> JobRow | None:
    with bot.app.db.session() as session:
        return session.exec(select(JobRow).where(JobRow.kind == JobKind.ANNOUNCE)).first()


def _incident_channel_id(emulator: Emulator) -> str | None:
    found = [c for c in emulator.snapshot()["channels"] if c["name"].startswith("oor-1-")]
    return found[0]["id"] if found else None


def test_without_groups_read_the_announcement_fails_as_on_real_slack(
    sqlite_url: str,
    emulator_server: EmulatorServer,
    emulator: Emulator,
    plan: Plan,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What the issue saw on a Slack checking scopes per argument: `#payments-incidents` is
    looked up with conversations.list types=public_channel,private_channel, refused without
    groups:read, and the announcement is parked."""
    without = copy.deepcopy(manifest())
    without["oauth_config"]["scopes"]["bot"].remove("groups:read")
    with monkeypatch.context() as patched:
        patched.setattr("tests.contract.manifest", lambda: without)
        emulator.scopes = frozenset(manifest_bot_scopes())
    bot = start_bot(sqlite_url, emulator_server.api_url, plan)
    try:
        post_native(bot.url, native_event())
        job = wait_for(
            lambda: (j := _announce_job(bot)) is not None and j.needs_attention and j,
            what="parked announcement",
        )
        assert "missing_scope" in (job.last_error or "")
        refused = emulator.calls_to("conversations.list")[-1]
        assert refused.error == "missing_scope"
        assert ("groups:read",) in refused.needed_scopes
        broadcast = emulator.channel_by_name("payments-incidents")
        assert broadcast is not None and emulator.messages(broadcast["id"]) == []
    finally:
        bot.stop()


def test_a_retried_announcement_in_a_private_broadcast_channel_is_posted_once(
    sqlite_url: str, emulator_server: EmulatorServer, emulator: Emulator, plan: Plan
) -> None:
    """The broadcast channel may be private (the bot invited). A retried announcement first
    reads the channel's history for an earlier attempt's post: groups:history."""
    private = emulator.add_channel(
        "payments-war-room",
        creator="U04DAVE",
        members=["U04DAVE", emulator.bot_user_id],
        is_private=True,
    )
    # The first attempt fails while looking the channel up, so the job runs again.
    emulator.faults.add(method="conversations.list", error="internal_error", times=1)
    plan = plan.model_copy(update={"broadcast_channel": "#payments-war-room"})
    bot = start_bot(sqlite_url, emulator_server.api_url, plan)
    try:
        post_native(bot.url, native_event())
        posted = wait_for(lambda: emulator.messages(private["id"]), timeout=20, what="announce")
        assert len(posted) == 1 and "OOR-1" in posted[0]["text"]
        job = _announce_job(bot)
        assert job is not None and job.attempts >= 2
        looked = [
            c
            for c in emulator.calls_to("conversations.history")
            if c.args["channel"] == private["id"]
        ]
        assert looked and all(c.ok for c in looked), looked
        assert looked[0].needed_scopes == (("groups:history",),)
        assert _incident_channel_id(emulator) is not None
    finally:
        bot.stop()
