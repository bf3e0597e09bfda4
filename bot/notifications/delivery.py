"""Outbox jobs of customer notifications: post a draft, update it, deliver it.

Delivery POSTs the approved message as JSON to the plan's webhook for its channel, with
an ``Idempotency-Key`` header (the draft id). The job is enqueued once per draft (its
dedup key) and retried by the outbox until the receiver answers 2xx, so the message is
sent until it is accepted; if a retry follows an attempt the receiver did accept (the
answer was lost, or the process died before recording it), the same key lets the
receiver recognise it. Once recorded as delivered, the job never sends again.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import Any

import httpx
import structlog

from bot.chat.port import ChatMessage, ChatPlatform, Once
from bot.domain.clock import Clock
from bot.domain.plan import Plan
from bot.notifications.model import (
    DELIVER,
    DRAFT_MESSAGE,
    POST_DRAFT,
    REFRESH_DRAFT,
    Draft,
    DraftMessage,
    DraftState,
    to_draft,
)
from bot.outbox.outcomes import NotReady, Permanent, Transient
from bot.storage import incidents as repo
from bot.storage import jobs
from bot.storage.db import Database
from bot.storage.jobs import ClaimedJob
from bot.storage.models import NotificationDraftRow
from bot.worker import JobHandler

log = structlog.get_logger(__name__)

DELIVERY_TIMEOUT_SECONDS = 10.0
# Answers worth retrying; any other 4xx means the receiver refuses this message as it is.
RETRYABLE_4XX = frozenset({408, 409, 425, 429})


class DeliveryFailed(Transient):
    """The webhook could not take the message now (5xx, timeout): the outbox retries with
    backoff."""


class DeliveryRejected(Permanent):
    """The webhook refuses the message (e.g. 400): parked until a person looks at it."""


def delivery_payload(draft: Draft, incident_key: str) -> dict[str, Any]:
    return {
        "incident_id": incident_key,
        "draft_id": draft.id,
        "channel": draft.channel.value,
        "locale": draft.locale.value,
        "subject": draft.subject,
        "body": draft.body,
        "approved_by": draft.approved_by,
        "approved_at": draft.approved_at.isoformat() if draft.approved_at else None,
    }


class NotificationJobs:
    def __init__(
        self,
        db: Database,
        platform: ChatPlatform,
        plan: Plan,
        clock: Clock,
        on_enqueued: Callable[[], None] = lambda: None,
        transport: httpx.BaseTransport | None = None,
        while_waiting: Callable[[], AbstractContextManager[None]] = nullcontext,
    ) -> None:
        """``while_waiting`` wraps the wait on the delivery webhook, as the gateway wraps
        Slack calls: the outbox lends its turn to other jobs meanwhile."""
        self._db = db
        self._while_waiting = while_waiting
        self._platform = platform
        self._plan = plan
        self._clock = clock
        self._on_enqueued = on_enqueued
        self._transport = transport  # tests may pass a mock transport

    def handlers(self) -> dict[str, JobHandler]:
        return {
            POST_DRAFT: self.post_draft,
            REFRESH_DRAFT: self.refresh_draft,
            DELIVER: self.deliver,
        }

    # -- the draft message --------------------------------------------------------------
    def _load(self, job: ClaimedJob) -> tuple[Draft, str, str | None]:
        """The draft, its incident's key and channel (None while it is being created)."""
        draft_id = int(job.payload["draft_id"])
        with self._db.session() as session:
            row = session.get(NotificationDraftRow, draft_id)
            if row is None:
                raise Permanent(job.kind, f"notification draft {draft_id} not found")
            incident = repo.get_row(session, row.incident_id)
            assert incident is not None
            return to_draft(row), f"OOR-{row.incident_id}", incident.channel_id

    @staticmethod
    def message(draft: Draft, incident_key: str) -> ChatMessage:
        text = f"Customer notification {draft.label} — {incident_key} ({draft.state.value})"
        return ChatMessage(DRAFT_MESSAGE, text, DraftMessage(draft, incident_key))

    def post_draft(self, job: ClaimedJob) -> None:
        draft, key, channel_id = self._load(job)
        if draft.message_ts is not None:
            return
        if channel_id is None:
            raise NotReady("the incident channel is not created yet")
        message = self.message(draft, key)
        ts = self._platform.post(channel_id, message, once=Once.for_job(job))
        with self._db.session() as session:
            row = session.get(NotificationDraftRow, draft.id, with_for_update=True)
            assert row is not None
            if row.message_ts is None:
                row.message_ts = ts
                session.add(row)

    def refresh_draft(self, job: ClaimedJob) -> None:
        draft, key, channel_id = self._load(job)
        if draft.message_ts is None or channel_id is None:
            # Its post may have rendered the draft before this change: wait for the post.
            raise NotReady("the draft message is not posted yet")
        self._platform.update(channel_id, draft.message_ts, self.message(draft, key))

    # -- delivery ---------------------------------------------------------------------------
    def deliver(self, job: ClaimedJob) -> None:
        draft, key, _channel = self._load(job)
        if draft.delivered_at is not None:
            return  # recorded as delivered: never send again
        if draft.state is not DraftState.APPROVED:
            raise Permanent(job.kind, f"draft {draft.id} is {draft.state.value}, not approved")
        url = self._plan.notifications.delivery_webhooks.get(draft.channel)
        if not url:
            log.warning("notification_delivery_unconfigured", draft=draft.id)
            return  # the plan no longer delivers this channel
        where = f"delivery:{draft.channel.value}"
        try:
            with (
                self._while_waiting(),
                httpx.Client(timeout=DELIVERY_TIMEOUT_SECONDS, transport=self._transport) as client,
            ):
                response = client.post(
                    url,
                    json=delivery_payload(draft, key),
                    headers={"Idempotency-Key": str(draft.id)},
                )
        except httpx.HTTPError as exc:
            self._record(draft.id, None, f"{type(exc).__name__} (retrying)")
            raise DeliveryFailed(where, type(exc).__name__) from exc
        status = response.status_code
        if 200 <= status < 300:
            self._record(draft.id, self._clock.now(), f"delivered (HTTP {status})", refresh=True)
            return
        if 400 <= status < 500 and status not in RETRYABLE_4XX:
            self._record(draft.id, None, f"rejected (HTTP {status})", refresh=True)
            raise DeliveryRejected(where, f"HTTP {status}")
        self._record(draft.id, None, f"HTTP {status} (retrying)")
        raise DeliveryFailed(where, f"HTTP {status}")

    def _record(
        self, draft_id: int, delivered_at: datetime | None, status: str, *, refresh: bool = False
    ) -> None:
        now = self._clock.now()
        with self._db.session() as session:
            row = session.get(NotificationDraftRow, draft_id, with_for_update=True)
            assert row is not None
            row.delivery_status = status[:200]
            if delivered_at is not None and row.delivered_at is None:
                row.delivered_at = delivered_at
            session.add(row)
            if refresh:
                jobs.enqueue(
                    session,
                    REFRESH_DRAFT,
                    now=now,
                    dedup_key=f"{REFRESH_DRAFT}:{draft_id}:delivery:{status}",
                    incident_id=row.incident_id,
                    payload={"draft_id": draft_id},
                )
        if refresh:
            self._on_enqueued()
