"""Post-mortem transactions: save the review, compile a version, publish it, action items.

No Slack here: the Slack layer checks who may change what, and hands in a ``names``
function (user id → display name) the compile uses to make the document readable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from sqlmodel import Session

from bot.domain import lifecycle
from bot.domain.clock import Clock
from bot.domain.incident import IncidentSnapshot
from bot.domain.lifecycle import Change, CommandRefused, Reply, TimelineNote
from bot.domain.plan import Plan
from bot.domain.records import Person, is_user_id, said
from bot.domain.types import IncidentStatus, Step, StepState, incident_key
from bot.incidents import timeline
from bot.incidents.service import IncidentService
from bot.notifications.store import approved_count
from bot.postmortems import actions_store, notes_store, versions_store
from bot.postmortems.compile import compile_postmortem
from bot.postmortems.model import ActionItem, NewActionItem, ReviewNotes, StoredPostmortem
from bot.storage import incidents as repo
from bot.storage import jobs
from bot.storage.db import Database
from bot.storage.models import IncidentRow
from bot.storage.timeline import actors_and_people

UPLOAD_POSTMORTEM = "upload_postmortem"  # outbox job kind: file + summary in the channel
REFRESH_SUMMARY = "postmortem_refresh_summary"  # the summary says who published, no button
NamesLookup = Callable[[Iterable[str]], dict[str, str]]


def publish_command(
    version: int, *, first: bool = True
) -> Callable[[IncidentSnapshot, str, datetime], Change]:
    """Publishing completes step 6 (review); when step 6 is already done, or the incident
    was closed before its review, the first publishing is only noted in the timeline and
    a repeated one changes nothing."""

    def command(incident: IncidentSnapshot, actor: str, at: datetime) -> Change:
        reply = f"Post-mortem v{version} is published."
        published = said(f"published post-mortem v{version}")
        facts = {"step": Step.REVIEW.value, "state": StepState.DONE.value, "version": version}
        noted = (TimelineNote("step", published, facts=facts),) if first else ()
        if incident.status is IncidentStatus.CLOSED:
            return Change(timeline=noted, reply=reply)
        change = lifecycle.mark_reviewed(incident, actor, at, f"post-mortem v{version} published")
        if change.changed:
            return change
        return Change(timeline=noted, reply=reply)

    return command


def _user_ids(incident: IncidentSnapshot, actors: Iterable[str]) -> list[str]:
    found = [*incident.roles.values()]
    for record in incident.steps:
        found += [u for u in (record.started_by, record.completed_by) if u]
    found += [a for a in actors if is_user_id(a)]
    return list(dict.fromkeys(found))


def _lock(session: Session, number: int) -> IncidentRow | None:
    """The incident row, locked: numbering and publishing queue behind each other."""
    return repo.get_row(session, number, for_update=True)


class PostmortemService:
    def __init__(
        self,
        db: Database,
        plan: Plan,
        clock: Clock,
        incidents: IncidentService,
        on_enqueued: Callable[[], None],
        names: NamesLookup = lambda _ids: {},
    ) -> None:
        self._db = db
        self._plan = plan
        self._clock = clock
        self._incidents = incidents
        self._on_enqueued = on_enqueued
        self._names = names

    # -- reads ---------------------------------------------------------------------------
    def notes(self, number: int) -> ReviewNotes | None:
        with self._db.session() as session:
            return notes_store.get_notes(session, number)

    def action_items(self, number: int) -> list[ActionItem]:
        with self._db.session() as session:
            return actions_store.action_items(session, number)

    def open_action_items(self) -> list[tuple[int, ActionItem]]:
        with self._db.session() as session:
            return actions_store.open_action_items(session)

    def get(self, number: int, version: int | None = None) -> StoredPostmortem | None:
        with self._db.session() as session:
            return versions_store.get_postmortem(session, number, version)

    def versions(self, number: int) -> list[int]:
        with self._db.session() as session:
            return versions_store.versions(session, number)

    # -- the review ----------------------------------------------------------------------
    def submit_review(
        self,
        number: int,
        actor: str,
        notes: ReviewNotes,
        new_items: Sequence[NewActionItem] = (),
    ) -> StoredPostmortem:
        """Store the form's notes and action items, then compile the next version."""
        now = self._clock.now()
        with self._db.session() as session:
            if _lock(session, number) is None:
                raise CommandRefused(f"There is no incident {incident_key(number)}.")
            notes_store.upsert_notes(session, number, notes, by=actor, at=now)
            for new in new_items:
                self._add_item(session, number, actor, new, now)
        return self.compile(number, actor)

    def compile(self, number: int, actor: str) -> StoredPostmortem:
        """Compile version n+1 from the record as it is now and queue its upload."""
        with self._db.session() as session:
            incident = repo.snapshot(session, number)
            if incident is None:
                raise CommandRefused(f"There is no incident {incident_key(number)}.")
            actors = actors_and_people(session, number)
            owners = {i.owner for i in actions_store.action_items(session, number) if i.owner}
        # Platform lookups happen outside the transaction, which holds the incident row.
        names = self._names(_user_ids(incident, [*sorted(actors), *sorted(owners)]))
        now = self._clock.now()
        with self._db.session() as session:
            row = _lock(session, number)
            assert row is not None and row.id is not None
            incident = repo.to_snapshot(session, row)
            version = versions_store.next_version(session, number)
            postmortem = compile_postmortem(
                incident,
                repo.timeline_of(session, number),
                notes_store.get_notes(session, number),
                actions_store.action_items(session, number),
                approved_count(session, number),
                self._plan,
                version=version,
                compiled_at=now,
                compiled_by=actor,
                names=names,
            )
            stored = versions_store.add_postmortem(
                session, number, version, postmortem, by=actor, at=now
            )
            compiled = said(f"compiled post-mortem v{version}")
            note = TimelineNote("postmortem", compiled, announce=False, facts={"version": version})
            timeline.write(session, number, at=now, actor=actor, note=note)
            jobs.enqueue(
                session,
                UPLOAD_POSTMORTEM,
                now=now,
                dedup_key=f"{UPLOAD_POSTMORTEM}:{number}:v{version}",
                incident_id=number,
                payload={"postmortem_id": stored.id},
            )
        self._on_enqueued()
        return stored

    def publish(
        self, number: int, version: int, actor: str, summary: tuple[str, str] | None = None
    ) -> Reply:
        """Publish a version (the summary message's button); the reply for ``actor``.
        ``summary``: the channel and ts of the message clicked, updated to say who published.

        Who published is decided under the incident row lock, which compiling a version
        takes too: two clicks at once publish once, and a version replaced meanwhile is
        refused. The step change is stored in the same transaction (one unit of work):
        publishing and step 6 commit together or not at all.
        """
        now = self._clock.now()
        with self._db.session() as session:
            row = _lock(session, number)
            chosen = versions_store.get_postmortem(session, number, version)
            newest = versions_store.get_postmortem(session, number)
            if row is None or chosen is None or newest is None:
                raise CommandRefused(f"{incident_key(number)} has no post-mortem v{version}.")
            if chosen.published_at is None:
                if newest.version != version:
                    raise CommandRefused(
                        f"v{version} was replaced by v{newest.version}: publish the newest version."
                    )
                versions_store.mark_published(session, chosen.id, by=actor, at=now)
                if summary is not None:
                    channel_id, ts = summary
                    jobs.enqueue(
                        session,
                        REFRESH_SUMMARY,
                        now=now,
                        dedup_key=f"{REFRESH_SUMMARY}:{number}:v{version}",
                        incident_id=number,
                        payload={"postmortem_id": chosen.id, "channel_id": channel_id, "ts": ts},
                    )
            first = chosen.published_at is None
            command = publish_command(version, first=first)
            # A refusal here (the step change's) rolls the publishing back with it.
            applied = self._incidents.apply_in(
                session, number, actor, lambda snap, at: command(snap, actor, at)
            )
        if first or applied.change.changed:
            self._on_enqueued()
        if not first:
            by = Person(chosen.published_by) if chosen.published_by else "someone"
            return said(f"Post-mortem v{version} was already published by ", by, ".")
        return applied.change.reply or f"Post-mortem v{version} is published."

    # -- action items --------------------------------------------------------------------
    def add_action(self, number: int, actor: str, new: NewActionItem) -> tuple[ActionItem, bool]:
        now = self._clock.now()
        with self._db.session() as session:
            if _lock(session, number) is None:
                raise CommandRefused(f"There is no incident {incident_key(number)}.")
            result = self._add_item(session, number, actor, new, now)
        self._on_enqueued()
        return result

    def _add_item(
        self, session: Session, number: int, actor: str, new: NewActionItem, now: datetime
    ) -> tuple[ActionItem, bool]:
        item, added = actions_store.add_action_item(session, number, new, by=actor, at=now)
        if added:
            due = item.due.isoformat() if item.due else None
            if item.owner:
                then = said(" (owner ", Person(item.owner), f", due {due})" if due else ")")
            else:
                then = said(f" (due {due})" if due else "")
            sentence = said(f"added action item {item.number}: {item.text}", then)
            facts = {"item": item.number, "owner": item.owner, "due": due}
            note = TimelineNote("action", sentence, facts=facts)
            timeline.write(session, number, at=now, actor=actor, note=note)
        return item, added

    def complete_action(self, number: int, actor: str, item_number: int) -> tuple[ActionItem, bool]:
        now = self._clock.now()
        with self._db.session() as session:
            if _lock(session, number) is None:
                raise CommandRefused(f"There is no incident {incident_key(number)}.")
            result = actions_store.complete_action_item(
                session, number, item_number, by=actor, at=now
            )
            if result is None:
                raise CommandRefused(
                    f"{incident_key(number)} has no action item {item_number}. "
                    "`/oor actions` lists them."
                )
            item, changed = result
            if changed:
                done = said(f"completed action item {item.number}: {item.text}")
                note = TimelineNote("action", done, facts={"item": item.number, "done": True})
                timeline.write(session, number, at=now, actor=actor, note=note)
        if changed:
            self._on_enqueued()
        return item, changed
