"""ISO weeks and the schedule in the plan's time zone, year boundaries included."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.digest.schedule import IsoWeek, due_digest, most_recent_slot, week_for_slot
from bot.domain.plan_sections import DigestSchedule

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
MONDAY_9 = DigestSchedule()


def at(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def test_parse_and_format() -> None:
    assert IsoWeek.parse("2026-W47") == IsoWeek(2026, 47)
    assert str(IsoWeek(2026, 1)) == "2026-W01"
    assert IsoWeek.parse("2026-W53") == IsoWeek(2026, 53)  # 2026 has 53 ISO weeks
    for bad in ("2026-47", "2026-W5", "2025-W53", "2026-W00", "week"):
        with pytest.raises(ValueError):
            IsoWeek.parse(bad)


def test_year_boundaries() -> None:
    # 2027-01-01 is a Friday: still ISO week 53 of 2026.
    assert IsoWeek.of(date(2027, 1, 1)) == IsoWeek(2026, 53)
    assert IsoWeek(2026, 53).next() == IsoWeek(2027, 1)
    assert IsoWeek(2027, 1).previous() == IsoWeek(2026, 53)
    assert IsoWeek(2026, 1).previous() == IsoWeek(2025, 52)
    # 2024-12-30 (Monday) starts 2025-W01.
    assert IsoWeek(2025, 1).monday == date(2024, 12, 30)
    assert IsoWeek.of(date(2024, 12, 29)) == IsoWeek(2024, 52)


def test_week_bounds_are_local_midnights() -> None:
    assert IsoWeek(2026, 47).bounds(SHANGHAI) == (at(2026, 11, 15, 16), at(2026, 11, 22, 16))
    assert IsoWeek(2026, 47).bounds(ZoneInfo("UTC")) == (at(2026, 11, 16), at(2026, 11, 23))
    # A week with the US DST change (2026-11-01) is 7 days and one hour long.
    start, end = IsoWeek(2026, 44).bounds(NEW_YORK)
    assert (start, end) == (at(2026, 10, 26, 4), at(2026, 11, 2, 5))
    # The week containing a UTC moment is decided in the local zone.
    assert IsoWeek.containing(at(2026, 11, 22, 16, 30), SHANGHAI) == IsoWeek(2026, 48)
    assert IsoWeek.containing(at(2026, 11, 22, 16, 30), ZoneInfo("UTC")) == IsoWeek(2026, 47)


def test_monday_nine_in_shanghai_is_monday_one_utc() -> None:
    slot = at(2026, 11, 23, 1)
    assert most_recent_slot(slot, MONDAY_9, SHANGHAI) == slot
    assert most_recent_slot(slot - timedelta(seconds=1), MONDAY_9, SHANGHAI) == at(2026, 11, 16, 1)
    assert most_recent_slot(at(2026, 11, 26, 12), MONDAY_9, SHANGHAI) == slot
    assert week_for_slot(slot, SHANGHAI) == IsoWeek(2026, 47)


def test_other_weekdays_and_times() -> None:
    friday = DigestSchedule(weekday="friday", at="17:30")
    # Friday 2026-11-20 17:30 in Shanghai is 09:30 UTC.
    assert most_recent_slot(at(2026, 11, 23, 1), friday, SHANGHAI) == at(2026, 11, 20, 9, 30)
    assert most_recent_slot(at(2026, 11, 20, 9, 29), friday, SHANGHAI) == at(2026, 11, 13, 9, 30)
    # Across the DST change the local time stays 09:00: 13:00 UTC in EDT, 14:00 UTC in EST.
    assert most_recent_slot(at(2026, 11, 3), MONDAY_9, NEW_YORK) == at(2026, 11, 2, 14)
    assert most_recent_slot(at(2026, 11, 2, 13), MONDAY_9, NEW_YORK) == at(2026, 10, 26, 13)


def test_the_first_digest_of_a_year_covers_the_last_week_of_the_previous_one() -> None:
    # Monday 2027-01-04 09:00 Shanghai = 01:00 UTC: covers 2026-W53.
    due = due_digest(at(2027, 1, 4, 1, 0, 30), MONDAY_9, SHANGHAI)
    assert (due.week, due.slot, due.late) == (IsoWeek(2026, 53), at(2027, 1, 4, 1), False)
    # Sunday 2027-01-03 23:00 local is still before that: the previous slot, for 2026-W52.
    due = due_digest(at(2027, 1, 3, 15), MONDAY_9, SHANGHAI)
    assert due.week == IsoWeek(2026, 52) and due.late


def test_late_after_ten_minutes() -> None:
    assert not due_digest(at(2026, 11, 23, 1, 10), MONDAY_9, SHANGHAI).late
    assert due_digest(at(2026, 11, 23, 1, 10, 1), MONDAY_9, SHANGHAI).late
