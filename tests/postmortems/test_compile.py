"""The compile: durations from step timestamps, impact by currency, the plan's time zone,
missing figures as "—", and the golden document of a realistic incident."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bot.domain.durations import readable_duration as format_duration
from bot.domain.incident import IncidentSnapshot, StepRecord, TimelineEntry
from bot.domain.plan import Plan
from bot.domain.records import said
from bot.domain.types import Step, StepState
from bot.postmortems.compile import compile_postmortem
from bot.postmortems.durations import compute_durations
from bot.postmortems.impact import amounts_by_currency, impact_facts
from bot.postmortems.model import ReviewNotes
from tests.postmortems import (
    ACKED,
    CLOSED,
    NAMES,
    NOTIFIED,
    OPENED,
    RECORDED,
    RESOLVED,
    done_record,
    sample_action_items,
    sample_notes,
    sample_snapshot,
    sample_timeline,
)
from tests.support import FIXTURES

GOLDEN = FIXTURES / "postmortems" / "golden.md"


def _golden_postmortem(plan: Plan) -> str:
    return compile_postmortem(
        sample_snapshot(closed=False),
        sample_timeline()[:-1],  # compiled the morning after, before closing
        sample_notes(),
        sample_action_items(),
        2,
        plan,
        version=1,
        compiled_at=datetime(2026, 11, 26, 2, 0, tzinfo=UTC),
        compiled_by="U01ALICE",
        names=NAMES,
    ).markdown


def test_durations_are_the_step_timestamps_minus_the_opening() -> None:
    d = compute_durations(sample_snapshot())
    assert d.detection == timedelta(minutes=1)
    assert d.acknowledge == ACKED - OPENED == timedelta(minutes=2, seconds=40)
    assert d.record == RECORDED - OPENED == timedelta(minutes=9, seconds=5)
    assert d.resolve == RESOLVED - OPENED == timedelta(minutes=58, seconds=30)
    assert d.notify == NOTIFIED - OPENED == timedelta(hours=1, minutes=12)
    assert d.total == CLOSED - OPENED == timedelta(hours=26)
    assert d.as_seconds() == {
        "detection": 60,
        "acknowledge": 160,
        "record": 545,
        "notify": 4320,
        "resolve": 3510,
        "total": 93600,
    }


def test_total_counts_to_resolution_while_not_closed() -> None:
    assert compute_durations(sample_snapshot(closed=False)).total == RESOLVED - OPENED


def test_skipped_and_missing_steps_have_no_figure() -> None:
    snapshot = sample_snapshot(closed=False, notify=False)
    skipped = StepRecord(
        Step.RECORD, StepState.SKIPPED, completed_at=RECORDED, completed_by="U02BOB", note="n/a"
    )
    snapshot = replace(
        snapshot,
        occurred_at=None,
        steps=tuple(skipped if r.step is Step.RECORD else r for r in snapshot.steps),
    )
    d = compute_durations(snapshot)
    assert (d.detection, d.record, d.notify) == (None, None, None)
    assert d.acknowledge == timedelta(minutes=2, seconds=40)


def test_duration_format() -> None:
    assert format_duration(None) == "—"
    assert format_duration(timedelta(seconds=45)) == "45s"
    assert format_duration(timedelta(minutes=4, seconds=5)) == "4m 5s"
    assert format_duration(timedelta(hours=1, minutes=35, seconds=59)) == "1h 35m"
    assert format_duration(timedelta(days=2, hours=3, minutes=10)) == "2d 3h"


def test_amounts_are_totalled_per_currency_never_mixed() -> None:
    totals = amounts_by_currency(
        [("98000.00", "CNY"), ("12.50", "usd"), ("0.50", "CNY"), ("oops", "CNY"), ("3", None)]
    )
    assert totals == {"CNY": "98000.50", "USD": "12.50", "(currency not recorded)": "3"}
    impact = impact_facts(
        {
            "amount": "1200.00",
            "currency": "CNY",
            "extras": {"amounts": [{"amount": "15.25", "currency": "USD"}]},
            "affected_transactions": "57",
            "merchant_id": "M-1, M-2",
        },
        event_count=3,
        notifications_sent=4,
    )
    assert impact["amounts"] == {"CNY": "1200.00", "USD": "15.25"}
    assert impact["affected_transactions"] == 57 and impact["merchants"] == ["M-1", "M-2"]
    assert impact["events"] == 3 and impact["customer_notifications_sent"] == 4


def test_document_shows_figures_in_the_plan_time_zone(plan: Plan) -> None:
    pm = compile_postmortem(
        sample_snapshot(), sample_timeline(), sample_notes(), sample_action_items(), 2, plan
    )
    md = pm.markdown
    assert plan.timezone == "Asia/Shanghai"
    # 04:31 UTC is 12:31 in Shanghai; the closing entry is on the next local day.
    assert "| Opened | 2026-11-25 12:31 |" in md
    assert "- `12:33:40` U01ALICE — acknowledged the incident" in md
    assert "**2026-11-26 (Thu)**" in md and "- `14:31:00` U01ALICE — closed the incident" in md
    assert "| Time to acknowledge (step 1) | 2m 40s |" in md
    assert "| Time to resolve (step 4) | 58m 30s |" in md
    assert "| Total duration (opened → closed) | 1d 2h |" in md
    assert "| Amount affected | CNY 98,000.00 |" in md
    assert "| Customer notifications sent | 2 |" in md
    assert pm.facts["durations_seconds"]["acknowledge"] == 160
    assert pm.facts["impact"]["amounts"] == {"CNY": "98000.00"}
    assert pm.facts["action_items"] == {"open": 2, "done": 1}
    assert Decimal(pm.facts["impact"]["amounts"]["CNY"]) == Decimal("98000")


def test_missing_steps_and_notes_show_a_dash(plan: Plan) -> None:
    snapshot = replace(
        sample_snapshot(closed=False, notify=False),
        occurred_at=None,
        details={},
        steps=(StepRecord(Step.RESPOND),),
    )
    md = compile_postmortem(snapshot, [], None, [], 0, plan).markdown
    assert "| Time to acknowledge (step 1) | — |" in md
    assert "| Time to notify customers (step 5) | — |" in md
    assert "| Detection delay (began → incident opened) | — |" in md
    assert "| Affected transactions | — |" in md and "| Amount affected | — |" in md
    assert "| 5 | Notify customers 通知客户 | pending | — | — | — |" in md
    assert md.count("_Not written yet._") == 4
    assert "_None recorded." in md


def test_outside_text_cannot_break_tables_or_inject_html(plan: Plan) -> None:
    snapshot = replace(sample_snapshot(), title="evil | <script>alert(1)</script>\nnext")
    notes = ReviewNotes(root_cause="<img src=x onerror=alert(1)> and **bold** stays")
    timeline = [TimelineEntry(OPENED, "U01ALICE", "note", said("a | b <b>"))]
    md = compile_postmortem(snapshot, timeline, notes, [], 0, plan).markdown
    assert "<script>" not in md and "<img" not in md and "<b>" not in md
    assert "# OOR-42 post-mortem: evil \\| &lt;script>alert(1)&lt;/script> next" in md
    assert "a \\| b &lt;b>" in md and "**bold** stays" in md


def test_versions_label_the_document(plan: Plan) -> None:
    args = (sample_snapshot(), sample_timeline(), sample_notes(), sample_action_items(), 0, plan)
    at = CLOSED + timedelta(hours=1)
    first = compile_postmortem(*args, version=1, compiled_at=at, compiled_by="U01ALICE")
    second = compile_postmortem(*args, version=2, compiled_at=at, compiled_by="U01ALICE")
    assert "Version 1, compiled 2026-11-26 15:31 by U01ALICE" in first.markdown
    assert "Version 2, compiled" in second.markdown
    assert (first.facts["version"], second.facts["version"]) == (1, 2)


def test_golden_document(plan: Plan) -> None:
    """The realistic sample, as an operator would read it. To accept a deliberate change:
    ``OOR_UPDATE_GOLDEN=1 pytest tests/postmortems/test_compile.py`` and read the diff."""
    markdown = _golden_postmortem(plan)
    if os.environ.get("OOR_UPDATE_GOLDEN"):
        GOLDEN.write_text(markdown, encoding="utf-8")
    assert markdown == GOLDEN.read_text(encoding="utf-8")


def _reviewed(resolved: datetime, reviewed: datetime) -> IncidentSnapshot:
    snapshot = sample_snapshot()
    steps = tuple(
        done_record(Step.RESOLVE, "U02BOB", resolved)
        if record.step is Step.RESOLVE
        else done_record(Step.REVIEW, "U01ALICE", reviewed)
        if record.step is Step.REVIEW
        else record
        for record in snapshot.steps
    )
    return replace(snapshot, steps=steps, resolved_at=resolved)


def test_review_deadline_counts_working_days_like_the_reminders(plan: Plan) -> None:
    # Fixed on Friday 27 Nov at 16:00 in Shanghai; the review is due within 5 working days
    # (09:00–18:00, Monday to Friday): Friday 4 Dec at 16:00, not Wednesday 2 Dec.
    resolved = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    on_thursday = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)  # 10:00 local
    on_monday = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # 10:00 local, a working day late

    def review_row(reviewed: datetime) -> str:
        md = compile_postmortem(
            _reviewed(resolved, reviewed), sample_timeline(), sample_notes(), [], 2, plan
        ).markdown
        return next(line for line in md.splitlines() if line.startswith("| 6 |"))

    assert "within 5d after resolve: met" in review_row(on_thursday)
    assert "within 5d after resolve: **late by 2d 18h" in review_row(on_monday)
