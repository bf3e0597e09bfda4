"""The post-mortem's timeline tells an alert storm as summaries, not one line per event.

Since grouped and recovered events are summarised when they arrive (one ``events`` entry a
window, :mod:`bot.domain.event_tally`), the stored timeline already holds the summaries.
Incidents from before that hold one ``grouped`` or ``recovered`` entry per event; a run of
them is folded here into one summary line of the same shape, so a storm of any age reads
as a few lines. Entries that changed how people worked stay as they are: a severity raise.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from zoneinfo import ZoneInfo

from bot.domain.event_tally import EventTally, event_headline, tally_sentence
from bot.domain.incident import TimelineEntry
from bot.domain.records import said

# A run shorter than this stays as it is: two lines are as short as their summary.
MIN_RUN = 3
_PER_EVENT = {
    "grouped": "Related event grouped into this incident: ",
    "recovered": "Monitor reports recovered: ",
}


def _is_per_event(entry: TimelineEntry) -> bool:
    prefix = _PER_EVENT.get(entry.kind)
    return (
        prefix is not None
        and entry.text.startswith(prefix)
        and "(severity raised" not in entry.text
    )


def _runs(timeline: Sequence[TimelineEntry]) -> Iterator[list[TimelineEntry]]:
    """Consecutive entries, grouped into runs of per-event entries and single others."""
    run: list[TimelineEntry] = []
    for entry in timeline:
        if _is_per_event(entry):
            run.append(entry)
            continue
        if run:
            yield run
            run = []
        yield [entry]
    if run:
        yield run


def _summary(run: list[TimelineEntry], tz: ZoneInfo) -> TimelineEntry:
    last = run[-1]
    recovered = sum(1 for e in run if e.kind == "recovered")
    title = last.text.removeprefix(_PER_EVENT[last.kind])
    tally = EventTally(
        count=len(run),
        recovered=recovered,
        first_at=run[0].at,
        last_at=last.at,
        latest=event_headline(title, recovered=last.kind == "recovered"),
    )
    actors = {e.actor for e in run}
    actor = last.actor if len(actors) == 1 else "monitoring"
    sentence = said(tally_sentence(tally, tz))
    return TimelineEntry(at=last.at, actor=actor, kind="events", said=sentence)


def fold_event_runs(timeline: Sequence[TimelineEntry], tz: ZoneInfo) -> list[TimelineEntry]:
    """``timeline`` with every run of at least :data:`MIN_RUN` per-event entries as one."""
    folded: list[TimelineEntry] = []
    for run in _runs(timeline):
        if len(run) >= MIN_RUN and _is_per_event(run[0]):
            folded.append(_summary(run, tz))
        else:
            folded += run
    return folded
