"""The paging flows' outbox jobs: carry out the scan's decisions on the pager, and act on
what PagerDuty tells us (bot/pagerduty/webhook_route.py stored it).

- ``paging.trigger`` / ``paging.acknowledge`` / ``paging.resolve`` (payload: the page's
  dedup key and the decision's version) run in version order: a job waits (NotReady) until
  the version before its own was sent, so an acknowledge never overtakes a trigger that is
  still being retried. PagerDuty's answers are the outbox's outcomes (the port's rule):
  429 and 5xx retried, another 4xx parked. A parked decision still counts as sent, so the
  later ones are not held up behind it.
- ``paging.pagerduty_event`` (payload: the webhook id): ``incident.acknowledged`` completes
  step 1 for the PagerDuty user, found in chat by email, if nobody has done it yet (the
  timeline says it came from PagerDuty); ``incident.resolved`` and ``incident.escalated``
  are noted in the channel.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

import structlog
from sqlalchemy import Table, update
from sqlmodel import select

from bot.chat.port import ChatPlatform
from bot.domain.clock import Clock
from bot.domain.incident import IncidentSnapshot
from bot.domain.lifecycle import Change, CommandRefused, TimelineNote, acknowledge
from bot.domain.privacy import PRIVATE_TITLE
from bot.domain.records import said
from bot.domain.types import IncidentStatus, OorType, Severity, Step, StepState
from bot.incidents import timeline
from bot.incidents.service import IncidentService
from bot.outbox.outcomes import NotReady, Permanent
from bot.pagerduty.rest import PagerDutyRest
from bot.pagerduty.webhook_events import ACKNOWLEDGED, ESCALATED, RESOLVED
from bot.pagerduty.webhook_route import PAGERDUTY_EVENT_JOB
from bot.paging.port import Page, Pager, PageReason, PageRef
from bot.paging.scan import ACKNOWLEDGE, PAGES, RESOLVE, TRIGGER
from bot.paging.tables import PagerDutyWebhookRow, PageRow
from bot.storage import incidents as repo
from bot.storage.db import Database
from bot.storage.jobs import ClaimedJob
from bot.worker import JobHandler

log = structlog.get_logger(__name__)

WEBHOOKS: Table = PagerDutyWebhookRow.__table__  # type: ignore[attr-defined]
WAIT_FOR_EARLIER_SECONDS = 3.0
NOTE_ACTOR = "pagerduty"
NOTE_KIND = "paging"

# A room's link for the page (Slack: a redirect to the channel); None: no link yet.
RoomLink = Callable[[str], str | None]


def page_for(incident: IncidentSnapshot, reason: PageReason, link: str | None) -> Page:
    """The page's text, from the incident's own record (no chat markup)."""
    what = "ESCALATION: " if reason is PageReason.ESCALATION else ""
    # A private incident's title and alert stay in its room (bot.domain.privacy).
    title = PRIVATE_TITLE if incident.private else incident.title
    return Page(
        incident_key=incident.key,
        route=incident.type.value,
        summary=(
            f"{what}{incident.key} [{incident.severity.label}] "
            f"{OorType(incident.type).label}: {title}"
        ),
        severity=Severity(incident.severity),
        source=incident.origin or incident.source,
        link=link,
        custom_details={
            "oor_type": incident.type.value,
            "severity": incident.severity.value,
            "opened_at": incident.opened_at.isoformat(),
            **({"alert_url": incident.url} if incident.url and not incident.private else {}),
        },
        reason=reason,
    )


def acknowledged_in_pagerduty(person: str, email: str) -> Callable[..., Change]:
    """Step 1 by ``person``, unless someone did it already; the timeline says PagerDuty."""

    def command(incident: IncidentSnapshot, at: datetime) -> Change:
        if incident.step(Step.RESPOND).state is StepState.DONE:
            return Change()  # the bot's own acknowledgement, or someone was quicker
        change = acknowledge(incident, person, at)
        text = f"acknowledged the page in PagerDuty ({email}): {Step.RESPOND.label} done"
        if change.roles:
            text += " and is the commander"
        return replace(change, timeline=(TimelineNote("step", said(text)),))

    return command


class RoomNotes:
    """What PagerDuty did, in the timeline and said once in the room (a notice job whose
    dedup key is ``key``, so a retried job does not say it twice). No actor: the notice
    names no chat person for what a pager did."""

    def __init__(self, db: Database, clock: Clock, on_enqueued: Callable[[], None]) -> None:
        self._db = db
        self._clock = clock
        self._on_enqueued = on_enqueued

    def say(self, number: int, key: str, text: str) -> None:
        now = self._clock.now()
        with self._db.session() as session:
            note = TimelineNote(NOTE_KIND, said(text))
            timeline.write(
                session, number, at=now, actor=NOTE_ACTOR, note=note, once=f"paging:{key}"
            )
        self._on_enqueued()


class PagingJobs:
    def __init__(
        self,
        db: Database,
        pager: Pager | None,
        incidents: IncidentService,
        platform: ChatPlatform,
        clock: Clock,
        *,
        notes: RoomNotes,
        pagerduty: PagerDutyRest | None = None,
        room_link: RoomLink = lambda _room: None,
    ) -> None:
        self._db = db
        self._pager = pager
        self._incidents = incidents
        self._platform = platform
        self._clock = clock
        self._pagerduty = pagerduty  # for the email of whoever acted in PagerDuty
        self._room_link = room_link
        self._notes = notes

    def handlers(self) -> dict[str, JobHandler]:
        handlers: dict[str, JobHandler] = {PAGERDUTY_EVENT_JOB: self.pagerduty_event}
        if self._pager is not None:
            handlers |= {TRIGGER: self.send, ACKNOWLEDGE: self.send, RESOLVE: self.send}
        return handlers

    # -- decisions -> the pager -------------------------------------------------------------
    def send(self, job: ClaimedJob) -> None:
        assert self._pager is not None  # registered only with a pager
        key, version = str(job.payload["dedup_key"]), int(job.payload["version"])
        with self._db.session() as session:
            row = session.exec(select(PageRow).where(PageRow.dedup_key == key)).first()
            if row is None:
                raise Permanent(job.kind, f"no page {key}")
            if row.sent_version >= version:
                return  # done by an earlier attempt that died before completing the job
            if row.sent_version < version - 1:
                raise NotReady(f"{key} v{version - 1} not sent yet", WAIT_FOR_EARLIER_SECONDS)
            route, reason, number = row.route, PageReason(row.reason), row.incident_id
        event_id = f"oor-bot-job-{job.id}"
        try:
            if job.kind == TRIGGER:
                incident = self._incidents.get(number)
                if incident is None:
                    raise Permanent(job.kind, f"no incident OOR-{number}")
                link = self._room_link(incident.channel_id) if incident.channel_id else None
                self._pager.trigger(page_for(incident, reason, link), event_id=event_id)
            elif job.kind == ACKNOWLEDGE:
                self._pager.acknowledge(PageRef(key, route), event_id=event_id)
            else:
                self._pager.resolve(PageRef(key, route), event_id=event_id)
        except Permanent as exc:
            self._sent(key, version, error=str(exc))
            raise
        self._sent(key, version)

    def _sent(self, key: str, version: int, error: str | None = None) -> None:
        with self._db.session() as session:
            session.execute(
                update(PAGES)
                .where(PAGES.c.dedup_key == key, PAGES.c.sent_version < version)
                .values(sent_version=version, last_error=error[:300] if error else None)
            )

    # -- PagerDuty -> the incident ----------------------------------------------------------
    def pagerduty_event(self, job: ClaimedJob) -> None:
        webhook_id = str(job.payload["webhook_id"])
        with self._db.session() as session:
            row = session.exec(
                select(PagerDutyWebhookRow).where(PagerDutyWebhookRow.webhook_id == webhook_id)
            ).first()
            if row is None or row.incident_id is None:
                return
            incident = repo.get_row(session, row.incident_id)
            if incident is None or incident.status == IncidentStatus.CLOSED.value:
                return  # its room may be archived: nothing more to say there
            event_type, number = row.event_type, row.incident_id
            agent_id, agent_name, dedup_key = row.agent_id, row.agent_name, row.dedup_key
        who = agent_name or "someone"
        if event_type == ACKNOWLEDGED:
            self._acknowledged(number, webhook_id, dedup_key, agent_id, who)
        elif event_type == RESOLVED:
            self._notes.say(number, webhook_id, f"PagerDuty: the page was resolved by {who}")
        elif event_type == ESCALATED:
            self._notes.say(number, webhook_id, "PagerDuty: the page was escalated")

    def _acknowledged(
        self, number: int, webhook_id: str, dedup_key: str | None, agent: str | None, who: str
    ) -> None:
        # PagerDuty has it acknowledged: the scan must not tell it again.
        with self._db.session() as session:
            session.execute(
                update(PAGES)
                .where(PAGES.c.dedup_key == dedup_key, PAGES.c.status == "triggered")
                .values(
                    status="acknowledged",
                    version=PAGES.c.version + 1,
                    sent_version=PAGES.c.version + 1,
                    updated_at=self._clock.now(),
                )
            )
        email = self._email(agent)
        person = self._platform.person_by_email(email) if email else None
        if person is None:
            text = f"PagerDuty: the page was acknowledged by {who}"
            if email:
                text += f" ({email}, not found in chat: acknowledge here to take step 1)"
            self._notes.say(number, webhook_id, text)
            return
        try:
            self._incidents.apply(number, person, acknowledged_in_pagerduty(person, email or ""))
        except CommandRefused as exc:  # closed meanwhile: nothing to acknowledge
            log.info("pagerduty_ack_not_applied", incident=number, reason=str(exc))

    def _email(self, agent: str | None) -> str | None:
        if agent is None or self._pagerduty is None:
            return None
        email = self._pagerduty.user_email(agent)
        return email or None
