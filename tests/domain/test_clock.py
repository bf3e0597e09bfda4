from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.clock import ManualClock, in_zone, utc_offset_label

MOMENT = datetime(2026, 11, 25, 4, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "label"),
    [
        ("Asia/Shanghai", "UTC+8"),  # not "CST", which also names US Central Time
        ("Asia/Kolkata", "UTC+5:30"),
        ("America/Sao_Paulo", "UTC-3"),
        ("America/St_Johns", "UTC-3:30"),
        ("UTC", "UTC"),
    ],
)
def test_offset_label_names_the_offset_unambiguously(zone: str, label: str) -> None:
    assert utc_offset_label(MOMENT.astimezone(ZoneInfo(zone))) == label


def test_offset_label_follows_daylight_saving() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    assert utc_offset_label(datetime(2026, 1, 5, 12, tzinfo=berlin)) == "UTC+1"
    assert utc_offset_label(datetime(2026, 7, 5, 12, tzinfo=berlin)) == "UTC+2"


def test_manual_clock_moves_only_when_told() -> None:
    clock = ManualClock(MOMENT)
    assert clock.now() == MOMENT
    assert clock.advance(minutes=5) == datetime(2026, 11, 25, 4, 35, tzinfo=UTC)
    with pytest.raises(ValueError, match="aware"):
        ManualClock(datetime(2026, 11, 25))


def test_in_zone_falls_back_to_utc_at_the_ends_of_the_calendar() -> None:
    shanghai, new_york = ZoneInfo("Asia/Shanghai"), ZoneInfo("America/New_York")
    last = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
    first = datetime(1, 1, 1, 0, 0, tzinfo=UTC)
    assert in_zone(last, shanghai) == last and in_zone(last, shanghai).tzinfo is UTC
    assert in_zone(first, new_york).tzinfo is UTC
    assert in_zone(last, new_york).utcoffset() == timedelta(hours=-5)  # this one exists
    normal = datetime(2026, 11, 25, 4, 30, tzinfo=UTC)
    assert in_zone(normal, shanghai).hour == 12
