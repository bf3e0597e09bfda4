"""``/oor help`` lists every command, the Chinese aliases and the OOR types."""

from __future__ import annotations

import re

from bot.domain.types import OorType
from bot.slack.views.help import HELP_TEXT, help_message
from tests.slack.views import assert_within_slack_limits, dumped

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
    "declare &lt;type&gt; &lt;title&gt;",
    "assign &lt;commander|tech|comms&gt; @user",
    "severity &lt;sev1..sev4&gt;",
    "note &lt;text&gt;",
    "reopen",
    "close [--force]",
]


def test_every_command_has_a_one_line_description() -> None:
    lines = HELP_TEXT.splitlines()
    for usage in COMMANDS:
        matching = [line for line in lines if line.startswith(f"• `/oor {usage}` — ")]
        assert len(matching) == 1, usage
        assert len(matching[0].split(" — ", 1)[1]) > 5


def test_aliases_and_types_are_listed() -> None:
    for alias in ("响应", "记录", "排查", "解决", "通知", "总结"):
        assert f"/oor {alias}" in HELP_TEXT
    for oor_type in OorType:
        assert oor_type.value in HELP_TEXT and oor_type.label_zh in HELP_TEXT


def test_placeholders_are_escaped_so_slack_does_not_read_them_as_links() -> None:
    assert not re.search(r"<[^@#!]", HELP_TEXT)


def test_help_message_has_the_same_content_as_blocks_with_a_fallback() -> None:
    message = help_message()
    assert message.text == HELP_TEXT
    blocks = dumped(message)
    for usage in COMMANDS:
        assert f"/oor {usage}" in blocks
    assert "/oor 总结" in blocks
    assert_within_slack_limits(message.as_args()["blocks"])


def test_every_command_word_the_bot_understands_is_in_the_help() -> None:
    from bot.slack.command_parser import COMMAND_WORDS

    for word in set(COMMAND_WORDS.values()):
        assert f"`/oor {word}" in HELP_TEXT, word
