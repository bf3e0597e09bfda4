"""Turn accepted OOR events into incidents, durably and idempotently.

One call is one database transaction. It stores every event once (``event`` is unique per
source and dedup key), opens an incident or adds the event to the open incident of the
same group (unique among open incidents), writes the timeline, and enqueues the Slack
side effects in the outbox. Only after the commit does the webhook answer 202; the outbox
worker does the Slack work afterwards, with retries.

Grouped and recovered events are summarised, not narrated (an alert storm must not bury
the channel): each is counted on its incident, and one delayed, coalesced summary job per
incident tells the channel and the timeline about all of a window's events in one line
(:mod:`bot.domain.event_tally`). Only what changes how people work is said at once: a
severity raise (at most three per incident) and the first recovery of a window.

This is the hottest write path, so it runs SQLAlchemy Core on a plain connection and lets
the unique indexes decide with ``INSERT ... ON CONFLICT DO NOTHING``: a grouped event is
four statements (lock the incident, store the event, count it, the coalesced jobs) with no
savepoints. Within one transaction (one delivery, or several
committed together) the lock and the jobs are taken once per incident, and the
events that are only counted are stored by multi-row inserts and counted by one UPDATE: an
Alertmanager notification of 10,000 alerts of one group is about a dozen statements. A
concurrent duplicate finds its key taken and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.engine import Connection

from bot.domain.event_tally import (
    event_headline,
    window_number,
)
from bot.domain.events import EventStatus, OorEvent
from bot.domain.plan import Plan
from bot.domain.types import Severity
from bot.incidents.ingest_jobs import channel_job_row, follow_up_rows, notice_row
from bot.incidents.ingest_results import (
    Delivery,
    IngestResult,
    Outcome,
    most_significant,
)
from bot.incidents.job_kinds import JobKind
from bot.incidents.new_incident import new_incident_values, new_severity
from bot.incidents.timeline import once_key
from bot.storage import event_tally, jobs
from bot.storage import incidents as repo
from bot.storage.db import Database
from bot.storage.timeline import insert_timelines

log = structlog.get_logger(__name__)


# Opening races with a concurrent opening of the same group; the loser joins the winner.
# Only if the winner is closed in between does it try again, so a few rounds are plenty.
_OPEN_ATTEMPTS = 3


class _AlreadyStored(Exception):
    """The event was stored before (same source and dedup key): a duplicate delivery."""


def _severity_rank(severity: Severity) -> int:
    return list(Severity).index(severity)


@dataclass
class _Held:
    """What one transaction already holds: the open incidents it locked, by group key,
    with their severity as this transaction left it, and the coalesced jobs it enqueued.
    Neither can change under it until it commits, so each is done once."""

    locked: dict[str, tuple[int, str]] = field(default_factory=dict)
    enqueued: set[tuple[str, int]] = field(default_factory=set)
    # Grouped events that only need counting, per incident in arrival order, with the
    # delivery (its index) each came in and when: stored with one multi-row INSERT and
    # counted with one UPDATE, before anything else is done.
    joining: dict[int, list[tuple[int, datetime, OorEvent]]] = field(default_factory=dict)
    # Events that open an incident, in arrival order with their delivery and time: opened
    # together (the incidents one by one, everything else in one statement each).
    opening: list[tuple[int, datetime, OorEvent]] = field(default_factory=list)
    opening_groups: set[str] = field(default_factory=set)
    # Groups looked up by the up-front lock: those not in ``locked`` had no open incident
    # then (one opened since by another transaction shows as a conflict when opening).
    checked: set[str] = field(default_factory=set)


class IngestService:
    def __init__(self, db: Database, plan: Plan) -> None:
        self._db = db
        self._plan = plan

    def ingest(self, events: list[OorEvent], *, now: datetime) -> IngestResult:
        """Store ``events`` (one delivery) and return what happened, after the commit."""
        if not events:
            raise ValueError("no events")
        with self._db.engine.begin() as conn:
            return self._ingest_all(conn, [Delivery(events, now)])[0]

    def ingest_many(self, deliveries: list[Delivery]) -> list[IngestResult | Exception]:
        """Several deliveries in one transaction (group commit): the commit, the locks and
        the coalesced jobs are paid once for all of them. Each keeps its own idempotency
        (every event row is still unique by source and key). If the shared transaction
        fails, nothing of it is kept and each delivery is tried again alone, so one bad
        delivery costs the others a retry, never their events; a delivery that fails alone
        gets its exception back in its place."""
        if any(not d.events for d in deliveries):
            raise ValueError("no events")
        try:
            with self._db.engine.begin() as conn:
                return list(self._ingest_all(conn, deliveries))
        except Exception as exc:
            if len(deliveries) == 1:
                return [exc]
            log.warning("group_commit_split", deliveries=len(deliveries), error=type(exc).__name__)
        results: list[IngestResult | Exception] = []
        for delivery in deliveries:
            try:
                results.append(self.ingest(delivery.events, now=delivery.received_at))
            except Exception as exc:
                results.append(exc)
        return results

    def _ingest_all(self, conn: Connection, deliveries: list[Delivery]) -> list[IngestResult]:
        held = _Held()
        groups = {e.group_key for d in deliveries for e in d.events if e.group_key}
        if len(groups) > 1:
            # Lock every group this transaction touches up front, in key order: another
            # batch sharing some of them then waits for this one rather than deadlock.
            held.locked.update(repo.lock_open_by_groups(conn, groups))
            held.checked = groups
        outcomes: list[list[IngestResult]] = [[] for _ in deliveries]
        for index, delivery in enumerate(deliveries):
            now = delivery.received_at
            for event in delivery.events:
                if event.group_key in held.opening_groups:
                    self._open_all(conn, held, outcomes)  # the group's incident first
                # Lock the group's open incident first (when there is one), so the event row
                # can be stored with its final outcome: the insert decides "new or duplicate".
                incident = self._lock(conn, event.group_key, held) if event.group_key else None
                if incident is not None and _only_counted(event, incident):
                    held.joining.setdefault(incident[0], []).append((index, now, event))
                    continue
                if incident is None and event.status is not EventStatus.RESOLVED:
                    held.opening.append((index, now, event))
                    if event.group_key:
                        held.opening_groups.add(event.group_key)
                    continue
                self._store_joining(conn, held, outcomes)  # in arrival order
                outcomes[index].append(self._ingest_one(conn, event, incident, now, held))
        self._store_joining(conn, held, outcomes)
        self._open_all(conn, held, outcomes)
        return [most_significant(results) for results in outcomes]

    def _ingest_one(
        self,
        conn: Connection,
        event: OorEvent,
        incident: tuple[int, str] | None,
        now: datetime,
        held: _Held,
    ) -> IngestResult:
        try:
            if event.status is EventStatus.RESOLVED:
                return self._recover(conn, event, incident, now, held)
            assert incident is not None  # events that open one go through _open_all
            event_id = self._store(conn, event, now, Outcome.GROUPED, incident[0])
            return self._join(conn, event, event_id, incident, now, held)
        except _AlreadyStored:
            number = repo.stored_event_incident(conn, event.source, event.dedup_key)
            return IngestResult(number, Outcome.DUPLICATE)

    @staticmethod
    def _lock(conn: Connection, group_key: str, held: _Held) -> tuple[int, str] | None:
        """The group's open incident, locked for this transaction (once per transaction)."""
        incident = held.locked.get(group_key)
        if incident is None and group_key not in held.checked:
            incident = repo.lock_open_by_group(conn, group_key)
            if incident is not None:
                held.locked[group_key] = incident
        return incident

    def _store(
        self,
        conn: Connection,
        event: OorEvent,
        now: datetime,
        outcome: Outcome,
        incident_id: int | None,
    ) -> int:
        """The new event row's id; :class:`_AlreadyStored` (before anything else is written)
        when this event was stored before: then it is a duplicate, whatever its path."""
        event_id = repo.insert_event(
            conn, repo.event_values(event, now, outcome.value, incident_id)
        )
        if event_id is None:
            raise _AlreadyStored
        return event_id

    def _store_joining(
        self, conn: Connection, held: _Held, outcomes: list[list[IngestResult]]
    ) -> None:
        """Store and count the grouped events waiting in ``held``, for every incident at
        once: one multi-row insert (the unique index skips those stored before), one
        counting UPDATE executed for all incidents, one insert of their coalesced jobs;
        each result goes to the delivery its event came in."""
        waiting = [(number, item) for number, items in held.joining.items() for item in items]
        held.joining.clear()
        if not waiting:
            return
        rows = [repo.event_values(e, at, Outcome.GROUPED.value, n) for n, (_, at, e) in waiting]
        fresh = repo.insert_events(conn, rows)
        counted: dict[int, list[tuple[int, datetime, OorEvent]]] = {}
        repeated: list[tuple[int, OorEvent]] = []
        for number, (index, at, event) in waiting:
            key = (event.source, event.dedup_key)
            if key in fresh:
                del fresh[key]  # the same alert twice in one batch: stored once
                counted.setdefault(number, []).append((index, at, event))
            else:
                repeated.append((index, event))
        notes: list[tuple[int, datetime, str, int]] = []
        follow_ups: list[dict[str, Any]] = []
        for number, stored in counted.items():
            now = max(at for _, at, _ in stored)
            notes.append((number, now, stored[-1][2].title, len(stored)))
            follow_ups += follow_up_rows(number, now, held.enqueued, summary=True)
            for index, _, _ in stored:
                outcomes[index].append(IngestResult(number, Outcome.GROUPED))
        event_tally.note_grouped_events(conn, notes)
        jobs.insert_jobs(conn, follow_ups)
        if repeated:
            known = repo.stored_events_incidents(
                conn, [(e.source, e.dedup_key) for _, e in repeated]
            )
            for index, e in repeated:
                number_of = known.get((e.source, e.dedup_key))
                outcomes[index].append(IngestResult(number_of, Outcome.DUPLICATE))

    def _open_all(self, conn: Connection, held: _Held, outcomes: list[list[IngestResult]]) -> None:
        """Open an incident for each event waiting in ``held``: the events stored by one
        multi-row insert, each incident inserted (the unique index decides against a
        concurrent opening of its group), then their steps, timeline entries, channel jobs
        and the events' results one statement each for all of them."""
        opening, held.opening = held.opening, []
        held.opening_groups.clear()
        if not opening:
            return
        rows = [repo.event_values(e, at, Outcome.OPENED.value, None) for _, at, e in opening]
        ids = repo.insert_events(conn, rows)
        opened: list[tuple[int, int, datetime, OorEvent]] = []  # event id, number, at, event
        here: dict[tuple[str, str], int] = {}  # opened now, for a repeat in the same batch
        for index, at, event in opening:
            key = (event.source, event.dedup_key)
            event_id = ids.pop(key, None)
            if event_id is None:  # stored before, or earlier in this batch
                known = here.get(key) or repo.stored_event_incident(conn, *key)
                outcomes[index].append(IngestResult(known, Outcome.DUPLICATE))
                continue
            number, joined = self._insert_incident(conn, event, at, held)
            if joined:  # another delivery of the group opened it a moment ago: join it
                repo.set_event_result(conn, event_id, Outcome.GROUPED.value, number)
                outcomes[index].append(self._join_opened(conn, event, event_id, at, held))
                continue
            here[key] = number
            opened.append((event_id, number, at, event))
            outcomes[index].append(IngestResult(number, Outcome.OPENED))
        repo.insert_steps(conn, *(number for _, number, _, _ in opened))
        insert_timelines(conn, [
            (number, at, event.origin or event.source, "opened",
             f"Incident opened from a {event.source} event: {event.title}",
             {"event_id": event.dedup_key})
            for _, number, at, event in opened
        ])  # fmt: skip
        jobs.insert_jobs(conn, [channel_job_row(number, at) for _, number, at, _ in opened])
        results = [(event_id, Outcome.OPENED.value, number) for event_id, number, _, _ in opened]
        repo.set_event_results(conn, results)

    def _insert_incident(
        self, conn: Connection, event: OorEvent, now: datetime, held: _Held
    ) -> tuple[int, bool]:
        """The new incident's number, False; if another delivery of the group opened it a
        moment ago, that incident's number (locked in ``held``), True: join it instead."""
        for _ in range(_OPEN_ATTEMPTS):
            number = repo.insert_incident(conn, new_incident_values(self._plan, event, now))
            if number is not None:
                if event.group_key:
                    held.locked[event.group_key] = (number, new_severity(self._plan, event).value)
                return number, False
            assert event.group_key is not None
            held.checked.discard(event.group_key)  # it exists now: look it up
            winner = self._lock(conn, event.group_key, held)
            if winner is not None:
                return winner[0], True
        raise RuntimeError(f"could not open or join an incident for {event.group_key!r}")

    def _join_opened(
        self, conn: Connection, event: OorEvent, event_id: int, now: datetime, held: _Held
    ) -> IngestResult:
        assert event.group_key is not None
        incident = held.locked[event.group_key]
        return self._join(conn, event, event_id, incident, now, held)

    def _join(
        self,
        conn: Connection,
        event: OorEvent,
        event_id: int,
        incident: tuple[int, str],
        now: datetime,
        held: _Held,
    ) -> IngestResult:
        """Add the stored event to the locked open incident of its group: counted, and
        told in the window's summary unless it raises the severity (said at once)."""
        number, severity = incident
        current = Severity(severity)
        raised = event.severity
        if raised is None or _severity_rank(raised) >= _severity_rank(current):
            event_tally.note_event(
                conn, number, now=now, headline=event.title,
                grouped=True, recovered=False, tallied=True,
            )  # fmt: skip
            jobs.insert_jobs(conn, follow_up_rows(number, now, held.enqueued, summary=True))
            return IngestResult(number, Outcome.GROUPED)
        assert event.group_key is not None
        held.locked[event.group_key] = (number, raised.value)
        event_tally.note_event(
            conn, number, now=now, headline=event.title,
            grouped=True, recovered=False, tallied=False, severity=raised.value,
        )  # fmt: skip
        text = f"Severity raised {current.label} → {raised.label} by a related event: {event.title}"
        notice = notice_row(number, now, f"{JobKind.POST_NOTICE}:{event_id}", "severity", text)
        jobs.insert_jobs(conn, [notice])
        self._timeline(conn, event, number, now, "severity", text)
        jobs.insert_jobs(conn, follow_up_rows(number, now, held.enqueued, summary=False))
        return IngestResult(number, Outcome.GROUPED)

    def _recover(
        self,
        conn: Connection,
        event: OorEvent,
        incident: tuple[int, str] | None,
        now: datetime,
        held: _Held,
    ) -> IngestResult:
        """A monitor reports recovery. The first recovery of a window is said at once (its
        notice is keyed by the window); the others are told in the window's summary."""
        if incident is None:
            self._store(conn, event, now, Outcome.IGNORED, None)
            return IngestResult(None, Outcome.IGNORED)
        number = incident[0]
        self._store(conn, event, now, Outcome.RECOVERED, number)
        text = f"Monitor reports recovered: {event.title}"
        key = once_key(number, f"recovered:{window_number(now)}")
        at_once = jobs.insert_jobs(conn, [notice_row(number, now, key, "recovered", text)]) == 1
        event_tally.note_event(
            conn, number, now=now, headline=event_headline(event.title, recovered=True),
            grouped=False, recovered=True, tallied=not at_once,
        )  # fmt: skip
        if at_once:
            self._timeline(conn, event, number, now, "recovered", text)
        follow_ups = follow_up_rows(number, now, held.enqueued, summary=not at_once)
        jobs.insert_jobs(conn, follow_ups)
        return IngestResult(number, Outcome.RECOVERED)

    @staticmethod
    def _timeline(
        conn: Connection, event: OorEvent, number: int, now: datetime, kind: str, text: str
    ) -> None:
        repo.insert_timeline(
            conn,
            number,
            at=now,
            actor=event.origin or event.source,
            kind=kind,
            text=text,
            data={"event_id": event.dedup_key},
        )


def _only_counted(event: OorEvent, incident: tuple[int, str]) -> bool:
    """A firing event that does not raise the open incident's severity: it is stored and
    counted for the window's summary, nothing else (the common case of a storm)."""
    if event.status is EventStatus.RESOLVED:
        return False
    raised = event.severity
    return raised is None or _severity_rank(raised) >= _severity_rank(Severity(incident[1]))
