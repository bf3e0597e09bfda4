"""Compiled post-mortem versions: stored, fetched, given their file, published.

Every function works in the caller's session (one transaction). Versions are numbered
with the incident row locked by the caller; the unique constraint (``incident +
version``) backs that up.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.postmortems.model import Postmortem, StoredPostmortem
from bot.storage.models import PostmortemRow


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
