"""Reading ``/oor`` text: command words, aliases, and Slack's escaped text made plain."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from bot.slack.command_parser import ParsedCommand, mentioned_users, to_plain
from bot.slack.command_parser import parse_command as parse_with
from tests.app_builder import built_app, commands_of


@pytest.fixture(scope="module")
def words(tmp_path_factory: pytest.TempPathFactory) -> Mapping[str, str]:
    """Every word of the app with all features: the core's and the features' own."""
    return commands_of(built_app(tmp_path_factory.mktemp("app"))).table.words


@pytest.fixture
def parse_command(words: Mapping[str, str]) -> Callable[[str], ParsedCommand | None]:
    return lambda text: parse_with(text, words)


@pytest.mark.parametrize(
    ("text", "word", "args"),
    [
        ("ack", "ack", ""),
        ("ACK", "ack", ""),
        ("Acknowledge", "ack", ""),
        ("respond", "ack", ""),
        ("Resolve  restarted the gateway  ", "resolve", "restarted the gateway"),
        ("sev sev1", "severity", "sev1"),
        ("  note  called the bank", "note", "called the bank"),
    ],
)
def test_command_words_are_case_insensitive_with_aliases(
    parse_command: Any, text: str, word: str, args: str
) -> None:
    parsed = parse_command(text)
    assert parsed is not None
    assert (parsed.word, parsed.args) == (word, args)


@pytest.mark.parametrize(
    ("chinese", "word"),
    [
        ("响应", "ack"),
        ("记录", "record"),
        ("排查", "investigate"),
        ("解决", "resolve"),
        ("通知", "notify"),
        ("总结", "review"),
        ("复盘", "review"),
        ("帮助", "help"),
    ],
)
def test_chinese_aliases_for_the_six_steps(parse_command: Any, chinese: str, word: str) -> None:
    parsed = parse_command(f"{chinese} 网关超时")
    assert parsed == ParsedCommand(word, "网关超时", chinese)


@pytest.mark.parametrize("separator", ["\n", "\t", "\u3000"])  # \u3000: Chinese IME space
def test_any_whitespace_ends_the_command_word(parse_command: Any, separator: str) -> None:
    parsed = parse_command(f"解决{separator}切换到备用通道")
    assert parsed is not None
    assert (parsed.word, parsed.args) == ("resolve", "切换到备用通道")
    parsed = parse_command(f"note{separator}line one\nline two")
    assert parsed is not None
    assert (parsed.word, parsed.args) == ("note", "line one\nline two")


def test_the_typed_word_is_kept_for_messages(parse_command: Any) -> None:
    parsed = parse_command("RESOLVE fixed")
    assert parsed is not None and parsed.typed == "RESOLVE"


@pytest.mark.parametrize("text", ["frobnicate", "acks", "解决了 问题", "OOR-42"])
def test_an_unknown_word_is_none(parse_command: Any, text: str) -> None:
    assert parse_command(text) is None


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_empty_text_asks_for_the_help(parse_command: Any, text: str) -> None:
    assert parse_command(text) == ParsedCommand("help", "", "")


def test_without_a_word_table_nothing_is_a_command() -> None:
    assert parse_with("ack", {}) is None


def test_plain_args_unescape_what_slack_sent(parse_command: Any) -> None:
    parsed = parse_command("assign tech <@U123|bob> &amp; co")
    assert parsed is not None
    assert parsed.args == "tech <@U123|bob> &amp; co"
    assert parsed.plain_args == "tech @bob & co"


def test_mentioned_users() -> None:
    text = "assign <@U123|bob> and <@W9ABC> not <#C1|general> or &lt;@U777&gt; or <!here>"
    assert mentioned_users(text) == ["U123", "W9ABC"]
    assert mentioned_users("nobody") == []


@pytest.mark.parametrize(
    ("escaped", "plain"),
    [
        ("ask <@U1|bob>", "ask @bob"),
        ("ask <@U1>", "ask @U1"),
        ("see <#C1|general>", "see #general"),
        ("see <#C1>", "see #C1"),
        ("<!channel> down", "@channel down"),
        ("<!here>", "@here"),
        ("<!here|@here>", "@here"),
        ("ping <!subteam^S0123|@oncall>", "ping @oncall"),
        ("<https://status.example.com|status page>", "status page (https://status.example.com)"),
        ("<https://status.example.com>", "https://status.example.com"),
        ("<https://x.example/?a=1&amp;b=2>", "https://x.example/?a=1&b=2"),
        ("<mailto:ops@example.com|ops>", "ops (mailto:ops@example.com)"),
        ("a &lt; b &amp;&amp; c &gt; d", "a < b && c > d"),
        ("typed &lt;@U1&gt; literally", "typed <@U1> literally"),
        ("no markup at all", "no markup at all"),
    ],
)
def test_to_plain(escaped: str, plain: str) -> None:
    assert to_plain(escaped) == plain


def test_to_plain_unescapes_exactly_once() -> None:
    # The person typed "&lt;" (the five characters); Slack sent "&amp;lt;".
    assert to_plain("&amp;lt;b&amp;gt; &amp;amp;") == "&lt;b&gt; &amp;"
