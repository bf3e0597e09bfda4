"""Durations of an incident, from the step timestamps alone.

Each figure counts from the incident opening (the moment the bot knew): time to
acknowledge is ``respond.completed_at − opened_at`` and so on. A step that was skipped was
never done, so it has no figure; neither has a step done "before" the opening (a clock
that ran backwards): ``None``, shown as ``—``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.incident import IncidentSnapshot
from bot.domain.types import Step, StepState


@dataclass(frozen=True)
class Durations:
    """Each figure counts from the incident opening; ``None`` when a timestamp is missing."""

    detection: timedelta | None  # occurred_at → opened_at: how long before the bot knew
    acknowledge: timedelta | None  # step 1 done
    record: timedelta | None  # step 2 done
    notify: timedelta | None  # step 5 done (customers notified)
    resolve: timedelta | None  # step 4 done
    total: timedelta | None  # closed (or, while not closed, resolved)

    def as_seconds(self) -> dict[str, int | None]:
        return {
            name: None if value is None else int(value.total_seconds())
            for name, value in vars(self).items()
        }


def _between(start: datetime | None, end: datetime | None) -> timedelta | None:
    """``end - start``, or ``None`` when either is missing or the clock ran backwards."""
    if start is None or end is None or end < start:
        return None
    return end - start


def done_at(snapshot: IncidentSnapshot, step: Step) -> datetime | None:
    """When the step was done; a skipped step was never done."""
    record = snapshot.step(step)
    return record.completed_at if record.state is StepState.DONE else None


def compute_durations(snapshot: IncidentSnapshot) -> Durations:
    opened = snapshot.opened_at
    resolved = done_at(snapshot, Step.RESOLVE) or snapshot.resolved_at
    return Durations(
        detection=_between(snapshot.occurred_at, opened),
        acknowledge=_between(opened, done_at(snapshot, Step.RESPOND)),
        record=_between(opened, done_at(snapshot, Step.RECORD)),
        notify=_between(opened, done_at(snapshot, Step.NOTIFY)),
        resolve=_between(opened, resolved),
        total=_between(opened, snapshot.closed_at or snapshot.resolved_at),
    )
