"""Post-mortem storage: review notes, action items, compiled versions — rows in, values out.

Every function works in the caller's session (one transaction). Numbering (action item
``n``, post-mortem version ``n``) happens with the incident row locked by the caller, and
the unique constraints (``incident + number``, ``incident + version``) back that up.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.incidents.job_kinds import JobKind
from bot.postmortems.model import (
    ActionItem,
    NewActionItem,
    Postmortem,
    ReviewNotes,
    StoredPostmortem,
)
from bot.storage import incidents as repo
from bot.storage import jobs
from bot.storage.models import (
    ActionItemRow,
    IncidentRow,
    JobRow,
    NotificationDraftRow,
    PostmortemRow,
    ReviewNotesRow,
    TimelineRow,
)

NOTE_LIMIT = 3000
ACTION_TEXT_LIMIT = 1000
APPROVED = "approved"


# -- review notes ---------------------------------------------------------------------------
def get_notes(session: Session, incident_id: int) -> ReviewNotes | None:
    row = session.get(ReviewNotesRow, incident_id)
    if row is None:
        return None
    return ReviewNotes(
        what_happened=row.what_happened,
        root_cause=row.root_cause,
        went_well=row.went_well,
        to_improve=row.to_improve,
        updated_by=row.updated_by,
        updated_at=row.updated_at,
    )


def upsert_notes(
    session: Session, incident_id: int, notes: ReviewNotes, *, by: str, at: datetime
) -> None:
    """The form shows every field pre-filled, so what it sends replaces what was stored."""
    row = session.get(ReviewNotesRow, incident_id) or ReviewNotesRow(
        incident_id=incident_id, updated_by=by, updated_at=at
    )
    for name in ("what_happened", "root_cause", "went_well", "to_improve"):
        value = notes.text(name)
        setattr(row, name, value[:NOTE_LIMIT] if value else None)
    row.updated_by, row.updated_at = by, at
    session.add(row)


# -- action items ---------------------------------------------------------------------------
def _item(row: ActionItemRow) -> ActionItem:
    return ActionItem(
        number=row.number,
        text=row.text,
        owner=row.owner,
        due=row.due_date,
        done=row.state == "done",
        created_by=row.created_by,
        created_at=row.created_at,
        done_by=row.done_by,
        done_at=row.done_at,
    )


def action_items(session: Session, incident_id: int) -> list[ActionItem]:
    rows = session.exec(
        select(ActionItemRow)
        .where(ActionItemRow.incident_id == incident_id)
        .order_by(col(ActionItemRow.number))
    ).all()
    return [_item(r) for r in rows]


def open_action_items(session: Session, limit: int = 200) -> list[tuple[int, ActionItem]]:
    """Open items of every incident, oldest incident first: ``(incident number, item)``.
    Not those of private incidents: this list is read outside their rooms."""
    rows = session.exec(
        select(ActionItemRow)
        .join(IncidentRow, col(IncidentRow.id) == col(ActionItemRow.incident_id))
        .where(ActionItemRow.state == "open", col(IncidentRow.private).is_(False))
        .order_by(col(ActionItemRow.incident_id), col(ActionItemRow.number))
        .limit(limit)
    ).all()
    return [(r.incident_id, _item(r)) for r in rows]


def add_action_item(
    session: Session, incident_id: int, new: NewActionItem, *, by: str, at: datetime
) -> tuple[ActionItem, bool]:
    """Add the item as the next number; ``(item, False)`` if an open item with the same
    text, owner and due date exists (the same form or command delivered twice)."""
    text = " ".join(new.text.split())[:ACTION_TEXT_LIMIT]
    same = session.exec(
        select(ActionItemRow).where(
            ActionItemRow.incident_id == incident_id,
            ActionItemRow.state == "open",
            ActionItemRow.text == text,
            ActionItemRow.owner == new.owner if new.owner else col(ActionItemRow.owner).is_(None),
        )
    ).all()
    for row in same:
        if row.due_date == new.due:
            return _item(row), False
    highest = session.exec(
        select(func.max(ActionItemRow.number)).where(ActionItemRow.incident_id == incident_id)
    ).one()
    row = ActionItemRow(
        incident_id=incident_id,
        number=int(highest or 0) + 1,
        text=text,
        owner=new.owner,
        due_date=new.due,
        created_by=by,
        created_at=at,
    )
    session.add(row)
    session.flush()
    return _item(row), True


def complete_action_item(
    session: Session, incident_id: int, number: int, *, by: str, at: datetime
) -> tuple[ActionItem, bool] | None:
    """Mark item ``number`` done; ``(item, False)`` when it already was; None: no such item."""
    row = session.exec(
        select(ActionItemRow).where(
            ActionItemRow.incident_id == incident_id, ActionItemRow.number == number
        )
    ).first()
    if row is None:
        return None
    if row.state == "done":
        return _item(row), False
    row.state, row.done_by, row.done_at = "done", by, at
    session.add(row)
    return _item(row), True


# -- the timeline ---------------------------------------------------------------------------
def add_timeline_entry(
    session: Session,
    incident_id: int,
    *,
    at: datetime,
    actor: str,
    kind: str,
    text: str,
    mentions: tuple[str, ...] = (),
    announce: bool = False,
) -> None:
    """A timeline entry; ``announce`` also says it in the channel (once, as an outbox job)."""
    entry = TimelineRow(
        incident_id=incident_id,
        at=at,
        actor=actor,
        kind=kind,
        text=text[:4000],
        data={"mentions": list(mentions)},
    )
    session.add(entry)
    session.flush()
    if announce:
        jobs.enqueue(
            session,
            JobKind.POST_NOTICE,
            now=at,
            dedup_key=f"{JobKind.POST_NOTICE}:{incident_id}:timeline:{entry.id}",
            incident_id=incident_id,
            payload={"actor": actor, "text": text, "mentions": list(mentions), "kind": kind},
        )


def timeline_actors(session: Session, incident_id: int) -> set[str]:
    """Everyone who wrote in the timeline (user ids and system names alike)."""
    return set(
        session.exec(
            select(TimelineRow.actor).where(TimelineRow.incident_id == incident_id).distinct()
        ).all()
    )


# -- customer notifications (step 5) ----------------------------------------------------------
def notifications_sent(session: Session, incident_id: int) -> int:
    """Customer notifications approved for sending (``notification_draft`` rows)."""
    count = session.exec(
        select(func.count())
        .select_from(NotificationDraftRow)
        .where(
            NotificationDraftRow.incident_id == incident_id,
            NotificationDraftRow.state == APPROVED,
        )
    ).one()
    return int(count or 0)


# -- compiled versions ------------------------------------------------------------------------
def _stored(row: PostmortemRow) -> StoredPostmortem:
    assert row.id is not None
    return StoredPostmortem(
        id=row.id,
        incident_number=row.incident_id,
        version=row.version,
        markdown=row.markdown,
        facts=dict(row.facts or {}),
        compiled_by=row.compiled_by,
        compiled_at=row.compiled_at,
        published_by=row.published_by,
        published_at=row.published_at,
        file_id=row.file_id,
    )


def next_version(session: Session, incident_id: int) -> int:
    highest = session.exec(
        select(func.max(PostmortemRow.version)).where(PostmortemRow.incident_id == incident_id)
    ).one()
    return int(highest or 0) + 1


def add_postmortem(
    session: Session,
    incident_id: int,
    version: int,
    postmortem: Postmortem,
    *,
    by: str,
    at: datetime,
) -> StoredPostmortem:
    row = PostmortemRow(
        incident_id=incident_id,
        version=version,
        markdown=postmortem.markdown,
        facts=postmortem.facts,
        compiled_by=by,
        compiled_at=at,
    )
    session.add(row)
    session.flush()
    return _stored(row)


def get_postmortem(
    session: Session, incident_id: int, version: int | None = None
) -> StoredPostmortem | None:
    """Version ``version``, or the newest one."""
    stmt = select(PostmortemRow).where(PostmortemRow.incident_id == incident_id)
    if version is not None:
        stmt = stmt.where(PostmortemRow.version == version)
    row = session.exec(stmt.order_by(col(PostmortemRow.version).desc())).first()
    return _stored(row) if row else None


def postmortem_by_id(session: Session, postmortem_id: int) -> StoredPostmortem | None:
    row = session.get(PostmortemRow, postmortem_id)
    return _stored(row) if row else None


def versions(session: Session, incident_id: int) -> list[int]:
    return list(
        session.exec(
            select(PostmortemRow.version)
            .where(PostmortemRow.incident_id == incident_id)
            .order_by(col(PostmortemRow.version))
        ).all()
    )


def set_file_id(session: Session, postmortem_id: int, file_id: str) -> None:
    row = session.get(PostmortemRow, postmortem_id)
    if row is not None and row.file_id is None:
        row.file_id = file_id
        session.add(row)


def mark_published(session: Session, postmortem_id: int, *, by: str, at: datetime) -> bool:
    """Record who published the version and when; False if someone already had."""
    row = session.get(PostmortemRow, postmortem_id)
    if row is None or row.published_at is not None:
        return False
    row.published_by, row.published_at = by, at
    session.add(row)
    return True


# -- incidents and jobs -----------------------------------------------------------------------
def lock_incident(session: Session, number: int) -> IncidentRow | None:
    return repo.get_row(session, number, for_update=True)


def other_pending_jobs(session: Session, incident_id: int, job_id: int) -> int:
    """Jobs of the incident still to run (parked ones not counted: they wait for a person)."""
    count = session.exec(
        select(func.count())
        .select_from(JobRow)
        .where(
            JobRow.incident_id == incident_id,
            JobRow.state == jobs.PENDING,
            col(JobRow.needs_attention).is_(False),
            JobRow.id != job_id,
        )
    ).one()
    return int(count or 0)
