"""``POST /webhooks/pagerduty``: PagerDuty's Webhooks v3, verified, stored once, acted on later.

In this order (tests/fixtures/pagerduty/NOTES.md "Webhooks v3"):
1. read the body with the ingest's cap (1 MiB; PagerDuty's events are a few KiB);
2. verify ``X-PagerDuty-Signature`` against every secret we hold (several ``v1=`` values
   during a rotation; constant-time, bot/pagerduty/signature.py) before parsing anything:
   401 and nothing stored otherwise;
3. store the delivery under its ``X-Webhook-Id`` (repeated on retries) with the database's
   unique constraint deciding, so a retry, or the same delivery reaching two replicas, is
   acted on once; the outbox job that acts on it is committed in the same transaction;
4. answer 202 at once: PagerDuty waits 5 s for a 2xx, so nothing slow (PagerDuty's REST
   API for the agent's email, the chat platform) happens in the request.

Event types the bot does not act on, and events about pages that are not ours, are stored
as ``ignored`` and answered 2xx: a 4xx would count towards PagerDuty disabling the
subscription.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial

import anyio.to_thread
import structlog
from sqlalchemy import Table
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.domain.clock import Clock
from bot.ingest.errors import IngestError
from bot.ingest.limits import MAX_BODY_BYTES, read_limited_body
from bot.metrics import Metrics
from bot.pagerduty.signature import SIGNATURE_HEADER, SignatureError, check
from bot.pagerduty.webhook_events import (
    NotAWebhookEvent,
    PagerDutyWebhookEvent,
    parse_webhook_event,
)
from bot.paging.tables import PagerDutyWebhookRow
from bot.storage import jobs
from bot.storage.db import Database
from bot.storage.models import IncidentRow
from bot.storage.sql import dialect_name, insert_ignoring_conflicts

log = structlog.get_logger(__name__)

PATH = "/webhooks/pagerduty"
WEBHOOK_ID_HEADER = "X-Webhook-Id"
# The outbox job that acts on a stored delivery (its handler: bot/paging/flows.py).
PAGERDUTY_EVENT_JOB = "paging.pagerduty_event"
MAX_WEBHOOK_ID = 200
WEBHOOKS: Table = PagerDutyWebhookRow.__table__  # type: ignore[attr-defined]

QUEUED, IGNORED, DUPLICATE = "queued", "ignored", "duplicate"


@dataclass
class PagerDutyWebhookDeps:
    db: Database
    clock: Clock
    secrets: Sequence[str]  # empty: PagerDuty webhooks are off (404)
    on_stored: Callable[[], None] = lambda: None
    metrics: Metrics | None = None  # oor_webhook_events{source="pagerduty", outcome=…}


def job_dedup_key(webhook_id: str) -> str:
    """One job per delivery; a long id is hashed to fit the outbox's key."""
    if len(webhook_id) <= 150:
        return f"{PAGERDUTY_EVENT_JOB}:{webhook_id}"
    return f"{PAGERDUTY_EVENT_JOB}:sha256:{hashlib.sha256(webhook_id.encode()).hexdigest()}"


def _incident_number(incident_key: str | None) -> int | None:
    number = (incident_key or "").removeprefix("OOR-")
    if not (number.isascii() and number.isdigit()) or len(number) > 9:
        return None
    return int(number)


def store_delivery(
    db: Database, webhook_id: str, event: PagerDutyWebhookEvent, now: datetime
) -> str:
    """Record the delivery once; queue the job that acts on it. ``queued``, ``ignored`` or
    ``duplicate``."""
    with db.session() as session:
        number = _incident_number(event.incident_key) if event.acted_on else None
        incident = session.get(IncidentRow, number) if number is not None else None
        outcome = QUEUED if incident is not None else IGNORED
        stmt = insert_ignoring_conflicts(dialect_name(session), WEBHOOKS, unique=["webhook_id"])
        inserted = session.execute(
            stmt.returning(WEBHOOKS.c.id).values(
                webhook_id=webhook_id,
                event_id=event.event_id,
                event_type=event.event_type,
                pd_incident_id=event.pd_incident_id,
                dedup_key=event.dedup_key,
                incident_id=incident.id if incident is not None else None,
                agent_id=event.agent_id,
                agent_name=event.agent_name,
                occurred_at=event.occurred_at,
                received_at=now,
                outcome=outcome,
            )
        ).scalar_one_or_none()
        if inserted is None:  # the unique webhook id was taken: seen before
            return DUPLICATE
        if outcome == QUEUED:
            jobs.enqueue(
                session,
                PAGERDUTY_EVENT_JOB,
                now=now,
                dedup_key=job_dedup_key(webhook_id),
                incident_id=incident.id if incident is not None else None,
                payload={"webhook_id": webhook_id},
            )
        return outcome


def pagerduty_webhook_route(deps: PagerDutyWebhookDeps) -> Route:
    limiter: anyio.CapacityLimiter | None = None  # made on first use: it needs the event loop

    def count(outcome: str) -> None:
        # Outcomes come from a fixed set (http_<status>, queued, ignored, duplicate, ...).
        if deps.metrics is not None:
            deps.metrics.webhook_events.labels(source="pagerduty", outcome=outcome).inc()

    async def receive(request: Request) -> Response:
        nonlocal limiter
        if not deps.secrets:
            return JSONResponse({"error": "not_found"}, status_code=404)
        now = deps.clock.now()
        try:
            body = await read_limited_body(request, MAX_BODY_BYTES)
        except IngestError as exc:
            count(f"http_{exc.status}")
            return JSONResponse(exc.to_json(), status_code=exc.status)
        try:
            check(body, request.headers.get(SIGNATURE_HEADER), deps.secrets)
        except SignatureError as exc:
            log.info("pagerduty_webhook_rejected", reason=type(exc).__name__)
            count("http_401")
            return JSONResponse(
                {"error": "unauthorized", "message": "X-PagerDuty-Signature does not verify"},
                status_code=401,
            )
        try:
            event = parse_webhook_event(body)
        except NotAWebhookEvent as exc:
            count("http_400")
            return JSONResponse({"error": "invalid_event", "message": str(exc)}, status_code=400)
        webhook_id = (request.headers.get(WEBHOOK_ID_HEADER) or "").strip()
        if not webhook_id:
            # PagerDuty always sends it; without it, the event's own id is what repeats.
            webhook_id = f"event:{event.event_id}" if event.event_id else ""
        if not webhook_id or len(webhook_id) > MAX_WEBHOOK_ID:
            count("http_400")
            return JSONResponse(
                {"error": "invalid_event", "message": f"{WEBHOOK_ID_HEADER} missing or too long"},
                status_code=400,
            )
        if limiter is None:
            limiter = anyio.CapacityLimiter(4)
        try:
            work = partial(store_delivery, deps.db, webhook_id, event, now)
            outcome = await anyio.to_thread.run_sync(work, limiter=limiter)
        except SQLAlchemyError:
            log.exception("pagerduty_webhook_store_failed")
            count("store_failed")
            # PagerDuty retries a 5xx (for up to 48 h), with the same X-Webhook-Id.
            return JSONResponse(
                {"error": "storage_unavailable", "message": "could not store the event; retry"},
                status_code=503,
            )
        if outcome == QUEUED:
            deps.on_stored()
        count(outcome)
        log.info(
            "pagerduty_webhook_accepted",
            event_type=event.event_type,
            incident=event.incident_key,
            outcome=outcome,
        )
        return JSONResponse({"status": outcome}, status_code=202)

    return Route(PATH, receive, methods=["POST"])
