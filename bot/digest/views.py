"""The digest in Slack: its text in mrkdwn (escaped outside text, people as mentions) cut
into sections within Slack's limits, as the renderer of the digest's message kind."""

from __future__ import annotations

from collections.abc import Callable

from slack_sdk.models.blocks import Block, SectionBlock

from bot.digest.figures import Digest
from bot.digest.post import DigestMessage
from bot.digest.render import TITLE_LIMIT, TextStyle, render_digest, summary_text
from bot.domain.plan import Plan
from bot.slack.text import MAX_BLOCKS, SECTION_TEXT_LIMIT, escape, mention, truncate
from bot.slack.views import SlackMessage

SLACK_STYLE = TextStyle(
    text=escape,
    title=lambda title: escape(truncate(title, TITLE_LIMIT)),
    person=lambda user_id: mention(escape(user_id)),
)


def sections(text: str, limit: int = SECTION_TEXT_LIMIT) -> list[str]:
    """Split at paragraph (then line) breaks into pieces of at most ``limit`` characters."""
    pieces: list[str] = []
    current = ""
    for paragraph in text.strip().split("\n\n"):
        for chunk in _fit(paragraph, limit):
            joined = f"{current}\n\n{chunk}" if current else chunk
            if len(joined) <= limit:
                current = joined
            else:
                pieces.append(current)
                current = chunk
    if current:
        pieces.append(current)
    return pieces


def _fit(paragraph: str, limit: int) -> list[str]:
    if len(paragraph) <= limit:
        return [paragraph]
    out: list[str] = []
    current = ""
    for line in paragraph.split("\n"):
        line = truncate(line, limit)
        joined = f"{current}\n{line}" if current else line
        if len(joined) <= limit:
            current = joined
        else:
            out.append(current)
            current = line
    return [*out, current] if current else out


def digest_message(digest: Digest, text: str) -> SlackMessage:
    """The rendered digest in mrkdwn sections (each within Slack's 3000 characters)."""
    blocks: list[Block] = [
        SectionBlock(text={"type": "mrkdwn", "text": piece})
        for piece in sections(text)[:MAX_BLOCKS]
    ]
    return SlackMessage(text=summary_text(digest), blocks=tuple(blocks))


def digest_renderer(plan: Plan) -> Callable[[DigestMessage], SlackMessage]:
    def render(data: DigestMessage) -> SlackMessage:
        return digest_message(data.digest, render_digest(data.digest, plan, SLACK_STYLE))

    return render
