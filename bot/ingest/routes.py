"""The webhook endpoints: authenticate, validate, store, answer 202 — in that order.

Nothing is stored unless the request authenticates and validates; nothing is answered
202 until the event is committed. Storage runs in a worker thread so the event loop keeps
serving other requests (Slack's 3-second acks share this loop).

At most ``store_threads`` requests store at once; the others wait their turn before taking
a thread. Without that bound a burst ran up to 40 threads (AnyIO's default) against a pool
of 10 database connections plus 10 overflow ones: threads queued for connections, and the
overflow connections were opened and closed again, a new PostgreSQL session each time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

import anyio
import anyio.to_thread
import structlog
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.domain.clock import Clock
from bot.domain.events import OorEvent
from bot.domain.plan import Plan
from bot.incidents.ingest import IngestResult, IngestService
from bot.ingest.alertmanager import parse_alertmanager
from bot.ingest.auth import WebhookAuthenticator
from bot.ingest.errors import IngestError
from bot.ingest.limits import MAX_BODY_BYTES, check_content_type, read_limited_body
from bot.ingest.native import native_json_schema, parse_native
from bot.metrics import Metrics

log = structlog.get_logger(__name__)

# A body and when it was received -> the events in it (or IngestError).
Parser = Callable[[bytes, datetime], list[OorEvent]]


@dataclass
class WebhookDeps:
    authenticator: WebhookAuthenticator
    ingest: IngestService
    plan: Plan
    clock: Clock
    metrics: Metrics
    on_stored: Callable[[], None]
    # One store is a few milliseconds of database round trips; a handful at once keeps
    # the database busy and stays inside the connection pool (10), next to the outbox.
    store_threads: int = 6


def webhook_routes(deps: WebhookDeps) -> list[Route]:
    limiter: anyio.CapacityLimiter | None = None  # made on first use: it needs the event loop

    async def store(events: list[OorEvent], now: datetime) -> IngestResult:
        nonlocal limiter
        if limiter is None:
            limiter = anyio.CapacityLimiter(deps.store_threads)
        work = partial(deps.ingest.ingest, events, now=now)
        return await anyio.to_thread.run_sync(work, limiter=limiter)

    async def receive(request: Request, source: str, parse: Parser) -> Response:
        now = deps.clock.now()
        try:
            check_content_type(request.headers.get("content-type"))
            body = await read_limited_body(request, MAX_BODY_BYTES)
            deps.authenticator.verify(request.headers, body)
            events = parse(body, now)
        except IngestError as exc:
            deps.metrics.webhook_events.labels(source=source, outcome=f"http_{exc.status}").inc()
            log.info("webhook_rejected", source=source, status=exc.status, field=exc.field)
            return JSONResponse(exc.to_json(), status_code=exc.status)
        try:
            result = await store(events, now)
        except SQLAlchemyError:
            # 5xx only when storing failed: senders (Alertmanager) retry those.
            log.exception("webhook_store_failed", source=source)
            deps.metrics.webhook_events.labels(source=source, outcome="store_failed").inc()
            return JSONResponse(
                {"error": "storage_unavailable", "message": "could not store the event; retry"},
                status_code=503,
            )
        deps.on_stored()
        deps.metrics.webhook_events.labels(source=source, outcome=result.outcome.value).inc()
        log.info("webhook_accepted", source=source, **result.to_json())
        return JSONResponse(result.to_json(), status_code=202)

    async def native(request: Request) -> Response:
        return await receive(request, "native", lambda body, now: [parse_native(body, now=now)])

    async def alertmanager(request: Request) -> Response:
        return await receive(
            request,
            "alertmanager",
            lambda body, now: parse_alertmanager(body, deps.plan.alertmanager, now=now).events,
        )

    async def schema(_request: Request) -> Response:
        return JSONResponse(native_json_schema())

    return [
        Route("/webhooks/oor", native, methods=["POST"]),
        Route("/webhooks/oor/schema", schema, methods=["GET"]),
        Route("/webhooks/alertmanager", alertmanager, methods=["POST"]),
    ]
