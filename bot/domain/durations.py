"""Durations as people write them in the emergency plan: ``30s``, ``5m``, ``4h``, ``5d``, ``1h30m``.

ISO 8601 (``PT4H``) and bare numbers are refused on purpose: a bare ``30`` could be seconds
or minutes, and a deadline that is off by a factor of 60 is worse than an error at start-up.
"""

from __future__ import annotations

import re
from datetime import timedelta

# Units largest first, each at most once, optional spaces between parts ("1h 30m").
_DURATION = re.compile(
    r"^\s*(?:(?P<d>\d+)\s*d)?\s*(?:(?P<h>\d+)\s*h)?\s*(?:(?P<m>\d+)\s*m)?\s*(?:(?P<s>\d+)\s*s)?\s*$"
)
_UNIT_SECONDS = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}

DURATION_HINT = "a duration like 30s, 5m, 4h, 5d or 1h30m"


def parse_duration(text: object) -> timedelta:
    """``"1h30m"`` -> ``timedelta(hours=1, minutes=30)``; ``ValueError`` with a readable message.

    Units are case-insensitive. The result must be positive: a zero deadline would fire at once.
    """
    if isinstance(text, bool) or not isinstance(text, str):
        # YAML turns `30` into an int and `1:30` into 90 (sexagesimal): ask for a unit instead.
        raise ValueError(f"expected {DURATION_HINT}, got {text!r}")
    match = _DURATION.match(text.lower())
    if match is None or not any(match.groupdict().values()):
        raise ValueError(f"expected {DURATION_HINT}, got {text!r}")
    seconds = sum(int(v) * _UNIT_SECONDS[unit] for unit, v in match.groupdict().items() if v)
    if seconds <= 0:
        raise ValueError(f"must be longer than zero, got {text!r}")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta, *, units: int | None = None, sep: str = "") -> str:
    """The inverse of :func:`parse_duration` for display: ``timedelta(minutes=90)`` -> ``1h30m``.

    ``units`` keeps only the largest non-zero units (``2``: ``2d 3h``, not ``2d3h10m``),
    ``sep`` goes between them. Sub-second parts are dropped; zero or negative reads ``0s``.
    """
    remaining = int(delta.total_seconds())
    if remaining <= 0:
        return "0s"
    parts = []
    for unit, size in _UNIT_SECONDS.items():
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count}{unit}")
    return sep.join(parts[:units])


def readable_duration(delta: timedelta | None) -> str:
    """How long something took, for people: ``45s``, ``4m 5s``, ``1h 35m``, ``2d 3h`` (the
    two largest units); ``—`` when unknown. Slack, the post-mortem and reminders show this."""
    if delta is None:
        return "—"
    return format_duration(delta, units=2, sep=" ")
