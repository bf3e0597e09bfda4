"""Reading ``/oor`` command text: the command word (case-insensitive, with the aliases the
command table knows) and the rest, turned back from Slack's escaped form into plain text."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from bot.slack.text import MENTION

_USER = MENTION
_CHANNEL = re.compile(r"<#([CG][A-Z0-9]+)(?:\|([^>]*))?>")
_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]*))?>")
_ENTITY = re.compile(r"&(amp|lt|gt);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}
_SPECIAL = re.compile(r"<!([a-z]+)(?:\^[^|>]*)?(?:\|([^>]*))?>")


@dataclass(frozen=True)
class ParsedCommand:
    word: str  # canonical command word
    args: str  # the rest, as Slack sent it (escaped, with <@U…> mentions)
    typed: str  # the word as typed, for messages

    @property
    def plain_args(self) -> str:
        return to_plain(self.args)


def parse_command(text: str, words: Mapping[str, str]) -> ParsedCommand | None:
    """``words``: every command word and alias (lower case) -> its canonical word (see
    :class:`bot.slack.command_table.CommandTable`). None when the word is not a command
    (the caller shows the help)."""
    text = text.strip()
    if not text:
        return ParsedCommand("help", "", "")
    # Any whitespace ends the word: a newline, a tab, or the full-width space (U+3000)
    # a Chinese input method types.
    typed, *more = text.split(maxsplit=1)
    rest = more[0] if more else ""
    word = words.get(typed.lower())
    if word is None:
        return None
    return ParsedCommand(word, rest.strip(), typed)


def mentioned_users(text: str) -> list[str]:
    return [m.group(1) for m in _USER.finditer(text)]


def to_plain(text: str) -> str:
    """Slack's escaped command text -> what the person typed.

    Slack sends mentions as ``<@U123|bob>`` and escapes ``&``, ``<`` and ``>``. We store
    plain text (escaping it again whenever it is shown), so nothing typed can become a
    ping or a link later.
    """
    text = _USER.sub(lambda m: f"@{m.group(2) or m.group(1)}", text)
    text = _CHANNEL.sub(lambda m: f"#{m.group(2) or m.group(1)}", text)
    # Group labels come with their "@" (``<!subteam^S1|@oncall>``): don't double it.
    text = _SPECIAL.sub(lambda m: "@" + (m.group(2) or m.group(1)).lstrip("@"), text)
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})" if m.group(2) else m.group(1), text)
    return _ENTITY.sub(lambda m: _ENTITIES[m.group(1)], text)
