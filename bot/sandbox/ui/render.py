"""Block Kit and Slack mrkdwn as safe HTML, for the sandbox page.

Every piece of text from a message is HTML-escaped first (``markupsafe.escape``); the few
formatting rules are then applied to the escaped text, so the only tags in the output are
the ones written here. Slack's own control sequences (``<@U…>``, ``<#C…>``, ``<url|label>``,
``<!here>``) become mentions and links; links are kept only for http(s) and mailto URLs, and
anything else in angle brackets is shown as the literal text it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

JSON = dict[str, Any]

_TOKEN = re.compile(r"```(?P<pre>.+?)```|`(?P<code>[^`\n]+)`|<(?P<ctl>[^<>\n]+)>", re.S)
_PLACEHOLDER = re.compile("\x00(\\d+)\x00")
# Content may not contain "<" so emphasis never straddles a tag made earlier.
_BOLD = re.compile(r"(?<![\w*])\*(?!\s)([^*\n<]+?)(?<!\s)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?!\s)([^_\n<]+?)(?<!\s)_(?![\w_])")
_STRIKE = re.compile(r"(?<![\w~])~(?!\s)([^~\n<]+?)(?<!\s)~(?![\w~])")
_SAFE_URL = re.compile(r"^(https?://|mailto:)[^\s\"'<>`]+$", re.I)
_SPECIAL = {"here": "@here", "channel": "@channel", "everyone": "@everyone"}


def people(snapshot: JSON) -> list[JSON]:
    """The workspace's people: who can act on the page and be picked in a form (not bots,
    not deactivated users, not the bot's own user)."""
    bot_user = (snapshot.get("bot") or {}).get("user_id")
    return [
        u
        for u in snapshot.get("users", [])
        if not u.get("is_bot") and not u.get("deleted") and u["id"] != bot_user
    ]


@dataclass(frozen=True)
class Names:
    """How ids read on the page: users as ``@name``, channels as ``#name``."""

    users: Mapping[str, str] = field(default_factory=dict)
    channels: Mapping[str, str] = field(default_factory=dict)
    usergroups: Mapping[str, str] = field(default_factory=dict)
    # Who a user picker offers: the workspace's people (not bots), as (id, label).
    people: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_snapshot(cls, snapshot: JSON) -> Names:
        return cls(
            people=tuple(
                (u["id"], " · ".join(filter(None, [u.get("name") or u["id"], u.get("real_name")])))
                for u in people(snapshot)
            ),
            users={u["id"]: u.get("name") or u["id"] for u in snapshot.get("users", [])},
            channels={c["id"]: c.get("name") or c["id"] for c in snapshot.get("channels", [])},
            usergroups={
                g["id"]: g.get("handle") or g["id"] for g in snapshot.get("usergroups", [])
            },
        )

    def user(self, user_id: str) -> str:
        return self.users.get(user_id, user_id)


def _unslack(text: str) -> str:
    """Slack's three escapes back to characters (they are HTML-escaped again afterwards)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _esc(text: str) -> str:
    return str(escape(_unslack(text)))


def safe_url(url: str) -> str | None:
    """The URL if it is http(s) or mailto and has nothing that could break out of it."""
    url = _unslack(url).strip()
    return url if _SAFE_URL.match(url) else None


def _control(inner: str, names: Names) -> Markup:
    """One ``<…>`` sequence of Slack's markup."""
    target, _, label = inner.partition("|")
    if target.startswith("@") and len(target) > 1:
        name = label.lstrip("@") or names.user(target[1:])
        return Markup('<span class="mention">@{}</span>').format(_unslack(name))
    if target.startswith("#") and len(target) > 1:
        channel_id = target[1:]
        name = label or names.channels.get(channel_id, channel_id)
        return Markup(
            '<a class="channel-ref" href="?channel={0}" data-channel="{0}">#{1}</a>'
        ).format(channel_id, _unslack(name))
    if target.startswith("!"):
        word = target[1:]
        if word in _SPECIAL:
            return Markup('<span class="mention mention-special">{}</span>').format(_SPECIAL[word])
        if word.startswith("subteam^"):
            handle = label or "@" + names.usergroups.get(word.split("^", 1)[1], "group")
            return Markup('<span class="mention">{}</span>').format(_unslack(handle))
        if label:  # <!date^…|fallback> and friends
            return Markup("{}").format(_unslack(label))
    url = safe_url(target)
    if url is not None:
        return Markup('<a href="{}" target="_blank" rel="noopener noreferrer">{}</a>').format(
            url, _unslack(label or target)
        )
    return Markup("{}").format(_unslack(f"<{inner}>"))


def _token(match: re.Match[str], names: Names) -> Markup:
    if match.group("pre") is not None:
        return Markup("<pre>{}</pre>").format(_unslack(match.group("pre").strip("\n")))
    if match.group("code") is not None:
        return Markup("<code>{}</code>").format(_unslack(match.group("code")))
    return _control(match.group("ctl"), names)


def _emphasis(html: str) -> str:
    html = _BOLD.sub(r"<strong>\1</strong>", html)
    html = _ITALIC.sub(r"<em>\1</em>", html)
    return _STRIKE.sub(r"<s>\1</s>", html)


def _quotes(html: str) -> str:
    lines = html.split("\n")
    out = [
        f'<span class="quote">{line[5:].lstrip()}</span>' if line.startswith("&gt; ") else line
        for line in lines
    ]
    return "\n".join(out)


def mrkdwn(text: str | None, names: Names | None = None) -> Markup:
    """Slack mrkdwn as HTML: bold, italic, strike, code, quotes, mentions and links."""
    names = names or Names()
    text = (text or "").replace("\x00", "")
    pieces: list[Markup] = []
    parts: list[str] = []
    position = 0
    for match in _TOKEN.finditer(text):
        parts.append(_esc(text[position : match.start()]))
        parts.append(f"\x00{len(pieces)}\x00")
        pieces.append(_token(match, names))
        position = match.end()
    parts.append(_esc(text[position:]))
    html = _quotes(_emphasis("".join(parts))).replace("\n", "<br>")
    return Markup(_PLACEHOLDER.sub(lambda m: str(pieces[int(m.group(1))]), html))


def plain(text: str | None) -> Markup:
    """A ``plain_text`` object's text: escaped, line breaks kept."""
    return Markup(str(escape(text or "")).replace("\n", "<br>"))


def text_object(obj: Any, names: Names | None = None) -> Markup:
    if isinstance(obj, str):
        return plain(obj)
    if not isinstance(obj, dict):
        return Markup("")
    if obj.get("type") == "mrkdwn":
        return mrkdwn(str(obj.get("text") or ""), names)
    return plain(str(obj.get("text") or ""))


def label_text(obj: Any) -> str:
    if isinstance(obj, dict):
        return str(obj.get("text") or "")
    return str(obj or "")


# ----------------------------------------------------------------------------- elements
def button(element: JSON, block_id: str, *, interactive: bool = True) -> Markup:
    """A real button: the page's script posts its action_id and value as a click."""
    style = str(element.get("style") or "default")
    if style not in ("primary", "danger"):
        style = "default"
    url = safe_url(str(element.get("url") or ""))
    if url is not None:
        return Markup(
            '<a class="btn btn-{}" href="{}" target="_blank" rel="noopener noreferrer">{}</a>'
        ).format(style, url, label_text(element.get("text")))
    return Markup(
        '<button type="button" class="btn btn-{}" data-action-id="{}" data-value="{}" '
        'data-block-id="{}"{}>{}</button>'
    ).format(
        style,
        element.get("action_id", ""),
        element.get("value", ""),
        block_id,
        Markup("") if interactive else Markup(" disabled"),
        label_text(element.get("text")),
    )


def _element(element: Any, block_id: str, names: Names, interactive: bool) -> Markup:
    if not isinstance(element, dict):
        return Markup("")
    kind = element.get("type")
    if kind == "button":
        return button(element, block_id, interactive=interactive)
    if kind in ("mrkdwn", "plain_text"):
        return Markup('<span class="ctx-text">{}</span>').format(text_object(element, names))
    if kind == "image":
        return Markup('<span class="ctx-image" title="{0}">[{0}]</span>').format(
            element.get("alt_text", "image")
        )
    return Markup('<span class="unsupported">[{}]</span>').format(kind or "element")


# ------------------------------------------------------------------------------- blocks
def block(item: Any, names: Names, *, interactive: bool = True) -> Markup:
    """One Block Kit block of a message (header, section, context, divider, actions, image);
    input blocks are form fields, rendered by `bot.sandbox.ui.forms` in modals."""
    if not isinstance(item, dict):
        return Markup("")
    kind = item.get("type")
    block_id = str(item.get("block_id") or "")
    if kind == "header":
        return Markup('<div class="b-header">{}</div>').format(text_object(item.get("text")))
    if kind == "divider":
        return Markup('<hr class="b-divider">')
    if kind == "section":
        return _section(item, names, interactive)
    if kind == "context":
        elements = Markup(" ").join(
            _element(e, block_id, names, interactive) for e in item.get("elements") or []
        )
        return Markup('<div class="b-context">{}</div>').format(elements)
    if kind == "actions":
        elements = Markup("").join(
            _element(e, block_id, names, interactive) for e in item.get("elements") or []
        )
        return Markup('<div class="b-actions" data-block-id="{}">{}</div>').format(
            block_id, elements
        )
    if kind == "image":
        return Markup('<div class="b-image">[image: {}]</div>').format(item.get("alt_text", ""))
    return Markup('<div class="unsupported">Unsupported block: {}</div>').format(kind)


def _section(item: JSON, names: Names, interactive: bool) -> Markup:
    parts: list[Markup] = []
    if item.get("text"):
        parts.append(
            Markup('<div class="b-text">{}</div>').format(text_object(item["text"], names))
        )
    fields = item.get("fields") or []
    if fields:
        cells = Markup("").join(
            Markup('<div class="b-field">{}</div>').format(text_object(f, names)) for f in fields
        )
        parts.append(Markup('<div class="b-fields">{}</div>').format(cells))
    accessory = item.get("accessory")
    if accessory:
        element = _element(accessory, str(item.get("block_id") or ""), names, interactive)
        parts.append(Markup('<div class="b-accessory">{}</div>').format(element))
    return Markup('<div class="b-section">{}</div>').format(Markup("").join(parts))


def blocks(items: Iterable[Any] | None, names: Names, *, interactive: bool = True) -> Markup:
    return Markup("").join(block(b, names, interactive=interactive) for b in items or [])


def message_body(message: JSON, names: Names, *, interactive: bool = True) -> Markup:
    """What Slack shows for a message: its blocks, else its text (the fallback)."""
    if message.get("blocks"):
        return blocks(message["blocks"], names, interactive=interactive)
    return Markup('<div class="b-text">{}</div>').format(mrkdwn(message.get("text"), names))
