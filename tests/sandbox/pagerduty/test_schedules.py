"""Schedule arithmetic without HTTP (fields_schedule.txt: layers with
rotation_virtual_start and rotation_turn_length_seconds; overrides; final schedule)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.sandbox.pagerduty.schedules import (
    Entry,
    Layer,
    Schedule,
    coverage,
    final_entries,
    shifts,
)

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
DAY = 24 * 3600


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def test_rotation_from_the_virtual_start() -> None:
    layer = Layer(["A", "B", "C"], start=T0, rotation_turn_length_seconds=DAY)
    assert [layer.user_at(at(h)) for h in (0, 23.9, 24, 48, 72)] == ["A", "A", "B", "C", "A"]
    assert layer.user_at(at(-1)) is None  # before the layer starts
    late = Layer(
        ["A", "B"], start=T0, rotation_turn_length_seconds=DAY, rotation_virtual_start=at(-24)
    )
    assert late.user_at(at(0)) == "B"


def test_later_layers_and_overrides_win() -> None:
    base = Layer(["A"], start=T0, rotation_turn_length_seconds=DAY)
    nights = Layer(["N"], start=at(12), end=at(20), rotation_turn_length_seconds=DAY)
    schedule = Schedule("S", "s", layers=[base, nights], overrides=[Entry("O", at(14), at(15))])
    assert [schedule.user_at(at(h)) for h in (0, 12, 14, 15, 20)] == ["A", "N", "O", "N", "A"]
    entries = final_entries(schedule, at(0), at(24))
    assert [(e.user_id, e.start, e.end) for e in entries] == [
        ("A", at(0), at(12)),
        ("N", at(12), at(14)),
        ("O", at(14), at(15)),
        ("N", at(15), at(20)),
        ("A", at(20), at(24)),
    ]
    assert coverage(entries, at(0), at(24)) == 100.0


def test_shifts_are_whole_and_an_instant_finds_its_shift() -> None:
    weekly = Layer(["A", "B"], start=T0, rotation_turn_length_seconds=7 * DAY)
    schedule = Schedule("S", "s", layers=[weekly])
    [shift] = shifts(schedule, at(30), at(30))
    assert (shift.user_id, shift.start, shift.end) == ("A", T0, at(7 * 24))
    assert [s.user_id for s in shifts(schedule, at(30), at(7 * 24 + 1))] == ["A", "B"]


def test_gaps_are_not_covered() -> None:
    schedule = Schedule("S", "s", overrides=[Entry("A", at(0), at(6))])
    assert schedule.user_at(at(7)) is None
    assert coverage(final_entries(schedule, at(0), at(12)), at(0), at(12)) == 50.0


def test_bad_layers() -> None:
    with pytest.raises(ValueError):
        Layer([], start=T0, rotation_turn_length_seconds=DAY)
    with pytest.raises(ValueError):
        Layer(["A"], start=T0, rotation_turn_length_seconds=0)
    with pytest.raises(ValueError):
        Layer(["A"], start=datetime(2026, 11, 2), rotation_turn_length_seconds=DAY)
