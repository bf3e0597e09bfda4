"""``/oor help``: every registered command with a one-line description, the Chinese
aliases of the steps and the OOR types.

Rendered from the :class:`~bot.slack.command_table.CommandTable` (the core's and the
features' lines), as mrkdwn for the slash-command answer; the ``<…>`` placeholders are
escaped (``&lt;finding&gt;``) because Slack would otherwise read them as links.
"""

from __future__ import annotations

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.domain.types import OorType, Step
from bot.slack.command_table import CommandTable, HelpLine, HelpSection
from bot.slack.text import escape
from bot.slack.views import SlackMessage

INTRO = "*OOR Bot* — the payments emergency plan (应急预案) in Slack."
FOOTER = (
    "Incidents open on their own when a payment monitor or Alertmanager reports an OOR "
    "event; each gets its own channel with the plan's responders and a pinned status board."
)


def _lines(lines: list[HelpLine]) -> list[str]:
    return [f"• `/oor {escape(line.usage)}` — {escape(line.text)}" for line in lines]


def _aliases_line(table: CommandTable) -> str:
    pairs = " · ".join(f"`/oor {zh}` = {en}" for zh, en in table.aliases())
    return f"*中文* {pairs}"


def _types_line() -> str:
    names = " · ".join(f"`{t.value}` {t.label_zh}" for t in OorType)
    return f"*OOR types* {names}"


def _steps(table: CommandTable) -> list[str]:
    return [f"*The {len(Step)} steps 处理步骤*", *_lines(table.help_lines(HelpSection.STEPS))]


def _incident(table: CommandTable) -> list[str]:
    return ["*The incident*", *_lines(table.help_lines(HelpSection.INCIDENT))]


def help_text(table: CommandTable) -> str:
    """Every registered command's help lines, as mrkdwn."""
    return "\n".join(
        [
            INTRO,
            *_steps(table),
            *_incident(table),
            _aliases_line(table),
            _types_line(),
            FOOTER,
        ]
    )


def help_message(table: CommandTable) -> SlackMessage:
    """The same content as :func:`help_text`, as blocks (the text is the fallback)."""
    blocks: list[Block] = [
        HeaderBlock(text="OOR Bot commands 命令"),
        SectionBlock(text=MarkdownTextObject(text="\n".join(_steps(table)))),
        SectionBlock(text=MarkdownTextObject(text="\n".join(_incident(table)))),
        SectionBlock(text=MarkdownTextObject(text=f"{_aliases_line(table)}\n{_types_line()}")),
        ContextBlock(elements=[MarkdownTextObject(text=FOOTER)]),
    ]
    return SlackMessage(text=help_text(table), blocks=tuple(blocks))
