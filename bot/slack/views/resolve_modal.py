"""Step 4, resolve (解决问题): the modal asking what fixed it and why it broke."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.domain.incident import IncidentSnapshot
from bot.domain.types import CauseCategory
from bot.slack.text import truncate
from bot.slack.views.record_modal import INPUT_LIMIT, select_value, state_values, text_value
from bot.slack.views.timeline import clip_escaped

RESOLVE_CALLBACK_ID = "resolve_modal"
SUMMARY_ID = "summary"
CAUSE_ID = "cause"


def cause_option(cause: CauseCategory) -> Option:
    """``Payment channel blocked 支付通道被封``, valued ``channel_blocked``."""
    return Option(value=cause.value, text=f"{cause.label} {cause.label_zh}")


def build_resolve_modal(incident: IncidentSnapshot, initial_summary: str | None = None) -> View:
    """``initial_summary`` (e.g. typed after ``/oor resolve``) wins over a recorded one."""
    summary = initial_summary or incident.resolution_summary
    initial = truncate(summary, INPUT_LIMIT) if summary else None
    cause = incident.cause_category
    blocks: list[Block] = [
        ContextBlock(
            elements=[
                MarkdownTextObject(text=f"*{incident.key}* · {clip_escaped(incident.title, 300)}")
            ]
        ),
        InputBlock(
            block_id=SUMMARY_ID,
            label="What fixed it? 解决方案",
            element=PlainTextInputElement(
                action_id=SUMMARY_ID,
                multiline=True,
                max_length=INPUT_LIMIT,
                initial_value=initial,
                placeholder="e.g. Switched Alipay traffic to the backup acquirer",
            ),
            hint="Shown on the status board and in the review.",
        ),
        InputBlock(
            block_id=CAUSE_ID,
            label="Cause 原因",
            element=StaticSelectElement(
                action_id=CAUSE_ID,
                placeholder="Choose the cause",
                options=[cause_option(c) for c in CauseCategory],
                initial_option=cause_option(cause) if cause else None,
            ),
        ),
    ]
    return View(
        type="modal",
        callback_id=RESOLVE_CALLBACK_ID,
        title=truncate(f"Resolve {incident.key}", 24),
        submit="Resolve",
        close="Cancel",
        private_metadata=str(incident.number),
        blocks=blocks,
    )


def resolve_values(view_state: dict[str, Any]) -> tuple[str | None, str | None]:
    """``(summary, cause value)`` from ``view["state"]["values"]``; ``None`` when missing."""
    values = state_values(view_state)
    return text_value(values, SUMMARY_ID), select_value(values, CAUSE_ID)
