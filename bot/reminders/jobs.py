"""Outbox job handlers: post a reminder, escalate (invite + one DM job per contact), DM.

Every handler re-reads the incident: a reminder whose step was done (or whose incident was
closed or reopened) between the claim and the post is dropped rather than sent stale.
Posts are made at most once per job (a retry finds the earlier post), invites ignore
people already in the room, and DM jobs have their own dedup keys.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

import structlog

from bot.chat.port import ChatMessage, ChatPlatform, Once
from bot.domain.clock import Clock
from bot.domain.incident import IncidentSnapshot
from bot.domain.plan import Plan
from bot.domain.types import IncidentStatus, Role, Step, StepState
from bot.outbox.outcomes import NotReady, Permanent
from bot.reminders.messages import ESCALATION, ESCALATION_DM, REMINDER, Overdue
from bot.reminders.scan import DIRECT_MESSAGE, ESCALATE, POST_REMINDER
from bot.storage import incidents as repo
from bot.storage import jobs
from bot.storage.db import Database
from bot.storage.jobs import ClaimedJob
from bot.worker import JobHandler

log = structlog.get_logger(__name__)

_OPEN = (StepState.PENDING, StepState.IN_PROGRESS)


class ReminderJobs:
    def __init__(
        self,
        db: Database,
        plan: Plan,
        clock: Clock,
        platform: ChatPlatform,
        on_enqueued: Callable[[], None] = lambda: None,
    ) -> None:
        self._db = db
        self._plan = plan
        self._clock = clock
        self._platform = platform
        self._on_enqueued = on_enqueued

    def handlers(self) -> dict[str, JobHandler]:
        return {
            POST_REMINDER: self.post_reminder,
            ESCALATE: self.escalate,
            DIRECT_MESSAGE: self.direct_message,
        }

    # -- helpers -------------------------------------------------------------------------------
    def _current(self, job: ClaimedJob) -> tuple[IncidentSnapshot, Step] | None:
        """The incident if the reminder still applies; None when it no longer does."""
        assert job.incident_id is not None
        with self._db.session() as session:
            incident = repo.snapshot(session, job.incident_id)
        if incident is None:
            raise Permanent(job.kind, f"incident {job.incident_id} not found")
        step = Step(str(job.payload["step"]))
        if (
            incident.status is IncidentStatus.CLOSED
            or incident.generation != int(job.payload.get("generation", 0))
            or incident.step(step).state not in _OPEN
        ):
            log.info("reminder_dropped", incident=incident.key, step=step.value, job=job.id)
            return None
        return incident, step

    def _channel(self, incident: IncidentSnapshot) -> str:
        if incident.channel_id is None:
            raise NotReady("the incident channel is not created yet")
        return incident.channel_id

    def owners(self, incident: IncidentSnapshot, step: Step) -> list[str]:
        """Whom a reminder mentions: whoever started the step, else the holder of the step's
        role (tech lead, comms), else the commander, else the plan's responders for the type."""
        record = incident.step(step)
        if record.state is StepState.IN_PROGRESS and record.started_by:
            return [record.started_by]
        for role in (step.owner_role, Role.COMMANDER):
            holder = incident.roles.get(role) if role else None
            if holder:
                return [holder]
        resolved = self._platform.resolve_people(self._plan.all_responder_refs(incident.type))
        bot = self._platform.bot_person()
        return [user for user in resolved.ids if user != bot]

    def contacts(self, incident: IncidentSnapshot) -> list[str]:
        refs = self._plan.for_type(incident.type).escalation
        resolution = self._platform.resolve_people(refs)
        for ref, why in resolution.unresolved:
            log.warning("escalation_contact_unresolved", incident=incident.key, ref=ref, error=why)
        bot = self._platform.bot_person()
        return [user for user in resolution.ids if user != bot]

    @staticmethod
    def _deadline(job: ClaimedJob) -> datetime:
        return datetime.fromisoformat(str(job.payload["deadline_at"]))

    # -- handlers ----------------------------------------------------------------------------
    def post_reminder(self, job: ClaimedJob) -> None:
        current = self._current(job)
        if current is None:
            return
        incident, step = current
        channel = self._channel(incident)
        overdue = Overdue(
            incident, step, self._deadline(job), self._clock.now(), self.owners(incident, step)
        )
        what = f"{incident.key}: step {step.value} is overdue"
        if int(job.payload.get("level", 1)) >= 2:
            overdue = replace(overdue, contacts=self.contacts(incident))
            message = ChatMessage(ESCALATION, f"Escalation: {what}", overdue)
        else:
            message = ChatMessage(REMINDER, what, overdue)
        self._platform.post(channel, message, once=Once.for_job(job))

    def escalate(self, job: ClaimedJob) -> None:
        """Invite the escalation contacts, then one DM job each (own retries, own dedup)."""
        current = self._current(job)
        if current is None:
            return
        incident, _step = current
        channel = self._channel(incident)
        contacts = self.contacts(incident)
        for user, error in self._platform.invite(channel, contacts):
            log.warning("escalation_invite_failed", incident=incident.key, user=user, error=error)
        now = self._clock.now()
        with self._db.session() as session:
            for user in contacts:
                jobs.enqueue(
                    session,
                    DIRECT_MESSAGE,
                    now=now,
                    dedup_key=f"reminder:{job.payload['reminder_id']}:dm:{user}",
                    incident_id=incident.number,
                    payload={**job.payload, "user": user},
                )
        if contacts:
            self._on_enqueued()

    def direct_message(self, job: ClaimedJob) -> None:
        current = self._current(job)
        if current is None:
            return
        incident, step = current
        overdue = Overdue(incident, step, self._deadline(job), self._clock.now())
        message = ChatMessage(
            ESCALATION_DM, f"{incident.key}: step {step.value} is escalated to you", overdue
        )
        self._platform.direct_message(str(job.payload["user"]), message, once=Once.for_job(job))
