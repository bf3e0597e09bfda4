"""The review notes of an incident (the form's "what happened", root cause…), one row each.

Every function works in the caller's session (one transaction).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.postmortems.model import ReviewNotes
from bot.storage.models import ReviewNotesRow

NOTE_LIMIT = 3000


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
