"""Snapshots to JSON, with hand-built snapshots: the shape the API and ``--json`` share."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from bot.api.serialize import incident_detail, incident_summary, iso, json_value
from bot.domain.incident import IncidentSnapshot, StepRecord, TimelineEntry
from bot.domain.records import Person, said
from bot.domain.types import (
    CauseCategory,
    IncidentStatus,
    OorType,
    Role,
    Severity,
    Step,
    StepState,
)

OPENED = datetime(2026, 11, 25, 12, 30, tzinfo=ZoneInfo("Asia/Shanghai"))

SUMMARY_KEYS = {
    "id",
    "number",
    "type",
    "title",
    "severity",
    "status",
    "private",
    "opened_at",
    "resolved_at",
    "closed_at",
    "reopened_at",
    "channel_id",
    "channel_name",
    "steps",
}


def _snapshot(**changes: object) -> IncidentSnapshot:
    values: dict[str, object] = {
        "number": 42,
        "type": OorType.AMOUNT_ERROR,
        "title": "Refunds charged twice",
        "severity": Severity.SEV1,
        "status": IncidentStatus.RESOLVED,
        "source": "native",
        "opened_at": OPENED,
        "description": "Refund job ran twice",
        "occurred_at": OPENED - timedelta(minutes=5),
        "origin": "refund-monitor",
        "url": "https://grafana.example.com/d/refunds",
        "group_key": "refunds",
        "details": {
            "amount": Decimal("1234.50"),
            "currency": "CNY",
            "affected_transactions": 57,
            "transaction_ids": ("T1", "T2"),
            "extras": {"first_seen": datetime(2026, 11, 25, 4, 0, tzinfo=UTC)},
        },
        "channel_id": "C0OOR42",
        "channel_name": "oor-42-amount-error",
        "board_ts": "1700000000.000100",
        "event_count": 3,
        "steps": (
            StepRecord(
                Step.RESPOND,
                StepState.DONE,
                started_at=OPENED,
                started_by="U0ALICE",
                completed_at=OPENED + timedelta(minutes=4),
                completed_by="U0ALICE",
            ),
            StepRecord(Step.RECORD, StepState.SKIPPED, note="facts came with the alert"),
            StepRecord(Step.INVESTIGATE, StepState.IN_PROGRESS, started_by="U0BOB"),
        ),
        "roles": {Role.TECH: "U0BOB", Role.COMMANDER: "U0ALICE"},
        "resolved_at": OPENED + timedelta(hours=2),
        "resolution_summary": "Job lock restored",
        "cause_category": CauseCategory.PROGRAM_ERROR,
    }
    values.update(changes)
    return IncidentSnapshot(**values)  # type: ignore[arg-type]


def test_iso_is_utc_with_z() -> None:
    assert iso(OPENED) == "2026-11-25T04:30:00Z"
    assert iso(datetime(2026, 1, 2, 3, 4, 5, 600, tzinfo=UTC)) == "2026-01-02T03:04:05.000600Z"
    assert iso(None) is None
    with pytest.raises(ValueError, match="naive"):
        iso(datetime(2026, 1, 1))


def test_summary_has_the_listed_fields_and_every_step_in_order() -> None:
    summary = incident_summary(_snapshot())
    assert set(summary) == SUMMARY_KEYS
    assert summary["id"] == "OOR-42" and summary["number"] == 42
    assert summary["type"] == "amount_error"
    assert summary["severity"] == "sev1" and summary["status"] == "resolved"
    assert summary["opened_at"] == "2026-11-25T04:30:00Z"
    assert summary["resolved_at"] == "2026-11-25T06:30:00Z"
    assert summary["closed_at"] is None and summary["reopened_at"] is None
    assert summary["private"] is False
    reopened = incident_summary(_snapshot(reopened_at=OPENED + timedelta(hours=3), generation=1))
    assert reopened["reopened_at"] == "2026-11-25T07:30:00Z"
    assert list(summary["steps"].items()) == [
        ("respond", "done"),
        ("record", "skipped"),
        ("investigate", "in_progress"),
        ("resolve", "pending"),
        ("notify", "pending"),
        ("review", "pending"),
    ]
    json.dumps(summary)  # plain JSON types only


def test_detail_adds_facts_roles_steps_and_timeline() -> None:
    timeline = [
        TimelineEntry(OPENED, "refund-monitor", "opened", said("Incident opened")),
        TimelineEntry(
            OPENED + timedelta(minutes=4), "U0ALICE", "step", said("Rapid response done")
        ),
        TimelineEntry(
            OPENED + timedelta(minutes=5), "U0ALICE", "role",
            said("made ", Person("U0BOB"), " the tech lead"),
            {"role": "tech", "person": "U0BOB", "was": None},
        ),
    ]  # fmt: skip
    detail = incident_detail(_snapshot(), timeline)
    assert set(detail) >= SUMMARY_KEYS
    assert detail["details"] == {
        "amount": "1234.50",
        "currency": "CNY",
        "affected_transactions": 57,
        "transaction_ids": ["T1", "T2"],
        "extras": {"first_seen": "2026-11-25T04:00:00Z"},
    }
    assert detail["roles"] == {"commander": "U0ALICE", "tech": "U0BOB"}
    assert list(detail["roles"]) == ["commander", "tech"]  # plan order, not insertion order
    assert detail["cause_category"] == "program_error"
    assert detail["resolution_summary"] == "Job lock restored"
    assert detail["event_count"] == 3
    assert detail["occurred_at"] == "2026-11-25T04:25:00Z"
    assert (detail["description"], detail["origin"], detail["group_key"]) == (
        "Refund job ran twice",
        "refund-monitor",
        "refunds",
    )
    assert detail["url"] == "https://grafana.example.com/d/refunds"
    assert "board_ts" not in detail  # Slack bookkeeping, not incident data
    steps = detail["steps"]
    assert [s["step"] for s in steps] == [s.value for s in Step]
    assert [s["number"] for s in steps] == [1, 2, 3, 4, 5, 6]
    assert steps[0] == {
        "step": "respond",
        "number": 1,
        "label": "Rapid response",
        "state": "done",
        "started_at": "2026-11-25T04:30:00Z",
        "started_by": "U0ALICE",
        "completed_at": "2026-11-25T04:34:00Z",
        "completed_by": "U0ALICE",
        "note": None,
    }
    assert steps[1]["note"] == "facts came with the alert"
    assert steps[5]["state"] == "pending" and steps[5]["started_at"] is None
    # People as ids and as typed parts: the API hands out data, never Slack markup.
    assert detail["timeline"] == [
        {"at": "2026-11-25T04:30:00Z", "actor": "refund-monitor", "kind": "opened",
         "text": "Incident opened", "said": ["Incident opened"], "facts": {}},
        {"at": "2026-11-25T04:34:00Z", "actor": "U0ALICE", "kind": "step",
         "text": "Rapid response done", "said": ["Rapid response done"], "facts": {}},
        {"at": "2026-11-25T04:35:00Z", "actor": "U0ALICE", "kind": "role",
         "text": "made U0BOB the tech lead",
         "said": ["made ", {"person": "U0BOB"}, " the tech lead"],
         "facts": {"role": "tech", "person": "U0BOB", "was": None}},
    ]  # fmt: skip
    json.dumps(detail)


def test_a_bare_snapshot_serializes_with_nulls_and_pending_steps() -> None:
    bare = IncidentSnapshot(
        number=1,
        type=OorType.SYSTEM_CRASH,
        title="Core down",
        severity=Severity.SEV2,
        status=IncidentStatus.OPEN,
        source="slack",
        opened_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    detail = incident_detail(bare, [])
    assert detail["roles"] == {} and detail["details"] == {} and detail["timeline"] == []
    assert detail["cause_category"] is None and detail["channel_id"] is None
    assert {s["state"] for s in detail["steps"]} == {"pending"}
    assert incident_summary(bare)["steps"] == {s.value: "pending" for s in Step}


def test_json_value_keeps_amounts_as_strings() -> None:
    assert json_value(Decimal("0.10")) == "0.10"
    assert json_value({"d": date(2026, 1, 2), "s": Severity.SEV1, "n": None, "b": True}) == {
        "d": "2026-01-02",
        "s": "sev1",
        "n": None,
        "b": True,
    }


def test_json_value_writes_numbers_json_cannot_hold_as_strings() -> None:
    # SQLite once stored 1e400 as Infinity; json.dumps(allow_nan=False) then failed the API.
    value = json_value({"rate": float("inf"), "low": float("-inf"), "odd": float("nan")})
    assert json.loads(json.dumps(value, allow_nan=False)) == {
        "rate": "inf",
        "low": "-inf",
        "odd": "nan",
    }
