"""Reading ``/oor`` command text: the command word (case-insensitive, Chinese aliases for
the six steps) and the rest, turned back from Slack's escaped form into plain text."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.slack.text import MENTION

COMMAND_WORDS = {
    "help": "help",
    "帮助": "help",
    "ack": "ack",
    "acknowledge": "ack",
    "respond": "ack",
    "响应": "ack",
    "record": "record",
    "记录": "record",
    "investigate": "investigate",
    "排查": "investigate",
    "resolve": "resolve",
    "解决": "resolve",
    "notify": "notify",
    "通知": "notify",
    "review": "review",
    "总结": "review",
    "复盘": "review",
    "skip": "skip",
    "status": "status",
    "timeline": "timeline",
    "partners": "partners",
    "declare": "declare",
    "assign": "assign",
    "severity": "severity",
    "sev": "severity",
    "note": "note",
    "reopen": "reopen",
    "close": "close",
    "actions": "actions",
}
# Commands anyone may run; the rest change an incident and need a responder.
READ_ONLY = frozenset({"help", "status", "timeline", "partners", "actions"})

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


def parse_command(text: str) -> ParsedCommand | None:
    """None when the word is not a command (the caller shows the help)."""
    text = text.strip()
    if not text:
        return ParsedCommand("help", "", "")
    # Any whitespace ends the word: a newline, a tab, or the full-width space (U+3000)
    # a Chinese input method types.
    typed, *more = text.split(maxsplit=1)
    rest = more[0] if more else ""
    word = COMMAND_WORDS.get(typed.lower())
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
