"""A customer notification draft as the rest of the package sees it, and its job kinds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.domain.plan_sections import Locale, NotifyChannel
from bot.storage.models import NotificationDraftRow

POST_DRAFT = "notify_post_draft"  # post the draft message in the incident channel
REFRESH_DRAFT = "notify_refresh_draft"  # chat.update it after a change
DELIVER = "notify_deliver"  # POST the approved message to the plan's delivery webhook
DRAFT_MESSAGE = "notification_draft"  # chat message kind: a draft with its decision buttons

CHANNEL_LABELS = {
    NotifyChannel.SMS: "SMS",
    NotifyChannel.EMAIL: "email",
    NotifyChannel.STATUS_PAGE: "status page",
}


class DraftState(StrEnum):
    DRAFT = "draft"  # waiting for approval
    APPROVED = "approved"
    DISCARDED = "discarded"


@dataclass(frozen=True)
class Draft:
    id: int
    incident_number: int
    channel: NotifyChannel
    locale: Locale
    subject: str | None
    body: str
    state: DraftState
    drafted_by: str
    drafted_at: datetime
    edited_by: str | None = None
    edited_at: datetime | None = None
    approved_by: str | None = None
    approved_at: datetime | None = None
    discarded_by: str | None = None
    discarded_at: datetime | None = None
    message_ts: str | None = None
    delivered_at: datetime | None = None
    delivery_status: str | None = None

    @property
    def label(self) -> str:
        """``SMS (zh-CN)``: how people and the timeline name a draft."""
        return f"{CHANNEL_LABELS[self.channel]} ({self.locale.value})"


def to_draft(row: NotificationDraftRow) -> Draft:
    assert row.id is not None
    return Draft(
        id=row.id,
        incident_number=row.incident_id,
        channel=NotifyChannel(row.channel),
        locale=Locale(row.locale),
        subject=row.subject,
        body=row.body,
        state=DraftState(row.state),
        drafted_by=row.drafted_by,
        drafted_at=row.drafted_at,
        edited_by=row.edited_by,
        edited_at=row.edited_at,
        approved_by=row.approved_by,
        approved_at=row.approved_at,
        discarded_by=row.discarded_by,
        discarded_at=row.discarded_at,
        message_ts=row.message_ts,
        delivered_at=row.delivered_at,
        delivery_status=row.delivery_status,
    )


@dataclass(frozen=True)
class DraftMessage:
    """What the draft's chat message shows (message kind :data:`DRAFT_MESSAGE`)."""

    draft: Draft
    incident_key: str
