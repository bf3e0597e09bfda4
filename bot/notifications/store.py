"""What other features may ask of the stored customer notifications."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, select

from bot.notifications.model import DraftState
from bot.storage.models import NotificationDraftRow


def approved_count(session: Session, incident_id: int) -> int:
    """Customer notifications approved for sending (the post-mortem's impact)."""
    count = session.exec(
        select(func.count())
        .select_from(NotificationDraftRow)
        .where(
            NotificationDraftRow.incident_id == incident_id,
            NotificationDraftRow.state == DraftState.APPROVED.value,
        )
    ).one()
    return int(count or 0)
