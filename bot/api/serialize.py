"""Incident snapshots as JSON-ready dicts: the one shape of the API and of ``--json``.

- datetimes are ISO 8601 in UTC with a ``Z`` (``2026-11-25T04:30:00Z``);
- decimals (amounts) stay strings so no client turns ``1234.50`` into a float;
- enums are their values (``payment_failure``, ``sev2``, ``in_progress``).

A summary carries the step states as a mapping (``{"respond": "done", ...}``), always
all six steps in plan order; the detail carries each step as an object with who and when.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from bot.domain.incident import IncidentSnapshot, StepRecord, TimelineEntry
from bot.domain.types import Role, Step


def iso(value: datetime | None) -> str | None:
    """Aware datetime -> ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z``. A naive one is a bug upstream
    (storage only hands out aware UTC), so it is refused rather than guessed."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime cannot be serialized as UTC")
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def json_value(value: Any) -> Any:
    """Recursively make ``value`` JSON-ready (decimals as strings, datetimes in UTC)."""
    if isinstance(value, Enum):
        return json_value(value.value)
    if isinstance(value, float) and not math.isfinite(value):
        # Not JSON: a row stored before webhooks refused 1e400 must not fail the answer.
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(json_value(k)): json_value(v) for k, v in value.items()}
    if isinstance(value, Sequence | set | frozenset) and not isinstance(value, bytes):
        return [json_value(v) for v in value]
    return str(value)


def _steps_in_order(snapshot: IncidentSnapshot) -> list[StepRecord]:
    """All six steps in plan order; a step storage has no row for reads as pending."""
    return [snapshot.step(step) for step in Step]


def incident_summary(snapshot: IncidentSnapshot) -> dict[str, Any]:
    return {
        "id": snapshot.key,
        "number": snapshot.number,
        "type": snapshot.type.value,
        "title": snapshot.title,
        "severity": snapshot.severity.value,
        "status": snapshot.status.value,
        "private": snapshot.private,
        "opened_at": iso(snapshot.opened_at),
        "resolved_at": iso(snapshot.resolved_at),
        "closed_at": iso(snapshot.closed_at),
        "reopened_at": iso(snapshot.reopened_at),
        "channel_id": snapshot.channel_id,
        "channel_name": snapshot.channel_name,
        "steps": {r.step.value: r.state.value for r in _steps_in_order(snapshot)},
    }


def step_detail(record: StepRecord) -> dict[str, Any]:
    return {
        "step": record.step.value,
        "number": record.step.number,
        "label": record.step.label,
        "state": record.state.value,
        "started_at": iso(record.started_at),
        "started_by": record.started_by,
        "completed_at": iso(record.completed_at),
        "completed_by": record.completed_by,
        "note": record.note,
    }


def timeline_entry(entry: TimelineEntry) -> dict[str, Any]:
    """An entry as data: ``text`` names people by id; ``said`` is the same sentence as
    parts (``{"person": "U…"}`` for each person named) and ``facts`` its typed values."""
    return {
        "at": iso(entry.at),
        "actor": entry.actor,
        "kind": entry.kind,
        "text": entry.text,
        "said": entry.said.to_json(),
        "facts": json_value(entry.facts),
    }


def incident_detail(
    snapshot: IncidentSnapshot, timeline: Sequence[TimelineEntry]
) -> dict[str, Any]:
    """Everything in the summary, plus the facts, roles, resolution, steps and timeline."""
    detail = incident_summary(snapshot)
    detail.update(
        {
            "source": snapshot.source,
            "occurred_at": iso(snapshot.occurred_at),
            "description": snapshot.description,
            "origin": snapshot.origin,
            "url": snapshot.url,
            "group_key": snapshot.group_key,
            "details": json_value(snapshot.details),
            "roles": {r.value: snapshot.roles[r] for r in Role if r in snapshot.roles},
            "resolution_summary": snapshot.resolution_summary,
            "cause_category": snapshot.cause_category.value if snapshot.cause_category else None,
            "event_count": snapshot.event_count,
            "steps": [step_detail(r) for r in _steps_in_order(snapshot)],
            "timeline": [timeline_entry(e) for e in timeline],
        }
    )
    return detail
