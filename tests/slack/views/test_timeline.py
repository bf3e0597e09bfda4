"""The timeline pages through any number of entries within Slack's limits."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.incident import TimelineEntry
from bot.domain.records import Person, said
from bot.slack.views.timeline import build_timeline_message
from tests.slack.views import (
    HOSTILE,
    OPENED,
    TZ,
    assert_escaped,
    assert_within_slack_limits,
    dumped,
    make_incident,
)


def _entries(count: int, text: str = "step done") -> list[TimelineEntry]:
    return [
        TimelineEntry(OPENED + timedelta(minutes=i), "U01ALICE", "note", said(f"{text} {i}"))
        for i in range(count)
    ]


def test_lines_show_local_time_actor_and_text_with_the_date_when_it_changes() -> None:
    entries = [
        TimelineEntry(OPENED, "U01ALICE", "step", said("Acknowledged")),
        TimelineEntry(OPENED + timedelta(hours=12), "alertmanager", "event", said("Fired again")),
    ]
    message = build_timeline_message(make_incident(), entries, tz=TZ)
    blocks = dumped(message)
    assert message.as_args()["blocks"][0]["text"]["text"] == "OOR-42 timeline"
    assert "12:30 UTC+8 · <@U01ALICE> · Acknowledged" in blocks  # 04:30 UTC
    assert "00:30 UTC+8 · alertmanager · Fired again" in blocks
    assert "*2026-11-25 (Wed)*" in blocks and "*2026-11-26 (Thu)*" in blocks
    assert message.text.startswith("OOR-42 timeline")


def test_hostile_actor_and_text_are_escaped() -> None:
    entries = [TimelineEntry(OPENED, HOSTILE, "note", said(HOSTILE))]
    assert_escaped(dumped(build_timeline_message(make_incident(), entries, tz=TZ)))


def test_ten_thousand_entries_are_paged_with_a_footer() -> None:
    entries = _entries(10_000)
    message = build_timeline_message(make_incident(), entries, tz=TZ, page=2)
    blocks = dumped(message)
    assert "step done 20" in blocks and "step done 39" in blocks
    assert "step done 19 " not in blocks and "step done 40" not in blocks
    assert "Page 2 of 500 · /oor timeline 3 for more" in blocks
    assert_within_slack_limits(message.as_args()["blocks"])


def test_out_of_range_page_shows_the_last_page() -> None:
    entries = _entries(45)
    for page in (3, 99, 0, -1):
        blocks = dumped(build_timeline_message(make_incident(), entries, tz=TZ, page=page))
        assert "Page 3 of 3" in blocks and "for more" not in blocks
        assert "step done 44" in blocks and "step done 39" not in blocks


def test_long_entries_are_split_into_sections_within_limits() -> None:
    entries = _entries(40, text="&" * 5000)  # escapes to 25,000 characters each
    message = build_timeline_message(make_incident(), entries, tz=TZ, page_size=40)
    args = message.as_args()
    assert_within_slack_limits(args["blocks"])
    sections = [b for b in args["blocks"] if b["type"] == "section"]
    assert len(sections) >= 20
    assert "&am…" not in dumped(message)  # never an entity cut in half


def test_a_five_thousand_character_finding_is_shortened() -> None:
    entries = [TimelineEntry(OPENED, "U01ALICE", "finding", said("f" * 5000))]
    args = build_timeline_message(make_incident(), entries, tz=TZ).as_args()
    assert_within_slack_limits(args["blocks"])
    assert "f" * 1900 + "…" in dumped(build_timeline_message(make_incident(), entries, tz=TZ))


def test_a_page_size_too_large_for_slack_is_capped() -> None:
    message = build_timeline_message(
        make_incident(), _entries(500, "x" * 2500), tz=TZ, page_size=500
    )
    assert_within_slack_limits(message.as_args()["blocks"])


def test_empty_timeline() -> None:
    message = build_timeline_message(make_incident(), [], tz=TZ, page=3)
    assert "Nothing on the timeline yet" in dumped(message)
    assert message.text


def test_people_named_in_an_entry_are_mentions_and_its_text_escaped() -> None:
    entry = TimelineEntry(
        OPENED, "U01ALICE", "role", said("made ", Person("U02BOB"), " the <b>tech</b> lead")
    )
    blocks = dumped(build_timeline_message(make_incident(), [entry], tz=TZ))
    assert "made <@U02BOB> the &lt;b&gt;tech&lt;/b&gt; lead" in blocks
