"""The webhook endpoints: authenticate, validate, store, answer 202 — in that order.

Nothing is stored unless the request authenticates and validates; nothing is answered
202 until the event is committed. Storage runs in a worker thread so the event loop keeps
serving other requests (Slack's 3-second acks share this loop).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import structlog
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.domain.clock import Clock
from bot.domain.events import OorEvent
from bot.domain.plan import Plan
from bot.incidents.ingest import IngestService
from bot.ingest.alertmanager import parse_alertmanager
from bot.ingest.auth import WebhookAuthenticator
from bot.ingest.errors import IngestError
from bot.ingest.limits import MAX_BODY_BYTES, check_content_type, read_limited_body
from bot.ingest.native import native_json_schema, parse_native
from bot.metrics import Metrics

log = structlog.get_logger(__name__)


@dataclass
class WebhookDeps:
    authenticator: WebhookAuthenticator
    ingest: IngestService
    plan: Plan
    clock: Clock
    metrics: Metrics
    on_stored: Callable[[], None]


def webhook_routes(deps: WebhookDeps) -> list[Route]:
    async def receive(request: Request, source: str, parse: Callable[[bytes], list[OorEvent]]):
        try:
            check_content_type(request.headers.get("content-type"))
            body = await read_limited_body(request, MAX_BODY_BYTES)
            deps.authenticator.verify(request.headers, body)
            events = parse(body)
        except IngestError as exc:
            deps.metrics.webhook_events.labels(source=source, outcome=f"http_{exc.status}").inc()
            log.info("webhook_rejected", source=source, status=exc.status, field=exc.field)
            return JSONResponse(exc.to_json(), status_code=exc.status)
        try:
            result = await run_in_threadpool(deps.ingest.ingest, events, now=deps.clock.now())
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
        return await receive(request, "native", lambda body: [parse_native(body)])

    async def alertmanager(request: Request) -> Response:
        return await receive(
            request,
            "alertmanager",
            lambda body: parse_alertmanager(body, deps.plan.alertmanager).events,
        )

    async def schema(_request: Request) -> Response:
        return JSONResponse(native_json_schema())

    return [
        Route("/webhooks/oor", native, methods=["POST"]),
        Route("/webhooks/oor/schema", schema, methods=["GET"]),
        Route("/webhooks/alertmanager", alertmanager, methods=["POST"]),
    ]
