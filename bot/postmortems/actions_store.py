"""Action items: numbered per incident, rows in, values out.

Every function works in the caller's session (one transaction). Numbering (item ``n``)
happens with the incident row locked by the caller, and the unique constraint
(``incident + number``) backs that up.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.postmortems.model import ActionItem, NewActionItem
from bot.storage.models import ActionItemRow, IncidentRow

ACTION_TEXT_LIMIT = 1000


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
