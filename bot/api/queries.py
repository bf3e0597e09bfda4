"""List and detail reads for the API and the CLI, and the validation of their filters.

Filters are parsed here, once, so ``GET /api/incidents?since=...`` and
``oor-bot incidents list --since ...`` accept and reject the same values with the same
messages. A page of incidents costs three queries whatever its size: the incidents, then
the steps and the roles of all of them at once (never one query per incident).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot.domain.incident import IncidentSnapshot, TimelineEntry
from bot.domain.types import MAX_ID, IncidentStatus, OorType
from bot.storage import incidents as repo
from bot.storage.models import IncidentRow

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
# Incident ids are a 32-bit integer column: a bigger number cannot exist (and PostgreSQL
# would fail the comparison rather than find nothing).
MAX_INCIDENT_NUMBER = MAX_ID


class QueryError(ValueError):
    """An invalid filter. ``field`` names the parameter (``status``, ``since``...)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message

    def to_json(self) -> dict[str, str]:
        return {"error": "invalid_query", "field": self.field, "message": self.message}


@dataclass(frozen=True)
class IncidentQuery:
    """Which incidents to list: every filter is optional; the newest come first."""

    statuses: tuple[IncidentStatus, ...] = ()
    type: OorType | None = None
    since: datetime | None = None
    limit: int = DEFAULT_LIMIT
    # Private incidents only for a caller holding the private token (bot.domain.privacy).
    include_private: bool = False

    def __post_init__(self) -> None:
        if self.since is not None and self.since.tzinfo is None:
            raise QueryError("since", "must include a time zone")
        if not 1 <= self.limit <= MAX_LIMIT:
            raise QueryError("limit", f"must be between 1 and {MAX_LIMIT}")


def parse_statuses(text: str) -> tuple[IncidentStatus, ...]:
    """``open`` or a comma list such as ``open,resolved``."""
    values: list[IncidentStatus] = []
    allowed = ", ".join(s.value for s in IncidentStatus)
    for item in text.split(","):
        item = item.strip().lower()
        if not item:
            continue
        try:
            status = IncidentStatus(item)
        except ValueError:
            raise QueryError("status", f"unknown status {item!r}; use {allowed}") from None
        if status not in values:
            values.append(status)
    if not values:
        raise QueryError("status", f"give at least one of {allowed}")
    return tuple(values)


def parse_type(text: str) -> OorType:
    try:
        return OorType(text.strip().lower())
    except ValueError:
        allowed = ", ".join(t.value for t in OorType)
        raise QueryError("type", f"unknown type {text.strip()!r}; use {allowed}") from None


def parse_since(text: str, *, default_tz: ZoneInfo | None = None) -> datetime:
    """An ISO 8601 datetime with a time zone (``2026-11-25T08:00:00Z``).

    Without ``default_tz`` a value without a zone is refused (the API: guessing the zone
    would silently shift the window); the CLI passes the plan's zone instead.
    """
    value = text.strip()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise QueryError(
            "since", "must be an ISO 8601 datetime with a time zone, e.g. 2026-11-25T08:00:00Z"
        ) from None
    if parsed.tzinfo is None:
        if default_tz is None:
            raise QueryError(
                "since",
                "must include a time zone, e.g. 2026-11-25T08:00:00Z or 2026-11-25T16:00:00+08:00",
            )
        parsed = parsed.replace(tzinfo=default_tz)
    try:
        # In UTC here, so a value at the calendar's edge fails now and not in the query:
        # 0001-01-01T00:00:00+14:00 is in year 0 in UTC.
        return parsed.astimezone(UTC)
    except OverflowError:
        raise QueryError("since", "is outside the calendar once converted to UTC") from None


def parse_limit(text: str) -> int:
    try:
        limit = int(text.strip())
    except ValueError:
        raise QueryError("limit", f"must be a whole number from 1 to {MAX_LIMIT}") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise QueryError("limit", f"must be from 1 to {MAX_LIMIT}")
    return limit


def list_incidents(session: Session, query: IncidentQuery) -> list[IncidentSnapshot]:
    """Incidents matching ``query``, newest first (ties: highest number first)."""
    stmt = select(IncidentRow)
    if query.statuses:
        stmt = stmt.where(col(IncidentRow.status).in_([s.value for s in query.statuses]))
    if query.type is not None:
        stmt = stmt.where(IncidentRow.type == query.type.value)
    if query.since is not None:
        stmt = stmt.where(col(IncidentRow.opened_at) >= query.since)
    if not query.include_private:
        stmt = stmt.where(col(IncidentRow.private).is_(False))
    stmt = stmt.order_by(col(IncidentRow.opened_at).desc(), col(IncidentRow.id).desc()).limit(
        query.limit
    )
    rows = session.exec(stmt).all()
    ids = [row.id for row in rows if row.id is not None]
    steps = repo.steps_of_many(session, ids)
    roles = repo.roles_of_many(session, ids)
    return [
        repo.build_snapshot(row, steps.get(row.id, ()), roles.get(row.id, {}))
        for row in rows
        if row.id is not None
    ]


def get_incident(
    session: Session, number: int, *, include_private: bool = False
) -> tuple[IncidentSnapshot, list[TimelineEntry]] | None:
    """One incident with its timeline (oldest entry first), or None (also for a private
    one unless ``include_private``: the caller cannot tell it from a missing one)."""
    if not 1 <= number <= MAX_INCIDENT_NUMBER:
        return None
    snapshot = repo.snapshot(session, number)
    if snapshot is None or (snapshot.private and not include_private):
        return None
    return snapshot, repo.timeline_of(session, number)
