"""``/oor help`` lists every command, the Chinese aliases and the OOR types."""

from __future__ import annotations

import re

import pytest

from bot.domain.types import OorType
from bot.slack.command_handlers import CommandHandlers
from bot.slack.views.help import help_message, help_text
from tests.app_builder import built_app, commands_of
from tests.slack.views import assert_within_slack_limits, dumped


@pytest.fixture(scope="module")
def commands(tmp_path_factory: pytest.TempPathFactory) -> CommandHandlers:
    """The app with every feature: the help shows the core's and the features' lines."""
    return commands_of(built_app(tmp_path_factory.mktemp("app")))


@pytest.fixture
def help_text_(commands: CommandHandlers) -> str:
    return help_text(commands.table)


COMMANDS = [
    "help",
    "ack",
    "record [key=value …]",
    "investigate &lt;finding&gt;",
    "investigate --done",
    "resolve &lt;summary&gt;",
    "notify [sms|email|status_page] [zh-CN|en]",
    "notify done &lt;how&gt;",
    "review",
    "review &lt;note&gt;",
    "actions",
    "actions add &lt;text&gt; [@owner] [YYYY-MM-DD]",
    "actions done &lt;n&gt;",
    "skip &lt;step&gt; &lt;reason&gt;",
    "status [OOR-n]",
    "timeline [page]",
    "partners",
    "declare [--private] &lt;type&gt; &lt;title&gt;",
    "assign &lt;commander|tech|comms&gt; @user",
    "severity &lt;sev1..sev4&gt;",
    "note &lt;text&gt;",
    "private",
    "public confirm",
    "reopen",
    "close [--force]",
]


def test_every_command_has_a_one_line_description(help_text_: str) -> None:
    lines = help_text_.splitlines()
    for usage in COMMANDS:
        matching = [line for line in lines if line.startswith(f"• `/oor {usage}` — ")]
        assert len(matching) == 1, usage
        assert len(matching[0].split(" — ", 1)[1]) > 5


def test_aliases_and_types_are_listed(help_text_: str) -> None:
    for alias in ("响应", "记录", "排查", "解决", "通知", "总结"):
        assert f"/oor {alias}" in help_text_
    for oor_type in OorType:
        assert oor_type.value in help_text_ and oor_type.label_zh in help_text_


def test_placeholders_are_escaped_so_slack_does_not_read_them_as_links(help_text_: str) -> None:
    assert not re.search(r"<[^@#!]", help_text_)


def test_help_message_has_the_same_content_as_blocks_with_a_fallback(
    commands: CommandHandlers, help_text_: str
) -> None:
    message = help_message(commands.table)
    assert message.text == help_text_
    blocks = dumped(message)
    for usage in COMMANDS:
        assert f"/oor {usage}" in blocks
    assert "/oor 总结" in blocks
    assert_within_slack_limits(message.as_args()["blocks"])


def test_every_command_word_the_bot_understands_is_in_the_help(
    commands: CommandHandlers, help_text_: str
) -> None:
    for word in set(commands.table.words.values()):
        assert f"`/oor {word}" in help_text_, word


def test_the_steps_come_in_order_whichever_feature_registered_them(help_text_: str) -> None:
    steps = [line for line in help_text_.splitlines() if line.startswith("• `/oor ")]
    numbered = [line.split("— ", 1)[1][0] for line in steps if line.split("— ", 1)[1][0].isdigit()]
    assert numbered == sorted(numbered) and set(numbered) == set("123456")
    aliases = help_text_.split("*中文* ", 1)[1].splitlines()[0]
    assert [a.split("` = ")[1] for a in aliases.split(" · ")] == [
        "ack",
        "record",
        "investigate",
        "resolve",
        "notify",
        "review",
    ]
