"""Step-deadline compliance, computed in SQL with the reminders' own deadlines.

A step's deadline is :func:`bot.domain.deadlines.deadline_of`, repeated here in SQL so that
10,000 incidents are judged by the database, not by a Python loop:

- the plan's rule for each step row comes from nested ``CASE`` expressions (type, then
  severity, then step: the plan is small and fixed, so it is written into the query);
- the deadline counts from the opening or from when its ``after`` step was done or skipped
  (one pivoted row per incident), and, for a step not done before the incident was last
  reopened, never from before ``incident.reopened_at``;
- steps that count working hours (the review) add their working time over a calendar of
  the plan's working windows, each with the working time before it, made by
  :func:`bot.domain.deadlines.working_calendar`: the deadline is found by locating the start
  in its window and the end in the first window that holds enough working time, exactly
  as :func:`~bot.domain.deadlines.add_working_hours` walks them. Every other step adds
  wall-clock time.

A step is *on time* when done by its deadline (judged when it was done), *missed* when not
done by then (judged at the deadline); a week counts the steps judged in it, so every step
is counted once, in one week. Skipped steps are not counted. The deadline is the plan's:
snoozing a reminder does not move it.

Chosen over counting level-1 ``reminder`` rows: those exist only where the reminder engine
ran, and say nothing about the steps that were done on time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Float, and_, case, func, literal, not_, or_, select, text, union_all
from sqlmodel import Session

from bot.digest import sql
from bot.domain.deadlines import (
    WORKING_HOURS_STEPS,
    longest_working_span,
    working_calendar,
    working_duration,
)
from bot.domain.plan import Deadline, Plan
from bot.domain.types import OorType, Severity, Step, StepState
from bot.storage.models import IncidentRow, StepRow

_INCIDENT: Any = IncidentRow.__table__  # type: ignore[attr-defined]
_STEP: Any = StepRow.__table__  # type: ignore[attr-defined]
_FINISHED = (StepState.DONE.value, StepState.SKIPPED.value)


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


def _working_seconds(plan: Plan, rules: dict[Rule, Deadline]) -> dict[Rule, float]:
    """The working time (seconds) of each rule that counts working hours."""
    found: dict[Rule, float] = {}
    for rule, deadline in rules.items():
        if Step(rule[2]) not in WORKING_HOURS_STEPS:
            continue
        working = working_duration(deadline.within, plan.working_hours)
        if working is not None:  # no usable window: wall-clock time, like the reminders
            found[rule] = working.total_seconds()
    return found


def _calendar(plan: Plan, since: datetime, until: datetime) -> Any:
    """The working windows of [since, until) as a CTE, in seconds: when each opens and
    closes, when the one before it closed (``since`` for the first), and the working time
    of the calendar before it and up to its end."""
    windows = working_calendar(since, until, plan.working_hours, plan.tz)
    after = [since, *(w.closes for w in windows)]
    rows: list[Any] = [
        select(
            literal(w.opens.timestamp(), Float).label("opens_s"),
            literal(w.closes.timestamp(), Float).label("closes_s"),
            literal(previous.timestamp(), Float).label("after_s"),
            literal(w.worked_before.total_seconds(), Float).label("worked_s"),
            literal((w.worked_before + w.length).total_seconds(), Float).label("worked_end_s"),
        )
        for w, previous in zip(windows, after, strict=False)
    ]
    if not rows:  # not from a usable window over weeks; an empty CTE all the same
        rows = [select(*[literal(0.0, Float)] * 5).where(literal(False))]
    return union_all(*rows).cte("calendar")


def _judged(dialect: str, plan: Plan, start: datetime, end: datetime) -> Any | None:
    """One row per step with a deadline: step, done, done_s, base_s and due_s (seconds)."""
    rules = _deadline_rules(plan)
    if not rules:
        return None
    working = _working_seconds(plan, rules)
    based = _based(dialect, rules, working, end)
    b = based.c
    wall = select(b.step, b.done, b.done_s, b.base_s, (b.base_s + b.within_s).label("due_s"))
    if working:
        span = max(longest_working_span(rules[r].within, plan.working_hours) for r in working)
        wall = wall.where(b.working_s.is_(None))
        judged = union_all(wall, _working_due(dialect, plan, based, start - span, end + span)).cte(
            "judged"
        )
    else:
        judged = wall.cte("judged")
    # Materialized on PostgreSQL: each row's deadline is computed once, not again in every
    # condition below (the planner would inline the expressions).
    return judged.prefix_with("MATERIALIZED") if dialect == "postgresql" else judged


def _based(
    dialect: str, rules: dict[Rule, Deadline], working: dict[Rule, float], end: datetime
) -> Any:
    """Each step row of the incidents opened before ``end`` with its rule: when its deadline
    starts counting (base_s) and how long it runs (within_s wall-clock, or working_s)."""
    incident, steps = _INCIDENT.c, _STEP.c
    # When each step a deadline counts from ("after: resolve") was done or skipped.
    afters = sorted({d.after.value for d in rules.values() if d.after is not None})
    done_at = (
        select(
            steps.incident_id,
            *[
                func.max(
                    case((and_(steps.step == a, steps.state.in_(_FINISHED)), steps.completed_at))
                ).label(a)
                for a in afters
            ],
        )
        .group_by(steps.incident_id)
        .subquery("done_at")
    )
    rule_base = sql.epoch(
        _by_rule(
            {
                rule: incident.opened_at if d.after is None else done_at.c[d.after.value]
                for rule, d in rules.items()
            },
            incident,
            steps.step,
        ),
        dialect,
    )
    reopened = sql.epoch(incident.reopened_at, dialect)
    earlier_round = and_(
        steps.state == StepState.DONE.value, sql.epoch(steps.completed_at, dialect) < reopened
    )
    within = _by_rule(
        {rule: literal(d.within.total_seconds()) for rule, d in rules.items()},
        incident,
        steps.step,
    )
    working_s: Any = literal(None)
    if working:
        working_s = _by_rule(
            {rule: literal(s) for rule, s in working.items()}, incident, steps.step
        )
    joined = _STEP.join(_INCIDENT, incident.id == steps.incident_id)
    if afters:
        joined = joined.outerjoin(done_at, done_at.c.incident_id == steps.incident_id)
    based = (
        select(
            steps.step.label("step"),
            (steps.state == StepState.DONE.value).label("done"),
            sql.epoch(steps.completed_at, dialect).label("done_s"),
            # A step of the round since the last reopening counts from it at the earliest; one
            # done before keeps its round's base. (A NULL compares false: the rule's base.)
            case(
                (and_(reopened > rule_base, not_(earlier_round)), reopened), else_=rule_base
            ).label("base_s"),
            within.label("within_s"),
            working_s.label("working_s"),
        )
        .select_from(joined)
        .where(incident.opened_at < end, steps.state != StepState.SKIPPED.value)
        .cte("based")
    )
    return based.prefix_with("MATERIALIZED") if dialect == "postgresql" else based


def _working_due(dialect: str, plan: Plan, based: Any, since: datetime, until: datetime) -> Any:
    """The rows of ``based`` that count working time, with their deadline added over the
    calendar of [since, until), as :func:`~bot.domain.deadlines.add_working_hours` does.

    The calendar must hold every start whose deadline can be judged in the week and every
    deadline of a start before the week's end (the caller widens the week by the longest
    span a working deadline can take). A start before the calendar gets no deadline (NULL),
    rightly so: its deadline passed before the week began.
    """
    b = based.c
    calendar = _calendar(plan, since, until)
    start_in, end_in = calendar.alias("start_in"), calendar.alias("end_in")
    s, e = start_in.c, end_in.c
    # The start lies in the gap before a window or inside it: the calendar's working time
    # up to the start is that window's ``worked_s`` plus the part of it already gone.
    target = s.worked_s + case((b.base_s > s.opens_s, b.base_s - s.opens_s), else_=0.0)
    located = (
        select(based, (target + b.working_s).label("target_s"))
        .select_from(based.outerjoin(start_in, and_(s.after_s <= b.base_s, b.base_s < s.closes_s)))
        .where(b.working_s.is_not(None))
        .cte("located")
    )
    if dialect == "postgresql":  # the target once per row, not once per window it is held to
        located = located.prefix_with("MATERIALIZED")
    t = located.c
    # The deadline lies in the window whose working time reaches the target.
    due = e.opens_s + (t.target_s - e.worked_s)
    return select(t.step, t.done, t.done_s, t.base_s, due.label("due_s")).select_from(
        located.outerjoin(end_in, and_(e.worked_s < t.target_s, t.target_s <= e.worked_end_s))
    )


def step_compliance(
    session: Session, dialect: str, plan: Plan, start: datetime, end: datetime
) -> dict[str, Compliance]:
    judged = _judged(dialect, plan, start, end)
    if judged is None:
        return {}
    if dialect == "postgresql":
        # The plan written into the query makes its expressions large and the join estimates
        # high: PostgreSQL would JIT-compile them for ~0.8 s to run ~0.3 s of work (10,000
        # incidents, bench/digest.py). For this transaction only.
        session.execute(text("SET LOCAL jit = off"))
    j = judged.c
    start_s, end_s = start.timestamp(), end.timestamp()
    # done_s <= base_s: done before its deadline even began counting, so on time whatever
    # the deadline (which then may lie beyond the calendar).
    on_time = and_(j.done, j.done_s.is_not(None), or_(j.done_s <= j.due_s, j.done_s <= j.base_s))
    met = and_(on_time, j.done_s >= start_s, j.done_s < end_s)
    missed = and_(not_(on_time), j.due_s >= start_s, j.due_s < end_s)
    rows = session.execute(
        select(j.step, sql.count_if(met), sql.count_if(missed))
        .where(or_(met, missed))
        .group_by(j.step)
    ).all()
    found = {str(step): (int(m or 0), int(x or 0)) for step, m, x in rows}
    with_deadline = {step for (_type, _severity, step) in _deadline_rules(plan)}
    result: dict[str, Compliance] = {}
    for step in Step:
        if step.value in with_deadline:
            met_n, missed_n = found.get(step.value, (0, 0))
            result[step.value] = Compliance(met_n, met_n + missed_n)
    return result
