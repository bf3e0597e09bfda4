"""What the status page reads from the database, and nothing more.

Only the columns the page may use are selected: never an incident's title, description,
amounts or merchant ids (the payment method is taken out of ``details`` and the rest of
it dropped at once). An incident's public words are its approved ``status_page`` drafts.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import ColumnElement, func
from sqlmodel import Session, col, select

from bot.domain.clock import as_utc
from bot.domain.plan_sections import Locale, NotifyChannel
from bot.domain.types import IncidentStatus, OorType, Severity, Step
from bot.notifications.model import DraftState
from bot.storage.db import Database
from bot.storage.models import IncidentRow, InstallationRow, NotificationDraftRow, StepRow


@dataclass(frozen=True)
class IncidentFacts:
    """An incident as the public page may know it."""

    number: int
    type: OorType
    severity: Severity
    status: IncidentStatus
    payment_method: str | None
    opened_at: datetime
    resolved_at: datetime | None
    # When step 3 was done: an update approved after it, worded without a status, is
    # "identified" (see bot.statuspage.updates).
    investigated_at: datetime | None
    updated_at: datetime


@dataclass(frozen=True)
class ApprovedUpdate:
    """One approved status_page notification: the public words of one update."""

    draft_id: int
    incident_number: int
    locale: Locale
    subject: str | None
    body: str
    approved_at: datetime


@dataclass(frozen=True)
class PageRecords:
    incidents: dict[int, IncidentFacts]  # the open ones and those with updates in the window
    updates: tuple[ApprovedUpdate, ...]  # in the window, oldest first
    installed_at: datetime | None


def version_key(db: Database) -> Hashable:
    """A cheap fingerprint of everything the page shows from the database.

    Two aggregate reads: approved status_page drafts (count, newest id, newest approval)
    and open incidents (count, newest change). Any approval, any open incident changing
    (severity, payment method), opening, resolving or reopening moves one of them: an
    incident leaving the open set lowers the count unless another enters, whose
    ``updated_at`` is then the newest. Drafts are never un-approved.
    """
    with db.session() as session:
        drafts = session.exec(
            select(
                func.count(),
                func.max(NotificationDraftRow.id),
                func.max(NotificationDraftRow.approved_at),
            ).where(
                NotificationDraftRow.channel == NotifyChannel.STATUS_PAGE.value,
                NotificationDraftRow.state == DraftState.APPROVED.value,
            )
        ).one()
        incidents = session.exec(
            select(func.count(), func.max(IncidentRow.updated_at)).where(
                IncidentRow.status == IncidentStatus.OPEN.value
            )
        ).one()
    return (tuple(drafts), tuple(incidents))


def load_records(db: Database, now: datetime, history_days: int) -> PageRecords:
    since = now - timedelta(days=history_days)
    with db.session() as session:
        drafts = session.exec(
            select(NotificationDraftRow)
            .where(
                NotificationDraftRow.channel == NotifyChannel.STATUS_PAGE.value,
                NotificationDraftRow.state == DraftState.APPROVED.value,
                col(NotificationDraftRow.approved_at) >= since,
            )
            .order_by(col(NotificationDraftRow.approved_at), col(NotificationDraftRow.id))
        ).all()
        updates = tuple(
            ApprovedUpdate(
                draft_id=row.id or 0,
                incident_number=row.incident_id,
                locale=Locale(row.locale),
                subject=row.subject,
                body=row.body,
                approved_at=as_utc(row.approved_at or row.drafted_at),
            )
            for row in drafts
        )
        numbers = {u.incident_number for u in updates}
        wanted: ColumnElement[bool] = col(IncidentRow.status) == IncidentStatus.OPEN.value
        if numbers:
            wanted = sa.or_(wanted, col(IncidentRow.id).in_(numbers))
        incidents = {facts.number: facts for facts in _incidents(session, wanted)}
        installed = session.get(InstallationRow, 1)
    return PageRecords(
        incidents=incidents,
        updates=updates,
        installed_at=as_utc(installed.installed_at) if installed else None,
    )


def _incidents(session: Session, wanted: ColumnElement[bool]) -> list[IncidentFacts]:
    # SQLAlchemy's select: sqlmodel's is typed for at most four columns.
    rows = session.execute(
        sa.select(
            col(IncidentRow.id),
            col(IncidentRow.type),
            col(IncidentRow.severity),
            col(IncidentRow.status),
            col(IncidentRow.details),
            col(IncidentRow.opened_at),
            col(IncidentRow.resolved_at),
            col(IncidentRow.updated_at),
            col(StepRow.completed_at),
        )
        .outerjoin(
            StepRow,
            (col(StepRow.incident_id) == col(IncidentRow.id))
            & (col(StepRow.step) == Step.INVESTIGATE.value),
        )
        .where(wanted)
    ).all()
    found = []
    for number, oor_type, severity, status, details, opened, resolved, updated, done in rows:
        method = (details or {}).get("payment_method")
        found.append(
            IncidentFacts(
                number=number,
                type=OorType(oor_type),
                severity=Severity(severity),
                status=IncidentStatus(status),
                payment_method=str(method) if method else None,
                opened_at=as_utc(opened),
                resolved_at=as_utc(resolved) if resolved else None,
                investigated_at=as_utc(done) if done else None,
                updated_at=as_utc(updated),
            )
        )
    return found
