"""The digest's figures for one ISO week, aggregated in SQL.

Every figure is defined so that it is fixed once the week is over (computing the digest
for a past week again gives the same numbers, unless history is edited):

- *opened*: incidents whose ``opened_at`` falls in the week, by OOR type and severity;
  money impact (affected transactions, amount per currency) is summed over them.
- *MTTA / MTTR*: median and p90 of (respond / resolve step ``completed_at`` − ``opened_at``)
  over the incidents whose respond / resolve step was completed *in* the week.
- *step-deadline compliance*: each step's deadline as the reminders compute it
  (:func:`bot.domain.deadlines.deadline_of`: working hours for the review, counted from
  the last reopening), in SQL (see :mod:`bot.digest.compliance`). A step with a deadline
  is judged when its outcome became known: on time when done by its deadline (judged at
  completion), missed when not done by then (judged at the deadline). The week counts
  the steps judged in it. Skipped steps are not counted.
- *open incidents*, *post-mortems overdue* (resolved more than 5 days before the week's
  end with no post-mortem published by then) and *open action items by owner* are
  snapshots as of the week's end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any

from sqlalchemy import and_, exists, false, func, or_, select
from sqlmodel import Session

from bot.digest import sql
from bot.digest.compliance import Compliance, step_compliance
from bot.digest.schedule import IsoWeek, local_midnight
from bot.domain.plan import Plan
from bot.domain.privacy import shown_title
from bot.domain.types import OorType, Severity, Step, StepState
from bot.storage.models import ActionItemRow, IncidentRow, PostmortemRow, StepRow
from bot.storage.sql import dialect_name

INCIDENT: Any = IncidentRow.__table__  # type: ignore[attr-defined]
STEP: Any = StepRow.__table__  # type: ignore[attr-defined]
POSTMORTEM: Any = PostmortemRow.__table__  # type: ignore[attr-defined]
ACTION_ITEM: Any = ActionItemRow.__table__  # type: ignore[attr-defined]

POSTMORTEM_DUE = timedelta(days=5)
# Upper bounds (seconds) of the time-to-resolve histogram's buckets; the last is open.
RESOLVE_BUCKETS: tuple[tuple[str, float | None], ...] = (
    ("<15m", 15 * 60),
    ("15–30m", 30 * 60),
    ("30m–1h", 3600),
    ("1–2h", 2 * 3600),
    ("2–4h", 4 * 3600),
    ("4–8h", 8 * 3600),
    ("8–24h", 24 * 3600),
    ("≥1d", None),
)
LIST_LIMIT = 10
UNASSIGNED = ""


@dataclass(frozen=True)
class Durations:
    """Median and p90 in seconds over ``count`` incidents (None when there are none)."""

    count: int
    median: float | None
    p90: float | None


@dataclass(frozen=True)
class IncidentLine:
    number: int
    type: str
    severity: str
    title: str
    at: datetime  # opened_at for open incidents, resolved_at for overdue post-mortems


@dataclass(frozen=True)
class OwnerItems:
    open: int
    overdue: int


@dataclass(frozen=True)
class WeekFigures:
    week: str
    start: datetime
    end: datetime
    opened: dict[tuple[str, str], int]  # (type, severity) -> count; only non-zero pairs
    mtta: Durations
    mttr: Durations
    compliance: dict[str, Compliance]  # step -> judged steps; only steps with a deadline
    affected_transactions: int
    amounts: dict[str, Decimal]  # currency -> total amount
    open_incidents: int
    open_list: list[IncidentLine]
    postmortems_overdue: int
    postmortems_overdue_list: list[IncidentLine]
    action_items: dict[str, OwnerItems]  # owner user id ("" = unassigned) -> open items
    # For the chart: incidents opened per local day (Monday first) by type, and how long
    # the incidents resolved in the week took, counted in RESOLVE_BUCKETS.
    per_day: dict[str, list[int]] = field(default_factory=dict)
    resolve_buckets: list[int] = field(default_factory=list)

    @property
    def opened_total(self) -> int:
        return sum(self.opened.values())

    def opened_by_type(self) -> dict[str, int]:
        counts = {t.value: 0 for t in OorType}
        for (oor_type, _severity), n in self.opened.items():
            counts[oor_type] = counts.get(oor_type, 0) + n
        return counts

    def opened_by_severity(self) -> dict[str, int]:
        counts = {s.value: 0 for s in Severity}
        for (_type, severity), n in self.opened.items():
            counts[severity] = counts.get(severity, 0) + n
        return counts

    @property
    def compliance_total(self) -> Compliance:
        return Compliance(
            sum(c.met for c in self.compliance.values()),
            sum(c.total for c in self.compliance.values()),
        )

    @property
    def action_items_open(self) -> int:
        return sum(o.open for o in self.action_items.values())

    @property
    def action_items_overdue(self) -> int:
        return sum(o.overdue for o in self.action_items.values())


def compute_week(session: Session, plan: Plan, week: IsoWeek) -> WeekFigures:
    dialect = dialect_name(session)
    start, end = week.bounds(plan.tz)
    opened, affected, amounts = _opened(session, dialect, start, end)
    open_count, open_list = _open_at(session, end)
    overdue_count, overdue_list = _postmortems_overdue(session, end)
    return WeekFigures(
        week=str(week),
        start=start,
        end=end,
        opened=opened,
        mtta=_durations(session, dialect, Step.RESPOND, start, end),
        mttr=_durations(session, dialect, Step.RESOLVE, start, end),
        compliance=step_compliance(session, dialect, plan, start, end),
        affected_transactions=affected,
        amounts=amounts,
        open_incidents=open_count,
        open_list=open_list,
        postmortems_overdue=overdue_count,
        postmortems_overdue_list=overdue_list,
        action_items=_action_items(session, end, week.next().monday),
        per_day=_per_day(session, plan, week),
        resolve_buckets=_resolve_buckets(session, dialect, start, end),
    )


def _in(column: Any, start: datetime, end: datetime) -> Any:
    return and_(column >= start, column < end)


def _opened(
    session: Session, dialect: str, start: datetime, end: datetime
) -> tuple[dict[tuple[str, str], int], int, dict[str, Decimal]]:
    incident = INCIDENT.c
    in_week = _in(incident.opened_at, start, end)
    rows = session.execute(
        select(
            incident.type,
            incident.severity,
            incident.private,
            func.count(),
            sql.int_sum(incident.details, "affected_transactions", dialect),
        )
        .where(in_week)
        .group_by(incident.type, incident.severity, incident.private)
    ).all()
    opened: dict[tuple[str, str], int] = {}
    for t, s, _private, n, _a in rows:
        opened[(str(t), str(s))] = opened.get((str(t), str(s)), 0) + int(n)
    # Private incidents are counted, but their money impact stays in their room.
    affected = sum(int(a or 0) for *_rest, private, _n, a in rows if not private)
    currency = sql.json_text(incident.details, "currency")
    money = session.execute(
        select(currency, sql.amount_sum(incident.details, dialect))
        .where(
            in_week,
            sql.json_text(incident.details, "amount").is_not(None),
            incident.private.is_(false()),
        )
        .group_by(currency)
        .order_by(currency)
    ).all()
    amounts = {str(c or "?"): sql.to_decimal(total, dialect) for c, total in money}
    return opened, affected, amounts


def _durations(
    session: Session, dialect: str, step: Step, start: datetime, end: datetime
) -> Durations:
    incident = INCIDENT.c
    steps = STEP.c
    seconds = sql.epoch(steps.completed_at, dialect) - sql.epoch(incident.opened_at, dialect)
    where = (
        steps.step == step.value,
        steps.state == StepState.DONE.value,
        _in(steps.completed_at, start, end),
    )
    joined = STEP.join(INCIDENT, incident.id == steps.incident_id)
    if dialect == "postgresql":
        count, median, p90 = session.execute(
            select(
                func.count(),
                func.percentile_cont(0.5).within_group(seconds),
                func.percentile_cont(0.9).within_group(seconds),
            )
            .select_from(joined)
            .where(*where)
        ).one()
        return Durations(int(count), _float(median), _float(p90))
    query = select(seconds).select_from(joined).where(*where).order_by(seconds)
    values = [float(v) for v in session.execute(query).scalars().all()]
    return Durations(
        len(values), sql.percentile_cont(values, 0.5), sql.percentile_cont(values, 0.9)
    )


def _per_day(session: Session, plan: Plan, week: IsoWeek) -> dict[str, list[int]]:
    """One row per type, one SUM(CASE …) per local day: day bounds come from the plan's
    time zone in Python, so SQLite (no time zones) and PostgreSQL count alike."""
    i = INCIDENT.c
    days = [*week.days(), week.next().monday]
    bounds = [local_midnight(day, plan.tz) for day in days]
    per_day = [sql.count_if(_in(i.opened_at, lo, hi)) for lo, hi in pairwise(bounds)]
    start, end = bounds[0], bounds[-1]
    rows = session.execute(
        select(i.type, *per_day).where(_in(i.opened_at, start, end)).group_by(i.type)
    ).all()
    counts = {t.value: [0] * 7 for t in OorType}
    for oor_type, *day_counts in rows:
        counts[str(oor_type)] = [int(n or 0) for n in day_counts]
    return counts


def _resolve_buckets(session: Session, dialect: str, start: datetime, end: datetime) -> list[int]:
    incident = INCIDENT.c
    steps = STEP.c
    seconds = sql.epoch(steps.completed_at, dialect) - sql.epoch(incident.opened_at, dialect)
    columns: list[Any] = []
    low: float | None = None
    for _label, high in RESOLVE_BUCKETS:
        conditions: list[Any] = []
        if low is not None:
            conditions.append(seconds >= low)
        if high is not None:
            conditions.append(seconds < high)
        columns.append(sql.count_if(and_(*conditions)))
        low = high
    row = session.execute(
        select(*columns)
        .select_from(STEP.join(INCIDENT, incident.id == steps.incident_id))
        .where(
            steps.step == Step.RESOLVE.value,
            steps.state == StepState.DONE.value,
            _in(steps.completed_at, start, end),
        )
    ).one()
    return [int(n or 0) for n in row]


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _lines(rows: Any) -> list[IncidentLine]:
    """Listed incidents; a private one without its title (bot.domain.privacy)."""
    return [
        IncidentLine(int(n), str(t), str(sv), shown_title(str(title), bool(private)), at)
        for n, t, sv, title, at, private in rows
    ]


def _open_at(session: Session, end: datetime) -> tuple[int, list[IncidentLine]]:
    i = INCIDENT.c
    still_open = and_(
        i.opened_at < end,
        or_(i.resolved_at.is_(None), i.resolved_at >= end),
        or_(i.closed_at.is_(None), i.closed_at >= end),
    )
    count = session.execute(select(func.count()).select_from(INCIDENT).where(still_open))
    listed = session.execute(
        select(i.id, i.type, i.severity, i.title, i.opened_at, i.private)
        .where(still_open)
        .order_by(i.severity, i.opened_at, i.id)
        .limit(LIST_LIMIT)
    ).all()
    return int(count.scalar_one()), _lines(listed)


def _postmortems_overdue(session: Session, end: datetime) -> tuple[int, list[IncidentLine]]:
    i = INCIDENT.c
    pm = POSTMORTEM.c
    published = exists().where(
        pm.incident_id == i.id, pm.published_at.is_not(None), pm.published_at < end
    )
    overdue = and_(i.resolved_at.is_not(None), i.resolved_at < end - POSTMORTEM_DUE, ~published)
    count = session.execute(select(func.count()).select_from(INCIDENT).where(overdue))
    listed = session.execute(
        select(i.id, i.type, i.severity, i.title, i.resolved_at, i.private)
        .where(overdue)
        .order_by(i.resolved_at, i.id)
        .limit(LIST_LIMIT)
    ).all()
    return int(count.scalar_one()), _lines(listed)


def _action_items(session: Session, end: datetime, end_day: date) -> dict[str, OwnerItems]:
    """Open at the week's end, by owner; overdue = due before the local day the week ends."""
    a = ACTION_ITEM.c
    open_then = and_(a.created_at < end, or_(a.done_at.is_(None), a.done_at >= end))
    open_then = and_(open_then, or_(a.state == "open", a.done_at.is_not(None)))
    rows = session.execute(
        select(a.owner, func.count(), sql.count_if(a.due_date < end_day))
        .where(open_then)
        .group_by(a.owner)
        .order_by(func.count().desc(), a.owner)
    ).all()
    return {str(owner or UNASSIGNED): OwnerItems(int(n), int(late or 0)) for owner, n, late in rows}


@dataclass(frozen=True)
class Digest:
    """A week's figures beside the previous week's."""

    current: WeekFigures
    previous: WeekFigures
    late: bool = False


def compute_digest(session: Session, plan: Plan, week: IsoWeek, *, late: bool = False) -> Digest:
    return Digest(
        compute_week(session, plan, week), compute_week(session, plan, week.previous()), late
    )
