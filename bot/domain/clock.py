"""Time as the rest of the code sees it: always aware UTC, always injected.

Nothing outside this module calls ``datetime.now()``; tests pass a :class:`ManualClock`
and move it forward instead of sleeping.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
        if self._now.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when


def as_utc(value: datetime) -> datetime:
    """Aware UTC; naive input is taken to be UTC already (that is how SQLite returns it)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def in_zone(value: datetime, tz: tzinfo) -> datetime:
    """``value`` in ``tz`` for showing it; in UTC when ``tz`` would leave the calendar.

    9999-12-31T23:59:59Z is a valid stored time but has no local time east of UTC
    (OverflowError): a view must still render, so it shows the UTC time instead.
    """
    try:
        return value.astimezone(tz)
    except OverflowError:
        return value.astimezone(UTC)


def utc_offset_label(local: datetime) -> str:
    """``UTC+8``, ``UTC+5:30``, ``UTC-3``, ``UTC``: the offset of an aware local time.

    Shown instead of the zone's abbreviation because abbreviations are ambiguous: Asia/Shanghai
    calls itself ``CST``, which readers in the Americas take for US Central Time.
    """
    offset = local.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def local_time(value: datetime | None, tz: tzinfo, *, with_date: bool = True) -> str:
    """``2026-11-20 14:05 UTC+8`` (or ``14:05 UTC+8``): a time as people read it, in the
    plan's zone with its offset; ``—`` when unknown."""
    if value is None:
        return "—"
    local = in_zone(value, tz)
    fmt = "%Y-%m-%d %H:%M" if with_date else "%H:%M"
    return f"{local.strftime(fmt)} {utc_offset_label(local)}"
