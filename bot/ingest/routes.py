"""The webhook endpoints: authenticate, validate, store, answer 202 — in that order.

Nothing is stored unless the request authenticates and validates; nothing is answered
202 until the event is committed. Storage runs off the event loop (Slack's 3-second acks
share this loop), through :class:`~bot.ingest.group_commit.GroupCommit`: requests that
arrive together share one transaction, at most a few transactions run at once, and when
too many requests wait the next one gets 503 with ``Retry-After`` rather than a place in
a queue without end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.domain.clock import Clock
from bot.domain.events import OorEvent
from bot.domain.plan import Plan
from bot.incidents.ingest_results import Delivery
from bot.ingest.alertmanager import parse_alertmanager
from bot.ingest.auth import WebhookAuthenticator
from bot.ingest.errors import IngestError
from bot.ingest.group_commit import Busy, GroupCommit
from bot.ingest.limits import MAX_BODY_BYTES, check_content_type, read_limited_body
from bot.ingest.native import native_json_schema, parse_native
from bot.metrics import Metrics

log = structlog.get_logger(__name__)

# A body and when it was received -> the events in it (or IngestError).
Parser = Callable[[bytes, datetime], list[OorEvent]]


@dataclass
class WebhookDeps:
    authenticator: WebhookAuthenticator
    group_commit: GroupCommit
    plan: Plan
    clock: Clock
    metrics: Metrics
    on_stored: Callable[[], None]


def webhook_routes(deps: WebhookDeps) -> list[Route]:
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
            result = await deps.group_commit.store(Delivery(events, now))
        except Busy:
            log.warning("webhook_busy", source=source, waiting=deps.group_commit.waiting)
            deps.metrics.webhook_events.labels(source=source, outcome="busy").inc()
            return JSONResponse(
                {"error": "busy", "message": "too many events waiting to be stored; retry"},
                status_code=503,
                headers={"Retry-After": "1"},
            )
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
