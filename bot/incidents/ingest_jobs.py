"""The outbox jobs an ingest transaction enqueues (:mod:`bot.incidents.ingest`): notices
said at once, and the coalesced follow-ups (board refresh, window summary) of grouped
events."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.domain.event_tally import BOARD_REFRESH_DELAY, SUMMARY_WINDOW
from bot.domain.records import said
from bot.incidents.job_kinds import JobKind
from bot.incidents.timeline import notice_payload
from bot.storage import jobs


def notice_row(number: int, now: datetime, key: str, kind: str, text: str) -> dict[str, Any]:
    """A channel notice said at once, under its dedup ``key``."""
    payload = notice_payload(None, kind, said(text))
    return jobs.job_values(
        JobKind.POST_NOTICE, now=now, dedup_key=key, incident_id=number, payload=payload
    )


def channel_job_row(number: int, now: datetime) -> dict[str, Any]:
    """The new incident's room: created (and set up) by the outbox."""
    key = f"{JobKind.CREATE_CHANNEL}:{number}"
    return jobs.job_values(JobKind.CREATE_CHANNEL, now=now, dedup_key=key, incident_id=number)


def follow_up_rows(
    number: int, now: datetime, enqueued: set[tuple[str, int]], *, summary: bool
) -> list[dict[str, Any]]:
    """A board refresh and (for a tallied event) the window's summary: coalesced, so a
    job already waiting for the incident absorbs them; once per transaction (``enqueued``
    holds what it enqueued so far). Both wait, absorbing what arrives meanwhile: the
    summary a window, the board a few seconds (what is said at once refreshes the board at
    once too)."""
    if not summary:
        wanted = [(JobKind.REFRESH_BOARD, timedelta(0))]
    else:
        wanted = [
            (JobKind.REFRESH_BOARD_EVENTS, BOARD_REFRESH_DELAY),
            (JobKind.SUMMARIZE_EVENTS, SUMMARY_WINDOW),
        ]
    rows = []
    for kind, delay in wanted:
        if (kind, number) not in enqueued:
            enqueued.add((kind, number))
            rows.append(jobs.coalesced_job_values(kind, now=now, incident_id=number, delay=delay))
    return rows
