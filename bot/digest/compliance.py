"""Step-deadline compliance, computed in SQL from the plan's deadlines.

Each incident step gets its deadline from the plan through nested ``CASE`` expressions
(type, then severity, then step: the plan is small and fixed, so it is written into the
query) and, for ``after`` deadlines, the completion time of the step it counts from (one
pivoted row per incident). A step is *on time* when done by its due time (judged at its
completion), *missed* when not done by then (judged at the due time); a week counts the
steps judged in it, so every step is counted once, in one week. Skipped steps are not
counted. Due times are wall-clock durations from the plan (working hours are not applied).

Chosen over counting level-1 ``reminder`` rows: those exist only where the reminder
engine ran, and say nothing about the steps that were done on time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, literal, not_, or_, select
from sqlmodel import Session

from bot.digest import sql
from bot.domain.plan import Deadline, Plan
from bot.domain.types import OorType, Severity, Step, StepState
from bot.storage.models import IncidentRow, StepRow

_INCIDENT: Any = IncidentRow.__table__  # type: ignore[attr-defined]
_STEP: Any = StepRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Compliance:
    met: int
    total: int

    @property
    def share(self) -> float | None:
        return self.met / self.total if self.total else None


Rule = tuple[str, str, str]  # (type, severity, step)


def _deadline_rules(plan: Plan) -> dict[Rule, Deadline]:
    return {
        (oor_type.value, severity.value, step.value): deadline
        for oor_type in OorType
        for severity in Severity
        for step, deadline in plan.for_type(oor_type).deadline_map(severity).items()
    }


def _by_rule(values: dict[Rule, Any], incident: Any, step: Any) -> Any:
    """Nested simple CASEs (type, then severity, then step) picking each row's value:
    a dozen comparisons per row however many rules the plan has."""
    tree: dict[str, dict[str, dict[str, Any]]] = {}
    for (oor_type, severity, step_name), value in values.items():
        tree.setdefault(oor_type, {}).setdefault(severity, {})[step_name] = value
    return case(
        {
            oor_type: case(
                {
                    severity: case(steps, value=step, else_=None)
                    for severity, steps in severities.items()
                },
                value=incident.severity,
                else_=None,
            )
            for oor_type, severities in tree.items()
        },
        value=incident.type,
        else_=None,
    )


def step_compliance(
    session: Session, dialect: str, plan: Plan, start: datetime, end: datetime
) -> dict[str, Compliance]:
    rules = _deadline_rules(plan)
    if not rules:
        return {}
    incident, steps = _INCIDENT.c, _STEP.c
    # When each step a deadline counts from ("after: resolve") was done, one row per incident.
    afters = sorted({d.after.value for d in rules.values() if d.after is not None})
    done_at = (
        select(
            steps.incident_id,
            *[func.max(case((steps.step == a, steps.completed_at))).label(a) for a in afters],
        )
        .group_by(steps.incident_id)
        .subquery("done_at")
    )
    base_at = _by_rule(
        {
            rule: incident.opened_at if d.after is None else done_at.c[d.after.value]
            for rule, d in rules.items()
        },
        incident,
        steps.step,
    )
    within = _by_rule(
        {rule: literal(d.within.total_seconds()) for rule, d in rules.items()},
        incident,
        steps.step,
    )
    joined = _STEP.join(_INCIDENT, incident.id == steps.incident_id)
    if afters:
        joined = joined.outerjoin(done_at, done_at.c.incident_id == steps.incident_id)
    judged_rows = (
        select(
            steps.step.label("step"),
            (steps.state == StepState.DONE.value).label("done"),
            sql.epoch(steps.completed_at, dialect).label("done_s"),
            (sql.epoch(base_at, dialect) + within).label("due_s"),
        )
        .select_from(joined)
        .where(incident.opened_at < end, steps.state != StepState.SKIPPED.value)
        .cte("judged")
    )
    # Materialized on PostgreSQL: each row's due time is computed once, not again in every
    # condition below (the planner would inline the expressions; 2x faster at 10k incidents).
    judged = judged_rows.prefix_with("MATERIALIZED") if dialect == "postgresql" else judged_rows
    j = judged.c
    start_s, end_s = start.timestamp(), end.timestamp()
    on_time = and_(j.done, j.done_s.is_not(None), j.done_s <= j.due_s)
    met = and_(on_time, j.done_s >= start_s, j.done_s < end_s)
    missed = and_(not_(on_time), j.due_s >= start_s, j.due_s < end_s)
    rows = session.execute(
        select(j.step, sql.count_if(met), sql.count_if(missed))
        .where(j.due_s.is_not(None), or_(met, missed))
        .group_by(j.step)
    ).all()
    found = {str(step): (int(m or 0), int(x or 0)) for step, m, x in rows}
    with_deadline = {step for (_type, _severity, step) in rules}
    result: dict[str, Compliance] = {}
    for step in Step:
        if step.value in with_deadline:
            met_n, missed_n = found.get(step.value, (0, 0))
            result[step.value] = Compliance(met_n, met_n + missed_n)
    return result
