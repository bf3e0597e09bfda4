"""Making outside text safe and readable in Slack.

Slack treats ``<…>`` as links and mentions (``<!channel>``, ``<@U123>``,
``<https://evil|bank>``) and ``&`` as the start of an entity, so every piece of text that
came from a webhook or a user is escaped before it reaches a message, a topic or a
block. Only the bot's own markup (mentions it builds itself) stays unescaped.
"""

from __future__ import annotations

import re
from decimal import Decimal

from bot.domain.clock import local_time as local_time  # re-exported for the views
from bot.domain.records import USER_ID_PATTERN, Sentence

SECTION_TEXT_LIMIT = 3000
MAX_BLOCKS = 50


def escape(text: str | None) -> str:
    if not text:
        return ""
    # NUL never reaches Slack, even from rows stored before webhooks refused it.
    text = text.replace("\x00", "")
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int, ellipsis: str = "…") -> str:
    if len(text) <= limit:
        return text
    return text[: max(0, limit - len(ellipsis))] + ellipsis


# A mention as Slack sends it in a command's text: ``<@U123>`` or ``<@U123|bob>``.
MENTION = re.compile(r"<@(" + USER_ID_PATTERN.pattern + r")(?:\|([^>]*))?>")


def mention(user_id: str) -> str:
    return f"<@{user_id}>"


def said_text(sentence: Sentence) -> str:
    """A sentence of outside text and people, as Slack shows it: text escaped, people
    as mentions (a timeline entry, a notice)."""
    return sentence.render(mention, escape)


def reply_text(reply: str | Sentence) -> str:
    """A reply to the person acting: the bot's own words as written (they may carry
    mrkdwn such as `code`), people as mentions."""
    return reply if isinstance(reply, str) else reply.render(mention)


def channel_link(channel_id: str) -> str:
    return f"<#{channel_id}>"


# In a link target ``|`` would end the URL (the rest becoming the label), ``<``/``>`` the
# link, and whitespace the URL: percent-encoded, as browsers send them anyway.
_NOT_IN_TARGET = re.compile(r"[|<>\s\x00-\x1f\x7f]")


def link_target(url: str) -> str:
    """``url`` as the target of ``<target|label>``: it stays one link to the same place."""
    encoded = _NOT_IN_TARGET.sub(lambda m: "".join(f"%{b:02X}" for b in m[0].encode()), url)
    return encoded.replace("&", "&amp;")


def link(url: str, label: str) -> str:
    """A link the bot builds itself: the URL kept one target, the label escaped."""
    return f"<{link_target(url)}|{escape(label).replace('|', '¦')}>"


def link_or_pointer(url: str, label: str, *, limit: int, full_link_at: str) -> str:
    """:func:`link` when it fits in ``limit`` characters; otherwise the label, the start of
    the URL (not a link: a cut URL would lead somewhere else) and where the full one is."""
    linked = link(url, label)
    if len(linked) <= limit:
        return linked
    start = escape(truncate(url, 80))
    pointer = f"{escape(label)}: {start} (too long for a Slack link; the full link: {full_link_at})"
    return truncate(pointer, limit)


def money(amount: Decimal | None, currency: str | None) -> str:
    if amount is None:
        return "—"
    return f"{currency or ''} {amount:,.2f}".strip()
