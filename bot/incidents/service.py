"""Applying the six-step state machine to stored incidents.

Every command runs in one transaction with the incident row locked (``FOR UPDATE``), so
two people clicking at once, or Slack delivering twice, see each other's changes: the
second computes an empty :class:`~bot.domain.lifecycle.Change` and nothing happens.
The channel messages and the board refresh are enqueued in the same transaction, and so
is the incident's next-due time (:func:`bot.storage.next_due.refresh`), which any change of
a step, the severity or the status can move: every step change goes through here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.domain.clock import Clock
from bot.domain.incident import IncidentSnapshot, TimelineEntry
from bot.domain.lifecycle import Change, CommandRefused
from bot.domain.plan import Plan
from bot.domain.types import IncidentStatus, Step
from bot.incidents import timeline
from bot.incidents.job_kinds import JobKind
from bot.storage import incidents as repo
from bot.storage import jobs, next_due
from bot.storage.db import Database
from bot.storage.models import IncidentRow, RoleRow

Command = Callable[[IncidentSnapshot, datetime], Change]


@dataclass(frozen=True)
class Applied:
    change: Change
    incident: IncidentSnapshot  # as it is after the change


class IncidentService:
    def __init__(
        self, db: Database, clock: Clock, on_enqueued: Callable[[], None], *, plan: Plan
    ) -> None:
        self._db = db
        self._clock = clock
        self._on_enqueued = on_enqueued
        self._plan = plan  # for the next-due time of reminders

    def now(self) -> datetime:
        return self._clock.now()

    # -- reads -------------------------------------------------------------------------
    def get(self, number: int) -> IncidentSnapshot | None:
        with self._db.session() as session:
            return repo.snapshot(session, number)

    def find_by_channel(self, channel_id: str) -> IncidentSnapshot | None:
        with self._db.session() as session:
            return repo.snapshot_by_channel(session, channel_id)

    def timeline(self, number: int) -> list[TimelineEntry]:
        with self._db.session() as session:
            return repo.timeline_of(session, number)

    # -- changes -----------------------------------------------------------------------
    def apply(self, number: int, actor: str, command: Command) -> Applied:
        """Run ``command`` against the locked incident and store what it changes, in a
        transaction of its own."""
        try:
            with self._db.session() as session:
                applied = self.apply_in(session, number, actor, command)
        except IntegrityError:
            # Reopening an incident whose group already has a newer open incident.
            raise CommandRefused(
                f"OOR-{number} cannot be reopened: another open incident has the same "
                "group key. Work in that one instead."
            ) from None
        if applied.change.changed:
            self._on_enqueued()
        return applied

    def apply_in(self, session: Session, number: int, actor: str, command: Command) -> Applied:
        """:meth:`apply` in the caller's transaction (the unit of work): a feature stores
        its own rows and the step change together, and commits both or neither. The
        caller commits, then wakes the outbox (its jobs are not visible before)."""
        now = self._clock.now()
        row = repo.get_row(session, number, for_update=True)
        if row is None:
            raise CommandRefused(f"There is no incident OOR-{number}.")
        before = repo.to_snapshot(session, row)
        change = command(before, now)
        if not change.changed:
            return Applied(change, before)
        self._store(session, row, change, actor, now)
        session.flush()
        # The incident as stored, built from what was just written rather than read again
        # (two queries fewer on every command that changes something): the row is the one
        # in the session, the steps as update_steps stored them, the roles the old ones
        # plus the change's.
        stored = {record.step: repo.stored_step(record) for record in change.steps}
        steps = tuple(stored.get(record.step, record) for record in before.steps)
        after = repo.build_snapshot(row, steps, {**before.roles, **change.roles})
        next_due.refresh(session, self._plan, row, after)
        return Applied(change, after)

    def _store(
        self, session: Session, row: IncidentRow, change: Change, actor: str, now: datetime
    ) -> None:
        assert row.id is not None
        repo.update_steps(session, row.id, change.steps)
        for column, value in change.incident.items():
            setattr(row, column, value)
        if change.details:
            row.details = {**(row.details or {}), **change.details}
        row.updated_at = now
        session.add(row)
        for role, user in change.roles.items():
            role_row = session.get(RoleRow, (row.id, role.value))
            if role_row is None:
                role_row = RoleRow(
                    incident_id=row.id,
                    role=role.value,
                    user_id=user,
                    assigned_at=now,
                    assigned_by=actor,
                )
            role_row.user_id, role_row.assigned_at, role_row.assigned_by = user, now, actor
            session.add(role_row)
        for note in change.timeline:
            timeline.write(session, row.id, at=now, actor=actor, note=note)
        jobs.enqueue_coalesced(session, JobKind.REFRESH_BOARD, now=now, incident_id=row.id)
        if change.incident.get("status") == IncidentStatus.CLOSED.value:
            # The handler archives only if the plan says so, after the channel's last posts.
            jobs.enqueue(
                session,
                JobKind.ARCHIVE_CHANNEL,
                now=now,
                dedup_key=f"{JobKind.ARCHIVE_CHANNEL}:{row.id}:{row.generation}",
                incident_id=row.id,
            )


def step_from_word(word: str) -> Step | None:
    word = word.lower()
    for step in Step:
        if word in (step.value, str(step.number)):
            return step
    return None
