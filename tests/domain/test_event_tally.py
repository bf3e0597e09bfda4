"""The tally sentence of a storm's window, in the plan's time zone, and the fixed windows
that bound what is said at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.event_tally import (
    SUMMARY_WINDOW,
    EventTally,
    event_headline,
    tally_sentence,
    window_number,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
AT = datetime(2026, 11, 25, 2, 1, 5, tzinfo=UTC)  # 10:01:05 in Shanghai


def tally(**changes: object) -> EventTally:
    values: dict[str, object] = {
        "count": 37,
        "recovered": 0,
        "first_at": AT,
        "last_at": AT + timedelta(seconds=50),
        "latest": "Alipay error rate 35%",
    }
    values.update(changes)
    return EventTally(**values)  # type: ignore[arg-type]


def test_the_sentence_counts_the_window_in_the_plans_time_zone() -> None:
    assert tally_sentence(tally(), SHANGHAI) == (
        "37 more monitoring events, 10:01:05–10:01:55 UTC+8; latest: Alipay error rate 35%"
    )
    assert tally_sentence(tally(), ZoneInfo("UTC")).startswith(
        "37 more monitoring events, 02:01:05–02:01:55 UTC;"
    )


def test_recoveries_one_event_thousands_and_a_window_past_midnight() -> None:
    assert "(2 recoveries)" in tally_sentence(tally(recovered=2), SHANGHAI)
    assert "(1 recovery)" in tally_sentence(tally(recovered=1), SHANGHAI)
    assert "(all recoveries)" in tally_sentence(tally(count=3, recovered=3), SHANGHAI)
    one = tally(count=1, recovered=1, last_at=AT, latest=event_headline("x", recovered=True))
    assert tally_sentence(one, SHANGHAI) == (
        "1 more monitoring event (a recovery), 10:01:05 UTC+8; latest: Recovered: x"
    )
    assert tally_sentence(tally(count=10_000), SHANGHAI).startswith("10,000 more")
    overnight = tally(
        first_at=datetime(2026, 11, 25, 15, 59, 50, tzinfo=UTC),
        last_at=datetime(2026, 11, 25, 16, 0, 20, tzinfo=UTC),
    )
    assert "23:59:50–2026-11-26 00:00:20 UTC+8" in tally_sentence(overnight, SHANGHAI)


def test_a_tally_survives_its_json_form() -> None:
    assert EventTally.from_json(tally(recovered=4).to_json()) == tally(recovered=4)


def test_windows_are_fixed_and_the_window_long() -> None:
    start = datetime.fromtimestamp(1_800_000_000 // 30 * 30, UTC)
    assert window_number(start) == window_number(start + SUMMARY_WINDOW - timedelta(seconds=1))
    assert window_number(start + SUMMARY_WINDOW) == window_number(start) + 1
    assert timedelta(seconds=30) <= SUMMARY_WINDOW <= timedelta(seconds=60)
