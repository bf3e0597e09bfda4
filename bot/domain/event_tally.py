"""Alert storms, told as a tally: one line per window instead of one message per event.

An incident's grouped and recovered monitoring events are counted on the incident as they
arrive (the *pending tally*). At most once per :data:`SUMMARY_WINDOW` the tally is taken,
written to the timeline and said in the channel as one sentence, such as
``37 more monitoring events (2 recoveries), 10:01:05–10:01:50 UTC+8; latest: …``. Events
the channel hears about at once (a severity raise, the first recovery of a window) are not
in the tally, so nothing is told twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.clock import as_utc, utc_offset_label

# How often the channel hears about an incident's events at most. Short enough that people
# learn within half a minute what the monitors say; long enough that a storm of any size is
# two lines a minute, well within Slack's one message per second and channel.
SUMMARY_WINDOW = timedelta(seconds=30)

# How long the board's refresh for a grouped event waits, absorbing the events meanwhile:
# chat.update is Tier 3, about 50 calls a minute for the whole workspace, so a storming
# incident refreshes its board at most about 12 times a minute and leaves room for others.
BOARD_REFRESH_DELAY = timedelta(seconds=5)

RECOVERED_PREFIX = "Recovered: "


@dataclass(frozen=True)
class EventTally:
    """The events of one window: how many, how many were recoveries, first and last
    arrival, and the headline of the latest (``Recovered: …`` for a recovery)."""

    count: int
    recovered: int
    first_at: datetime
    last_at: datetime
    latest: str

    def to_json(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "recovered": self.recovered,
            "first_at": self.first_at.isoformat(),
            "last_at": self.last_at.isoformat(),
            "latest": self.latest,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EventTally:
        return cls(
            count=int(data["count"]),
            recovered=int(data["recovered"]),
            first_at=as_utc(datetime.fromisoformat(data["first_at"])),
            last_at=as_utc(datetime.fromisoformat(data["last_at"])),
            latest=str(data["latest"]),
        )


def event_headline(title: str, *, recovered: bool) -> str:
    """What the board and the tally show as an event's title."""
    return f"{RECOVERED_PREFIX}{title}" if recovered else title


def window_number(moment: datetime, window: timedelta = SUMMARY_WINDOW) -> int:
    """The fixed window ``moment`` falls in: announcements made at once (recoveries) are
    bounded to one per incident and window by keying them with it."""
    return int(as_utc(moment).timestamp() // window.total_seconds())


def _times(first: datetime, last: datetime, tz: ZoneInfo) -> str:
    start, end = first.astimezone(tz), last.astimezone(tz)
    same_day = start.date() == end.date()
    start_text = start.strftime("%H:%M:%S")
    end_text = end.strftime("%H:%M:%S" if same_day else "%Y-%m-%d %H:%M:%S")
    span = start_text if start_text == end_text else f"{start_text}–{end_text}"
    return f"{span} {utc_offset_label(end)}"


def tally_sentence(tally: EventTally, tz: ZoneInfo) -> str:
    """``37 more monitoring events (2 recoveries), 10:01:05–10:01:50 UTC+8; latest: …``.

    Plain text: whoever shows it in Slack escapes it (the latest title is outside text).
    """
    noun = "monitoring event" if tally.count == 1 else "monitoring events"
    text = f"{tally.count:,} more {noun}"
    if tally.recovered:
        if tally.recovered == tally.count:
            text += " (all recoveries)" if tally.count > 1 else " (a recovery)"
        else:
            text += f" ({tally.recovered:,} {'recovery' if tally.recovered == 1 else 'recoveries'})"
    return f"{text}, {_times(tally.first_at, tally.last_at, tz)}; latest: {tally.latest}"
