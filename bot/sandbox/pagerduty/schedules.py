"""On-call schedules: who is on call when, as plain Python over aware datetimes.

A schedule is a stack of rotation layers plus overrides (fields_schedule.txt:
``schedule_layers[]`` with ``start``, ``end``, ``users``, ``rotation_virtual_start``,
``rotation_turn_length_seconds``; ``overrides_subschedule``; ``final_schedule``). A layer hands
the turn to its users in order, one turn each, counted from its virtual start; later layers
cover earlier ones; an override covers every layer. A schedule made only of overrides is the
"simple list of (start, end, user)".
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

# /oncalls and /schedules answer about at most this span (fields_oncalls.txt: since/until).
MAX_RANGE = timedelta(days=90)
# A shift that continues past what was asked is followed this far to find its real ends.
SHIFT_HORIZON = timedelta(days=90)


def aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("schedule times must be aware datetimes")
    return value.astimezone(UTC)


@dataclass(frozen=True)
class Entry:
    """One stretch of time with one person on call: [start, end)."""

    user_id: str
    start: datetime
    end: datetime


@dataclass
class Layer:
    users: list[str]
    start: datetime
    rotation_turn_length_seconds: int
    rotation_virtual_start: datetime | None = None
    end: datetime | None = None
    name: str = ""
    id: str = ""

    def __post_init__(self) -> None:
        if not self.users:
            raise ValueError("a layer needs at least one user")
        if self.rotation_turn_length_seconds < 1:
            raise ValueError("rotation_turn_length_seconds must be >= 1")
        self.start = aware(self.start)
        self.end = aware(self.end) if self.end is not None else None
        self.rotation_virtual_start = aware(self.rotation_virtual_start or self.start)

    @property
    def turn(self) -> timedelta:
        return timedelta(seconds=self.rotation_turn_length_seconds)

    @property
    def virtual_start(self) -> datetime:
        assert self.rotation_virtual_start is not None
        return self.rotation_virtual_start

    def user_at(self, when: datetime) -> str | None:
        if when < self.start or (self.end is not None and when >= self.end):
            return None
        turns = math.floor((when - self.virtual_start) / self.turn)
        return self.users[turns % len(self.users)]

    def boundaries(self, since: datetime, until: datetime) -> list[datetime]:
        """Every instant in [since, until] at which this layer may change hands."""
        first = math.ceil((since - self.virtual_start) / self.turn)
        last = math.floor((until - self.virtual_start) / self.turn)
        points = [self.virtual_start + k * self.turn for k in range(first, last + 1)]
        points += [t for t in (self.start, self.end) if t is not None and since <= t <= until]
        return points


@dataclass
class Schedule:
    id: str
    name: str
    time_zone: str = "UTC"
    description: str = ""
    layers: list[Layer] = field(default_factory=list)
    overrides: list[Entry] = field(default_factory=list)

    def user_ids(self) -> list[str]:
        seen: dict[str, None] = {}
        for layer in self.layers:
            seen.update(dict.fromkeys(layer.users))
        seen.update(dict.fromkeys(o.user_id for o in self.overrides))
        return list(seen)

    def user_at(self, when: datetime) -> str | None:
        """Who is on call at ``when`` (overrides first, then the last layer that covers it)."""
        when = aware(when)
        for override in reversed(self.overrides):
            if override.start <= when < override.end:
                return override.user_id
        for layer in reversed(self.layers):
            user = layer.user_at(when)
            if user is not None:
                return user
        return None


def _render(
    user_at: Callable[[datetime], str | None],
    points: list[datetime],
    since: datetime,
    until: datetime,
) -> list[Entry]:
    """Merge consecutive stretches with the same user between the change points."""
    cuts = sorted({since, until, *(p for p in points if since < p < until)})
    entries: list[Entry] = []
    for start, end in itertools.pairwise(cuts):
        user = user_at(start)
        if user is None:
            continue
        if entries and entries[-1].user_id == user and entries[-1].end == start:
            entries[-1] = Entry(user, entries[-1].start, end)
        else:
            entries.append(Entry(user, start, end))
    return entries


def layer_entries(layer: Layer, since: datetime, until: datetime) -> list[Entry]:
    since, until = aware(since), aware(until)
    return _render(layer.user_at, layer.boundaries(since, until), since, until)


def override_entries(schedule: Schedule, since: datetime, until: datetime) -> list[Entry]:
    since, until = aware(since), aware(until)
    return [
        Entry(o.user_id, max(o.start, since), min(o.end, until))
        for o in sorted(schedule.overrides, key=lambda o: o.start)
        if o.start < until and o.end > since
    ]


def final_entries(schedule: Schedule, since: datetime, until: datetime) -> list[Entry]:
    """The final schedule in [since, until), entries cut at the bounds."""
    since, until = aware(since), aware(until)
    points: list[datetime] = []
    for layer in schedule.layers:
        points += layer.boundaries(since, until)
    for o in schedule.overrides:
        points += [o.start, o.end]
    return _render(schedule.user_at, points, since, until)


def shifts(schedule: Schedule, since: datetime, until: datetime) -> list[Entry]:
    """The whole shifts (not cut at the bounds) that overlap [since, until].

    A shift that started before ``since`` or ends after ``until`` is followed up to
    :data:`SHIFT_HORIZON` either way; an instant (since == until) finds the shift covering it.
    """
    since, until = aware(since), aware(until)
    wide = final_entries(schedule, since - SHIFT_HORIZON, until + SHIFT_HORIZON)
    if since == until:
        return [e for e in wide if e.start <= since < e.end]
    return [e for e in wide if e.start < until and e.end > since]


def coverage(entries: list[Entry], since: datetime, until: datetime) -> float:
    """Per cent of [since, until) covered by ``entries`` (rendered_coverage_percentage)."""
    span = (until - since).total_seconds()
    if span <= 0:
        return 0.0
    covered = sum((e.end - e.start).total_seconds() for e in entries)
    return round(100.0 * covered / span, 2)
