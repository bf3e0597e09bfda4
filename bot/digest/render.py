"""The digest's text, from ``templates/digest.mrkdwn.j2``, in a surface's :class:`TextStyle`
(how it escapes outside text and names people); the Slack message made of it is in
:mod:`bot.digest.views`. Nothing here knows a chat platform.

Python formats every figure (and its previous-week value and Δ) into plain strings and
writes everything that came from outside (titles, currencies, owners) in the style; the
template only lays them out. The
template runs in Jinja2's sandbox with ``StrictUndefined``: a misspelt name fails loudly
instead of rendering an empty line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from bot.digest.figures import (
    RESOLVE_BUCKETS,
    UNASSIGNED,
    Compliance,
    Digest,
    Durations,
    IncidentLine,
    WeekFigures,
)
from bot.domain.durations import readable_duration
from bot.domain.plan import Plan
from bot.domain.types import OorType, Severity, Step, incident_key
from bot.resources import TEMPLATES_DIR

TEMPLATE = "digest.mrkdwn.j2"
OWNER_LIMIT = 10
MINUS = "−"


@dataclass(frozen=True)
class TextStyle:
    """How a surface writes what came from outside: ``text`` (a currency, say), a
    ``title`` (escaped and shortened to about ``TITLE_LIMIT``), a person by id."""

    text: Callable[[str], str]
    title: Callable[[str], str]
    person: Callable[[str], str]


TITLE_LIMIT = 80


# -- deltas ---------------------------------------------------------------------------------
def _signed(value: float | Decimal | int, text: str) -> str:
    if value > 0:
        return f"+{text}"
    if value < 0:
        return f"{MINUS}{text}"
    return "±0"


def count_delta(current: int, previous: int) -> str:
    """``5 (prev 3, Δ +2)``"""
    change = current - previous
    return f"{current} (prev {previous}, Δ {_signed(change, str(abs(change)))})"


def seconds_text(seconds: float | None) -> str:
    return "—" if seconds is None else duration_text(seconds)


def duration_text(seconds: float) -> str:
    """``1d 2h``, ``8m 30s``: the two largest units."""
    return readable_duration(timedelta(seconds=round(seconds)))


def duration_delta(current: float | None, previous: float | None) -> str:
    """``8m 30s (prev 10m, Δ −1m 30s)``; no Δ when either week has no value."""
    base = f"{seconds_text(current)} (prev {seconds_text(previous)}"
    if current is None or previous is None:
        return base + ")"
    change = round(current - previous)
    return f"{base}, Δ {_signed(change, duration_text(abs(change)))})"


def share_text(compliance: Compliance) -> str:
    share = compliance.share
    if share is None:
        return "— (0 steps)"
    return f"{share:.0%} ({compliance.met}/{compliance.total})"


def share_delta(current: Compliance, previous: Compliance) -> str:
    """``45% (5/11) (prev 71% (5/7), Δ −26 pp)``"""
    base = f"{share_text(current)} (prev {share_text(previous)}"
    if current.share is None or previous.share is None:
        return base + ")"
    points = round(current.share * 100) - round(previous.share * 100)
    return f"{base}, Δ {_signed(points, f'{abs(points)} pp')})"


def money_delta(currency: str, current: Decimal, previous: Decimal) -> str:
    """``CNY 1,244.50 (prev 500.00, Δ +744.50)`` (the currency as given: write it in the
    surface's style)."""
    change = current - previous
    return (
        f"{currency} {current:,.2f} (prev {previous:,.2f}, "
        f"Δ {_signed(change, f'{abs(change):,.2f}')})"
    )


_TYPE_LABELS = {t.value: t.label for t in OorType}


# -- the template context -----------------------------------------------------------------
@dataclass(frozen=True)
class Line:
    label: str
    value: str


def _local_day(moment: Any, plan: Plan) -> str:
    return str(moment.astimezone(plan.tz).strftime("%Y-%m-%d"))


def _period(week: WeekFigures, plan: Plan) -> str:
    last = (week.end - timedelta(seconds=1)).astimezone(plan.tz)
    return f"{_local_day(week.start, plan)} – {last:%Y-%m-%d} ({plan.timezone})"


def _incident_line(line: IncidentLine, plan: Plan, what: str, style: TextStyle) -> str:
    label = _TYPE_LABELS.get(line.type, line.type)
    severity = line.severity.upper()
    when = line.at.astimezone(plan.tz).strftime("%Y-%m-%d %H:%M")
    title = style.title(line.title)
    return f"{incident_key(line.number)} {severity} {label} — {title} ({what} {when})"


def _durations(current: Durations, previous: Durations) -> list[Line]:
    return [
        Line("median", duration_delta(current.median, previous.median)),
        Line("p90", duration_delta(current.p90, previous.p90)),
        Line("incidents", count_delta(current.count, previous.count)),
    ]


def context(digest: Digest, plan: Plan, style: TextStyle) -> dict[str, Any]:
    cur, prev = digest.current, digest.previous
    by_type, prev_by_type = cur.opened_by_type(), prev.opened_by_type()
    by_sev, prev_by_sev = cur.opened_by_severity(), prev.opened_by_severity()
    currencies = sorted(set(cur.amounts) | set(prev.amounts))
    owners = sorted(
        set(cur.action_items) | set(prev.action_items),
        key=lambda o: (-(cur.action_items[o].open if o in cur.action_items else 0), o),
    )
    zero = Compliance(0, 0)
    return {
        "week": cur.week,
        "previous_week": prev.week,
        "period": _period(cur, plan),
        "late": digest.late,
        "opened_total": count_delta(cur.opened_total, prev.opened_total),
        "opened_by_type": [
            Line(OorType(t).label, count_delta(by_type[t], prev_by_type.get(t, 0))) for t in by_type
        ],
        "opened_by_severity": [
            Line(Severity(s).label, count_delta(by_sev[s], prev_by_sev.get(s, 0))) for s in by_sev
        ],
        "mtta": _durations(cur.mtta, prev.mtta),
        "mttr": _durations(cur.mttr, prev.mttr),
        "compliance_total": share_delta(cur.compliance_total, prev.compliance_total),
        "compliance": [
            Line(Step(step).label, share_delta(c, prev.compliance.get(step, zero)))
            for step, c in cur.compliance.items()
        ],
        "affected": count_delta(cur.affected_transactions, prev.affected_transactions),
        "amounts": [
            style.text(
                money_delta(c, cur.amounts.get(c, Decimal(0)), prev.amounts.get(c, Decimal(0)))
            )
            for c in currencies
        ],
        "open_incidents": count_delta(cur.open_incidents, prev.open_incidents),
        "open_list": [_incident_line(line, plan, "opened", style) for line in cur.open_list],
        "open_more": max(0, cur.open_incidents - len(cur.open_list)),
        "postmortems_overdue": count_delta(cur.postmortems_overdue, prev.postmortems_overdue),
        "overdue_list": [
            _incident_line(line, plan, "resolved", style) for line in cur.postmortems_overdue_list
        ],
        "overdue_more": max(0, cur.postmortems_overdue - len(cur.postmortems_overdue_list)),
        "action_items_open": count_delta(cur.action_items_open, prev.action_items_open),
        "action_items_overdue": count_delta(cur.action_items_overdue, prev.action_items_overdue),
        "owners": [
            Line(
                "_unassigned_" if owner == UNASSIGNED else style.person(owner),
                count_delta(
                    cur.action_items[owner].open if owner in cur.action_items else 0,
                    prev.action_items[owner].open if owner in prev.action_items else 0,
                )
                + (
                    f", {cur.action_items[owner].overdue} overdue"
                    if owner in cur.action_items and cur.action_items[owner].overdue
                    else ""
                ),
            )
            for owner in owners[:OWNER_LIMIT]
        ],
        "owners_more": max(0, len(owners) - OWNER_LIMIT),
        "resolve_buckets": [
            Line(label, str(n))
            for (label, _high), n in zip(RESOLVE_BUCKETS, cur.resolve_buckets, strict=False)
        ],
    }


@cache
def _environment(directory: Path) -> SandboxedEnvironment:
    return SandboxedEnvironment(
        loader=FileSystemLoader(directory),
        undefined=StrictUndefined,
        autoescape=False,  # not HTML: outside text is written in the style in context()
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def render_digest(
    digest: Digest, plan: Plan, style: TextStyle, *, templates: Path = TEMPLATES_DIR
) -> str:
    template = _environment(templates).get_template(TEMPLATE)
    return template.render(**context(digest, plan, style)).strip() + "\n"


def summary_text(digest: Digest) -> str:
    """The notification / fallback ``text``: one line with the headline figures."""
    cur = digest.current
    late = " (posted late)" if digest.late else ""
    return (
        f"Weekly OOR review {cur.week}{late}: {cur.opened_total} incidents opened, "
        f"MTTR median {seconds_text(cur.mttr.median)}, "
        f"{cur.open_incidents} open, {cur.postmortems_overdue} post-mortems overdue"
    )
