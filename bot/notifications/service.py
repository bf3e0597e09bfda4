"""Customer notification drafts (step 5): create, edit, approve, discard.

Each change to a draft is one transaction with the draft row locked, so a double click
(or Slack delivering a click twice) finds the first click's result and changes nothing.
The Slack work it causes (posting the draft, updating it in place, delivering it to a
webhook) is enqueued in that same transaction, with dedup keys, so it happens once.

Step 5 follows the drafts: in progress while any draft waits for approval, done when
none waits and at least one was approved. The step change goes through
:meth:`IncidentService.apply_in` in the draft's own transaction (one unit of work): the
drafts and the step commit together or not at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlmodel import Session, col, select

from bot.domain import lifecycle
from bot.domain.clock import Clock
from bot.domain.incident import IncidentSnapshot
from bot.domain.lifecycle import Change, CommandRefused, Reply, TimelineNote
from bot.domain.plan import Plan
from bot.domain.plan_sections import Locale, NotifyChannel
from bot.domain.records import Person, Sentence, said
from bot.domain.types import IncidentStatus, Step
from bot.incidents.service import IncidentService
from bot.notifications.model import (
    DELIVER,
    POST_DRAFT,
    REFRESH_DRAFT,
    Draft,
    DraftState,
    to_draft,
)
from bot.notifications.templates import (
    NotificationTemplateError,
    NotificationTemplates,
    Rendered,
    render_message,
)
from bot.storage import incidents as repo
from bot.storage import jobs
from bot.storage.db import Database
from bot.storage.models import IncidentRow, NotificationDraftRow


@dataclass(frozen=True)
class Outcome:
    draft: Draft
    changed: bool
    reply: Reply


@dataclass(frozen=True)
class Created:
    created: list[Draft]
    waiting: list[Draft]  # a draft of that channel and locale already awaits approval


def _by(user: str | None) -> Person | str:
    return Person(user) if user else "someone"


def _decided_already(draft: Draft) -> Sentence:
    """Why a draft decided one way cannot be decided the other way."""
    if draft.state is DraftState.APPROVED:
        return said(
            f"The {draft.label} notification was approved by ",
            _by(draft.approved_by),
            " and cannot be discarded.",
        )
    return said(
        f"The {draft.label} draft was discarded by ",
        _by(draft.discarded_by),
        "; draft it again with `/oor notify`.",
    )


def _notify_note(text: str) -> TimelineNote:
    return TimelineNote("notify", said(text), announce=False)


def _with_note(change: Change, note: TimelineNote | None, reply: Reply) -> Change:
    if note is None:
        return replace(change, reply=reply)
    return replace(change, timeline=(note, *change.timeline), reply=reply)


class DraftService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        incidents: IncidentService,
        plan: Plan,
        templates: NotificationTemplates,
        on_enqueued: Callable[[], None] = lambda: None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._incidents = incidents
        self._plan = plan
        self._templates = templates
        self._on_enqueued = on_enqueued

    # -- reading and rendering --------------------------------------------------------
    def get(self, draft_id: int) -> Draft | None:
        with self._db.session() as session:
            row = session.get(NotificationDraftRow, draft_id)
            return to_draft(row) if row else None

    def drafts_of(self, number: int) -> list[Draft]:
        with self._db.session() as session:
            rows = session.exec(
                select(NotificationDraftRow)
                .where(NotificationDraftRow.incident_id == number)
                .order_by(col(NotificationDraftRow.id))
            ).all()
            return [to_draft(r) for r in rows]

    def render(
        self, incident: IncidentSnapshot, channel: NotifyChannel, locale: Locale
    ) -> Rendered:
        return render_message(self._templates, self._plan, incident, channel, locale)

    # -- changes ---------------------------------------------------------------------
    def create(
        self,
        incident: IncidentSnapshot,
        actor: str,
        requests: Sequence[tuple[NotifyChannel, Locale]],
    ) -> Created:
        if incident.status is IncidentStatus.CLOSED:
            raise CommandRefused(
                f"{incident.key} is closed. Run `/oor reopen` first to notify customers again."
            )
        try:  # render everything first: one broken template drafts nothing
            rendered = [(ch, loc, self.render(incident, ch, loc)) for ch, loc in requests]
        except NotificationTemplateError as exc:
            raise CommandRefused(f"Could not draft the notification: {exc}") from None
        now = self._clock.now()
        created: list[Draft] = []
        waiting: list[Draft] = []
        with self._db.session() as session:
            # The incident row lock queues concurrent `/oor notify` runs behind each other,
            # so two clicks on Notify cannot both draft the same channel and locale.
            if repo.get_row(session, incident.number, for_update=True) is None:
                raise CommandRefused(f"There is no incident {incident.key}.")
            pending = {(d.channel, d.locale): d for d in self._pending(session, incident.number)}
            for channel, locale, message in rendered:
                if (channel, locale) in pending:
                    waiting.append(pending[(channel, locale)])
                    continue
                row = NotificationDraftRow(
                    incident_id=incident.number,
                    channel=channel.value,
                    locale=locale.value,
                    subject=message.subject,
                    body=message.body,
                    state=DraftState.DRAFT.value,
                    drafted_by=actor,
                    drafted_at=now,
                )
                session.add(row)
                session.flush()
                draft = to_draft(row)
                pending[(channel, locale)] = draft
                created.append(draft)
                self._enqueue(session, POST_DRAFT, draft, now)
            if created:
                labels = ", ".join(d.label for d in created)
                note = _notify_note(f"drafted customer notifications: {labels}")
                self._incidents.apply_in(
                    session,
                    incident.number,
                    actor,
                    lambda snap, at: _with_note(
                        lifecycle.start_step(snap, actor, at, Step.NOTIFY), note, ""
                    ),
                )
        if created:
            self._on_enqueued()
        return Created(created, waiting)

    def edit(self, draft_id: int, actor: str, subject: str | None, body: str) -> Outcome:
        body = body.strip()
        subject = " ".join(subject.split()) if subject is not None else None
        now = self._clock.now()
        with self._db.session() as session:
            row = self._locked(session, draft_id)
            draft = to_draft(row)
            if draft.state is not DraftState.DRAFT:
                raise CommandRefused(
                    f"The {draft.label} notification was already {draft.state.value}; "
                    "it can no longer be edited. Draft a new one with `/oor notify`."
                )
            if not body:
                raise CommandRefused("A notification needs some text.")
            if draft.subject is None:
                subject = None  # SMS have no subject, whatever the form sent
            elif not subject:
                subject = draft.subject  # a form without the field keeps the subject
            if body == draft.body and subject == draft.subject:
                return Outcome(draft, False, "Nothing changed in the text.")
            row.body, row.subject = body, subject
            row.edited_by, row.edited_at = actor, now
            session.add(row)
            draft = to_draft(row)
            self._enqueue(session, REFRESH_DRAFT, draft, now)
            note = _notify_note(f"edited the {draft.label} notification draft")
            self._incidents.apply_in(
                session, draft.incident_number, actor, lambda snap, at: Change(timeline=(note,))
            )
        self._on_enqueued()
        return Outcome(draft, True, f"Saved your changes to the {draft.label} draft.")

    def approve(self, draft_id: int, actor: str) -> Outcome:
        return self.decide(draft_id, actor, DraftState.APPROVED)

    def discard(self, draft_id: int, actor: str) -> Outcome:
        return self.decide(draft_id, actor, DraftState.DISCARDED)

    def decide(self, draft_id: int, actor: str, decision: DraftState) -> Outcome:
        """Approve or discard a waiting draft, once: a repeated click finds the decision
        already made and changes nothing; the other decision is refused."""
        if decision is DraftState.DRAFT:
            raise ValueError("a draft is decided by approving or discarding it")
        approving = decision is DraftState.APPROVED
        noun = "notification" if approving else "draft"
        now = self._clock.now()
        with self._db.session() as session:
            row = self._locked(session, draft_id)
            draft = to_draft(row)
            if draft.state is decision:
                by = draft.approved_by if approving else draft.discarded_by
                outcome = Outcome(
                    draft,
                    False,
                    said(
                        f"The {draft.label} {noun} was already {decision.value} by ", _by(by), "."
                    ),
                )
            elif draft.state is not DraftState.DRAFT:
                raise CommandRefused(_decided_already(draft))
            else:
                if approving:
                    self._check_may_approve(session, draft, actor)
                    row.approved_by, row.approved_at = actor, now
                else:
                    row.discarded_by, row.discarded_at = actor, now
                row.state = decision.value
                session.add(row)
                draft = to_draft(row)
                self._enqueue(session, REFRESH_DRAFT, draft, now)
                if approving and self._plan.notifications.delivery_webhooks.get(draft.channel):
                    # One delivery job per draft, ever: its dedup key is the draft id.
                    jobs.enqueue(
                        session,
                        DELIVER,
                        now=now,
                        dedup_key=f"{DELIVER}:{draft.id}",
                        incident_id=draft.incident_number,
                        payload={"draft_id": draft.id},
                    )
                verb = "Approved" if approving else "Discarded"
                outcome = Outcome(draft, True, f"{verb} the {draft.label} {noun}.")
            note = None
            if outcome.changed:
                what = "notification" if approving else "notification draft"
                note = _notify_note(f"{decision.value} the {draft.label} {what}")
            # The step follows the stored drafts, in the draft's transaction: both or neither.
            self._sync_step(session, draft.incident_number, actor, note)
        if outcome.changed:
            self._on_enqueued()
        return outcome

    # -- helpers ---------------------------------------------------------------------------
    def _locked(self, session: Session, draft_id: int) -> NotificationDraftRow:
        """The draft, locked after its incident: every transaction that changes a step
        locks the incident row first, so clicks on two drafts of one incident queue
        instead of deadlocking (each holding its draft and a key-share on the incident
        from the jobs it inserted, both waiting to lock the incident for the step)."""
        number = session.exec(
            select(NotificationDraftRow.incident_id).where(NotificationDraftRow.id == draft_id)
        ).first()
        if number is None:
            raise CommandRefused("That notification draft no longer exists.")
        repo.get_row(session, number, for_update=True)
        row = session.exec(
            select(NotificationDraftRow)
            .where(NotificationDraftRow.id == draft_id)
            .with_for_update()
        ).first()
        if row is None:
            raise CommandRefused("That notification draft no longer exists.")
        return row

    def _pending(self, session: Session, number: int) -> list[Draft]:
        rows = session.exec(
            select(NotificationDraftRow).where(
                NotificationDraftRow.incident_id == number,
                NotificationDraftRow.state == DraftState.DRAFT.value,
            )
        ).all()
        return [to_draft(r) for r in rows]

    def _check_may_approve(self, session: Session, draft: Draft, actor: str) -> None:
        incident = session.get(IncidentRow, draft.incident_number)
        if incident is not None and incident.status == IncidentStatus.CLOSED.value:
            raise CommandRefused(f"OOR-{draft.incident_number} is closed. Run `/oor reopen` first.")
        if not self._plan.notifications.two_person_approval:
            return
        # Four eyes: whoever wrote the text being approved (drafted it, or last edited
        # it) cannot also be the one who approves it.
        authors = {draft.drafted_by, draft.edited_by} - {None}
        if actor in authors:
            role = "drafted" if actor == draft.drafted_by else "last edited"
            raise CommandRefused(
                f"The plan requires a second person to approve customer notifications, and "
                f"you {role} this one. Ask another responder to review and approve it."
            )

    def _enqueue(self, session: Session, kind: str, draft: Draft, now: datetime) -> None:
        # Posting is once per draft. A refresh re-renders the stored draft, so every change
        # gets its own (unique) one: a finished refresh must not swallow a later change's.
        key = (
            f"{kind}:{draft.id}" if kind == POST_DRAFT else f"{kind}:{draft.id}:{uuid.uuid4().hex}"
        )
        jobs.enqueue(
            session,
            kind,
            now=now,
            dedup_key=key,
            incident_id=draft.incident_number,
            payload={"draft_id": draft.id},
        )

    def _sync_step(
        self, session: Session, number: int, actor: str, note: TimelineNote | None
    ) -> None:
        """Step 5 as the drafts say: done once nothing waits and something was approved."""
        rows = session.exec(
            select(NotificationDraftRow).where(NotificationDraftRow.incident_id == number)
        ).all()
        drafts = [to_draft(r) for r in rows]
        waiting = [d for d in drafts if d.state is DraftState.DRAFT]
        approved = sorted((d for d in drafts if d.state is DraftState.APPROVED), key=_draft_id)

        def command(snap: IncidentSnapshot, at: datetime) -> Change:
            if snap.status is IncidentStatus.CLOSED:
                return _with_note(Change(), note, "")
            if not waiting and approved:
                sent = ", ".join(d.label for d in approved)
                change = lifecycle.mark_notified(snap, actor, at, f"approved {sent}")
            elif waiting:
                change = lifecycle.start_step(snap, actor, at, Step.NOTIFY)
            else:
                change = Change()
            return _with_note(change, note, "")

        self._incidents.apply_in(session, number, actor, command)


def _draft_id(draft: Draft) -> int:
    return draft.id
