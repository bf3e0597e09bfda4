"""Features plug in through the Wiring: what they register is theirs alone (a second claim
on a job kind, a command word or a tick fails at start-up), an app built with a subset of
features has only their commands and help, and the core handles every job it queues."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import notifications, postmortems, reminders
from bot.features import FEATURES
from bot.incidents.job_kinds import JobKind
from bot.slack.command_parser import ParsedCommand
from bot.slack.command_table import Invocation
from bot.slack.views import SlackMessage
from bot.slack.views.help import help_text
from bot.wiring import HelpLine, HelpSection, Wiring, WiringError
from tests.app_builder import built_app, commands_of

NOBODY = Invocation("U0NOBODY", "C0NOWHERE")


def _answer(app_commands: object, text: str) -> str:
    from bot.slack.command_handlers import CommandHandlers

    assert isinstance(app_commands, CommandHandlers)
    parsed = app_commands.table.parse(text)
    if parsed is None:
        return "<not a word>"
    message = app_commands.handle(parsed, NOBODY)
    assert message is not None
    return message.text


def test_a_job_kind_claimed_twice_fails_at_start_up(tmp_path: Path) -> None:
    def claims_the_notice(wiring: Wiring) -> None:
        wiring.add_job_handler(JobKind.POST_NOTICE, lambda job: None)

    with pytest.raises(WiringError, match="post_notice"):
        built_app(tmp_path, features=[claims_the_notice])

    def installs_twice(wiring: Wiring) -> None:
        wiring.add_job_handler("mine", lambda job: None)
        wiring.add_job_handler("mine", lambda job: None)

    with pytest.raises(WiringError, match="mine"):
        built_app(tmp_path, features=[installs_twice])


def test_a_command_word_or_alias_claimed_twice_fails_at_start_up(tmp_path: Path) -> None:
    def takes_ack(wiring: Wiring) -> None:
        wiring.add_command(["ack"], lambda c, i: None)

    with pytest.raises(WiringError, match="ack"):
        built_app(tmp_path, features=[takes_ack])

    def takes_an_alias(wiring: Wiring) -> None:  # the notifications' Chinese word
        wiring.add_command(["tell", "通知"], lambda c, i: None)

    with pytest.raises(WiringError, match="通知"):
        built_app(tmp_path, features=[notifications.install, takes_an_alias])

    # A feature installed twice claims its words twice.
    with pytest.raises(WiringError, match="review"):
        built_app(tmp_path, features=[postmortems.install, postmortems.install])


def test_a_tick_claimed_twice_fails_at_start_up(tmp_path: Path) -> None:
    def ticks_twice(wiring: Wiring) -> None:
        wiring.add_tick("mine", 60, lambda: None)
        wiring.add_tick("mine", 60, lambda: None)

    with pytest.raises(WiringError, match="mine"):
        built_app(tmp_path, features=[ticks_twice])


def test_an_app_without_features_has_only_the_cores_commands_and_help(tmp_path: Path) -> None:
    app = built_app(tmp_path, features=[])
    commands = commands_of(app)
    words = set(commands.table.words)
    assert {"ack", "record", "investigate", "resolve", "skip", "close", "help"} <= words
    assert not words & {"notify", "通知", "review", "总结", "复盘", "actions"}
    text = help_text(commands.table)
    assert "`/oor ack`" in text and "`/oor resolve &lt;summary&gt;`" in text
    for feature_usage in ("`/oor notify", "`/oor review", "`/oor actions"):
        assert feature_usage not in text
    assert "`/oor 通知`" not in text and "`/oor 响应` = ack" in text
    # The words nobody registered are not commands (the board's Notify button included).
    assert _answer(commands, "notify sms") == "<not a word>"
    refused = commands.handle(ParsedCommand("notify", "", "notify"), NOBODY)
    assert refused is not None and "is not a command" in refused.text
    # No ticks, no feature job handlers, no feature routes.
    assert app.wiring is not None
    assert app.wiring.tick_names == []
    assert set(app.wiring.job_kinds) == {k.value for k in JobKind}


def test_an_app_with_some_features_has_their_commands_and_help_only(tmp_path: Path) -> None:
    app = built_app(tmp_path, features=[notifications.install, reminders.install])
    commands = commands_of(app)
    text = help_text(commands.table)
    assert "• `/oor notify [sms|email|status_page] [zh-CN|en]` — 5. notify customers" in text
    assert "`/oor 通知` = notify" in text
    assert "`/oor review" not in text and "`/oor actions" not in text
    assert "notify" in commands.table.words and "review" not in commands.table.words
    assert app.wiring is not None
    assert app.wiring.tick_names == ["reminders.scan", "reminders.sweep"]
    assert "digest.check" not in app.wiring.tick_names


def test_the_help_lists_a_features_lines_in_their_place(tmp_path: Path) -> None:
    def pager(wiring: Wiring) -> None:
        def page(command: ParsedCommand, inv: Invocation) -> SlackMessage:
            return SlackMessage(text=f"paged about {command.plain_args}")

        wiring.add_command(
            ["page", "呼叫"],
            page,
            help=[HelpLine("page <who>", "page someone now", HelpSection.INCIDENT, order=14.5)],
        )

    commands = commands_of(built_app(tmp_path, features=[*FEATURES, pager]))
    lines = help_text(commands.table).splitlines()
    usages = [line.split("`")[1] for line in lines if line.startswith("• `/oor ")]
    # Between "assign" (14) and "severity" (15), whatever the install order.
    at = usages.index("/oor page &lt;who&gt;")
    assert usages[at - 1].startswith("/oor assign") and usages[at + 1].startswith("/oor severity")
    assert _answer(commands, "呼叫 the bank") == "paged about the bank"


def test_every_feature_and_the_core_claim_distinct_job_kinds(tmp_path: Path) -> None:
    app = built_app(tmp_path)
    assert app.wiring is not None
    kinds = app.wiring.job_kinds
    assert len(kinds) == len(set(kinds))
    assert {k.value for k in JobKind} <= set(kinds)  # the core handles every job it queues
    assert sorted(app.wiring.tick_names) == ["digest.check", "reminders.scan", "reminders.sweep"]
