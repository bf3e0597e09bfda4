"""The draft message in the incident channel, and the form to edit a draft.

The draft message is re-rendered from the stored draft after every change and updated in
place: while it waits it shows the text (and the SMS length) with Approve / Edit /
Discard; once approved or discarded it says by whom and when, without buttons.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.domain.plan import Plan
from bot.domain.plan_sections import Locale, NotifyChannel
from bot.notifications.model import Draft, DraftMessage, DraftState
from bot.notifications.sms import SmsCount, count_sms
from bot.notifications.templates import BODY_LIMIT, SUBJECT_LIMIT, has_subject, sms_signature
from bot.slack.text import escape, local_time, mention, truncate
from bot.slack.views import SlackMessage

APPROVE = "notify_approve"
EDIT = "notify_edit"
DISCARD = "notify_discard"
EDIT_CALLBACK_ID = "notify_edit_modal"
BODY_ID = "body"
SUBJECT_ID = "subject"
ACTIONS_BLOCK_ID = "notify_draft_actions"

CHANNEL_TITLES = {
    NotifyChannel.SMS: "SMS 短信",
    NotifyChannel.EMAIL: "Email 邮件",
    NotifyChannel.STATUS_PAGE: "Status page 状态页",
}
LOCALE_TITLES = {Locale.ZH_CN: "中文 zh-CN", Locale.EN: "English en"}
STATE_ICONS = {DraftState.DRAFT: "📝", DraftState.APPROVED: "✅", DraftState.DISCARDED: "🗑️"}
_CHUNK = 2900  # of the body per section (Slack: 3000 characters), leaving room for ```


def subject_label(channel: NotifyChannel) -> str:
    return "Title 标题" if channel is NotifyChannel.STATUS_PAGE else "Subject 主题"


def draft_fallback_text(draft: Draft, incident_key: str) -> str:
    return (
        f"{incident_key} customer notification {draft.label}: "
        f"{'awaiting approval' if draft.state is DraftState.DRAFT else draft.state.value}"
    )


def sms_count_line(count: SmsCount, signature: str | None) -> str:
    line = f"📏 {count.describe()}"
    if signature:
        line += f" · signature {escape(signature)} included"
    return line


def _preformatted(body: str) -> list[SectionBlock]:
    # Shown verbatim so reviewers see exactly what customers will get; a ``` in the
    # text would end the block early, so it is defused.
    text = escape(body).replace("```", "'''")
    return [
        SectionBlock(text=MarkdownTextObject(text=f"```{chunk}```"))
        for chunk in _chunks(text, _CHUNK)
    ]


def _chunks(escaped: str, size: int) -> list[str]:
    """Pieces of at most ``size`` characters that never cut an ``&amp;``-style entity in
    two (half an entity would show as a literal ``&am`` in Slack)."""
    chunks: list[str] = []
    while len(escaped) > size:
        cut = size
        amp = escaped.rfind("&", 0, cut)
        if amp > 0 and ";" not in escaped[amp:cut]:
            cut = amp
        chunks.append(escaped[:cut])
        escaped = escaped[cut:]
    return [*chunks, escaped] if escaped or not chunks else chunks


def _who_when(prefix: str, user: str | None, at: Any, tz: ZoneInfo) -> str:
    return f"{prefix} {mention(user) if user else 'someone'} at {local_time(at, tz)}"


def _delivery_line(draft: Draft, webhook: str | None, tz: ZoneInfo) -> str:
    if not webhook:
        return (
            "No delivery webhook is configured for this channel: send the approved text "
            "through the usual tool."
        )
    if draft.delivered_at is not None:
        at = local_time(draft.delivered_at, tz)
        return f"📤 Delivered to the {draft.channel.value} webhook at {at}."
    status = f" Last attempt: {escape(draft.delivery_status)}." if draft.delivery_status else ""
    return f"📤 Delivery to the {draft.channel.value} webhook is queued.{status}"


def build_draft_message(
    draft: Draft,
    *,
    incident_key: str,
    tz: ZoneInfo,
    signature: str | None = None,
    webhook: str | None = None,
) -> SlackMessage:
    """``signature``: the plan's SMS signature when this is a Chinese SMS (it is counted)."""
    title = (
        f"{STATE_ICONS[draft.state]} *Customer notification · {CHANNEL_TITLES[draft.channel]} "
        f"· {LOCALE_TITLES[draft.locale]}* — {incident_key}"
    )
    who = [_who_when("Drafted by", draft.drafted_by, draft.drafted_at, tz)]
    if draft.edited_by:
        who.append(_who_when("edited by", draft.edited_by, draft.edited_at, tz))
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=title)),
        ContextBlock(elements=[MarkdownTextObject(text=" · ".join(who))]),
    ]
    if draft.subject is not None:
        label = subject_label(draft.channel)
        subject = truncate(escape(draft.subject), 2800)
        blocks.append(SectionBlock(text=MarkdownTextObject(text=f"*{label}:* {subject}")))
    blocks.extend(_preformatted(draft.body))
    if draft.channel is NotifyChannel.SMS:
        count = count_sms(draft.body)
        blocks.append(
            ContextBlock(elements=[MarkdownTextObject(text=sms_count_line(count, signature))])
        )
        if count.warning:
            blocks.append(SectionBlock(text=MarkdownTextObject(text=f"⚠️ {count.warning}")))
    if draft.state is DraftState.DRAFT:
        blocks.append(_buttons(draft))
    elif draft.state is DraftState.APPROVED:
        done = _who_when("✅ Approved by", draft.approved_by, draft.approved_at, tz)
        blocks.append(SectionBlock(text=MarkdownTextObject(text=f"*{done}*")))
        blocks.append(
            ContextBlock(elements=[MarkdownTextObject(text=_delivery_line(draft, webhook, tz))])
        )
    else:
        done = _who_when("🗑️ Discarded by", draft.discarded_by, draft.discarded_at, tz)
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=done)]))
    return SlackMessage(text=draft_fallback_text(draft, incident_key), blocks=tuple(blocks))


def _buttons(draft: Draft) -> ActionsBlock:
    value = str(draft.id)
    return ActionsBlock(
        block_id=ACTIONS_BLOCK_ID,
        elements=[
            ButtonElement(text="Approve", action_id=APPROVE, value=value, style="primary"),
            ButtonElement(text="Edit", action_id=EDIT, value=value),
            ButtonElement(
                text="Discard",
                action_id=DISCARD,
                value=value,
                style="danger",
                confirm=ConfirmObject(
                    title="Discard this draft?",
                    text=f"The {draft.label} draft will not be sent.",
                    confirm="Discard",
                    deny="Keep it",
                ),
            ),
        ],
    )


# -- the edit form ---------------------------------------------------------------------
def build_edit_modal(draft: Draft, *, incident_key: str, signature: str | None = None) -> View:
    blocks: list[Block] = [
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"*{incident_key}* · {CHANNEL_TITLES[draft.channel]} · "
                    f"{LOCALE_TITLES[draft.locale]}"
                )
            ]
        )
    ]
    if has_subject(draft.channel):
        blocks.append(
            InputBlock(
                block_id=SUBJECT_ID,
                label=subject_label(draft.channel),
                element=PlainTextInputElement(
                    action_id=SUBJECT_ID,
                    max_length=SUBJECT_LIMIT,
                    initial_value=truncate(draft.subject or "", SUBJECT_LIMIT) or None,
                ),
            )
        )
    hint = None
    if draft.channel is NotifyChannel.SMS:
        hint = "Counted again when saved: 70 characters per segment with any Chinese, else 160."
        if signature:
            hint += f" Keep the signature {signature} at the start."
    blocks.append(
        InputBlock(
            block_id=BODY_ID,
            label="Message 内容",
            element=PlainTextInputElement(
                action_id=BODY_ID,
                multiline=True,
                max_length=BODY_LIMIT,
                initial_value=truncate(draft.body, BODY_LIMIT),
            ),
            hint=hint,
        )
    )
    metadata = {
        "draft": draft.id,
        "incident": draft.incident_number,
        "channel": draft.channel.value,
        "locale": draft.locale.value,
    }
    return View(
        type="modal",
        callback_id=EDIT_CALLBACK_ID,
        title="Edit notification",
        submit="Save",
        close="Cancel",
        private_metadata=json.dumps(metadata),
        blocks=blocks,
    )


def edit_values(view: dict[str, Any]) -> tuple[dict[str, Any], str | None, str]:
    """``(metadata, subject, body)`` from a submitted edit form."""
    try:
        metadata = json.loads(view.get("private_metadata") or "{}")
    except ValueError:  # not a form this version built: the caller finds no draft in it
        metadata = {}
    if not isinstance(metadata, dict):
        metadata = {}
    values = (view.get("state") or {}).get("values") or {}

    def text(block_id: str) -> str | None:
        entry = (values.get(block_id) or {}).get(block_id) or {}
        value = entry.get("value")
        return str(value) if value is not None else None

    return metadata, text(SUBJECT_ID), text(BODY_ID) or ""


def edit_errors(
    channel: NotifyChannel,
    locale: Locale,
    subject: str | None,
    body: str,
    signature: str | None,
) -> dict[str, str]:
    """Problems shown next to the form's fields; checked before anything is stored."""
    errors: dict[str, str] = {}
    if has_subject(channel) and not (subject or "").strip():
        errors[SUBJECT_ID] = f"Give the {subject_label(channel).split()[0].lower()}."
    text = body.strip()
    if not text:
        errors[BODY_ID] = "Write the message."
    elif (
        channel is NotifyChannel.SMS
        and locale is Locale.ZH_CN
        and signature
        and not text.startswith(signature)
    ):
        errors[BODY_ID] = f"Chinese SMS must start with the signature {signature} (短信签名)."
    return errors


def draft_renderer(plan: Plan) -> Callable[[DraftMessage], SlackMessage]:
    """The Slack rendering of message kind ``notification_draft``."""

    def render(data: DraftMessage) -> SlackMessage:
        draft = data.draft
        return build_draft_message(
            draft,
            incident_key=data.incident_key,
            tz=plan.tz,
            signature=sms_signature(plan, draft.channel, draft.locale),
            webhook=plan.notifications.delivery_webhooks.get(draft.channel),
        )

    return render
