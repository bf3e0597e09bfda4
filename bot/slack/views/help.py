"""``/oor help``: every command with a one-line description, aliases and the OOR types.

``HELP_TEXT`` is mrkdwn for the slash-command answer; the ``<…>`` placeholders are escaped
(``&lt;finding&gt;``) because Slack would otherwise read them as links.
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
from bot.slack.text import escape
from bot.slack.views import SlackMessage

INTRO = "*OOR Bot* — the payments emergency plan (应急预案) in Slack."
# (usage, description): the six steps of the plan, in order.
STEP_COMMANDS: tuple[tuple[str, str], ...] = (
    ("ack", "1. rapid response 快速响应: take the incident (commander, if there is none)"),
    (
        "record [key=value …]",
        "2. record the problem 记录问题: time, merchant, method, amount… (no arguments: a form)",
    ),
    ("investigate <finding>", "3. investigate 排查问题: add a finding to the timeline"),
    ("investigate --done", "3. investigate: the cause is found, the step is done"),
    (
        "resolve <summary>",
        "4. resolve 解决问题: record the fix and the cause (no summary: a form)",
    ),
    (
        "notify [sms|email|status_page] [zh-CN|en]",
        "5. notify customers 通知客户: draft messages from the templates, approve to send",
    ),
    ("notify done <how>", "5. customers were told another way (a call, say): the step is done"),
    ("review", "6. review 总结经验: the review form; the post-mortem is compiled to publish"),
    ("review <note>", "6. a quick review without a post-mortem document"),
    ("skip <step> <reason>", "skip a step that does not apply, saying why"),
)
INCIDENT_COMMANDS: tuple[tuple[str, str], ...] = (
    ("status [OOR-n]", "the status board of this (or another) incident"),
    ("timeline [page]", "what happened, when and by whom"),
    ("partners", "the plan's bank, acquirer, channel and merchant contacts"),
    ("declare <type> <title>", "open an incident by hand (no arguments: a form)"),
    ("assign <commander|tech|comms> @user", "give someone a role"),
    ("severity <sev1..sev4>", "change the severity (SEV1 is the worst)"),
    ("note <text>", "add a note to the timeline"),
    ("actions", "action items: this incident's here, all open ones elsewhere"),
    ("actions add <text> [@owner] [YYYY-MM-DD]", "add an action item"),
    ("actions done <n>", "close action item n"),
    ("reopen", "reopen a resolved incident"),
    ("close [--force]", "close the incident; --force with steps still open"),
    ("help", "this list"),
)
ALIASES: tuple[tuple[str, str], ...] = (
    ("响应", "ack"),
    ("记录", "record"),
    ("排查", "investigate"),
    ("解决", "resolve"),
    ("通知", "notify"),
    ("总结", "review"),
)
FOOTER = (
    "Incidents open on their own when a payment monitor or Alertmanager reports an OOR "
    "event; each gets its own channel with the plan's responders and a pinned status board."
)


def _lines(commands: tuple[tuple[str, str], ...]) -> list[str]:
    return [f"• `/oor {escape(usage)}` — {escape(text)}" for usage, text in commands]


def _aliases_line() -> str:
    pairs = " · ".join(f"`/oor {zh}` = {en}" for zh, en in ALIASES)
    return f"*中文* {pairs}"


def _types_line() -> str:
    names = " · ".join(f"`{t.value}` {t.label_zh}" for t in OorType)
    return f"*OOR types* {names}"


HELP_TEXT = "\n".join(
    [
        INTRO,
        f"*The {len(Step)} steps 处理步骤*",
        *_lines(STEP_COMMANDS),
        "*The incident*",
        *_lines(INCIDENT_COMMANDS),
        _aliases_line(),
        _types_line(),
        FOOTER,
    ]
)


def help_message() -> SlackMessage:
    """The same content as ``HELP_TEXT``, as blocks (the text is the fallback)."""
    blocks: list[Block] = [
        HeaderBlock(text="OOR Bot commands 命令"),
        SectionBlock(
            text=MarkdownTextObject(
                text="\n".join([f"*The {len(Step)} steps 处理步骤*", *_lines(STEP_COMMANDS)])
            )
        ),
        SectionBlock(
            text=MarkdownTextObject(text="\n".join(["*The incident*", *_lines(INCIDENT_COMMANDS)]))
        ),
        SectionBlock(text=MarkdownTextObject(text=f"{_aliases_line()}\n{_types_line()}")),
        ContextBlock(elements=[MarkdownTextObject(text=FOOTER)]),
    ]
    return SlackMessage(text=HELP_TEXT, blocks=tuple(blocks))
