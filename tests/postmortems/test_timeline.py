"""The post-mortem tells an alert storm in a few lines: the stored summaries as they are,
and the one-line-per-event entries of incidents from before summaries folded into the same
kind of line. A severity raise stays a line of its own."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.domain.incident import TimelineEntry
from bot.domain.plan import Plan
from bot.domain.records import said
from bot.postmortems.compile import compile_postmortem
from bot.postmortems.timeline import fold_event_runs
from tests.postmortems import OPENED, sample_notes, sample_snapshot, sample_timeline

SHANGHAI = ZoneInfo("Asia/Shanghai")
GROUPED = "Related event grouped into this incident: "
RECOVERED = "Monitor reports recovered: "


def _legacy(count: int, start_seconds: int = 1, kind: str = "grouped") -> list[TimelineEntry]:
    prefix = GROUPED if kind == "grouped" else RECOVERED
    return [
        TimelineEntry(
            at=OPENED + timedelta(seconds=start_seconds + i * 0.1),
            actor="alertmanager",
            kind=kind,
            said=said(f"{prefix}Alipay error rate on pay-gw-{i}"),
        )
        for i in range(count)
    ]


def test_a_run_of_per_event_entries_becomes_one_summary_line() -> None:
    opened, *rest = sample_timeline()
    raised = TimelineEntry(
        at=OPENED + timedelta(minutes=3),
        actor="alertmanager",
        kind="grouped",
        said=said(f"{GROUPED}Alipay down (severity raised SEV2 → SEV1)"),
    )
    storm = _legacy(9_998) + _legacy(2, start_seconds=1000, kind="recovered")
    folded = fold_event_runs([opened, *storm, raised, *_legacy(2, 2000), *rest], SHANGHAI)
    assert folded[0] == opened and folded[2] == raised and folded[5:] == rest
    summary = folded[1]
    assert (summary.kind, summary.actor, summary.at) == ("events", "alertmanager", storm[-1].at)
    assert summary.text == (
        "10,000 more monitoring events (2 recoveries), 12:31:01–12:47:40 UTC+8; "
        "latest: Recovered: Alipay error rate on pay-gw-1"
    )
    assert folded[3:5] == _legacy(2, 2000)  # two lines are as short as their summary


def test_the_post_mortem_of_a_storm_is_a_few_lines(plan: Plan) -> None:
    opened, *rest = sample_timeline()
    summary = TimelineEntry(
        at=OPENED + timedelta(minutes=1),
        actor="monitoring",
        kind="events",
        said=said("600 more monitoring events, 12:31:01–12:31:40 UTC+8; latest: Alipay error rate"),
    )
    timeline = [opened, *_legacy(5_000), summary, *rest]
    snapshot = replace(
        sample_snapshot(), event_count=5_601, last_event_at=OPENED + timedelta(minutes=1)
    )
    markdown = compile_postmortem(snapshot, timeline, sample_notes(), [], 2, plan).markdown
    section = markdown.split("## Timeline", 1)[1]
    assert section.count("\n- `") == len(rest) + 3
    assert "5,000 more monitoring events, 12:31:01–12:39:20 UTC+8" in section
    assert "600 more monitoring events, 12:31:01–12:31:40 UTC+8" in section
    assert (
        "The monitors sent 5,601 events, first at 2026-11-25 12:31, last at 2026-11-25 12:32"
        in (section)
    )
