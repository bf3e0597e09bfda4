"""``POST /slack/events``: what a request must pass before Bolt sees it.

Bolt reads the whole body to check its signature, so the body is read here first, with
the webhooks' limit (:func:`~bot.ingest.limits.read_limited_body`): an announced length
over it is a 413 without reading anything, and a body without a length stops being read
once past it. Slack's own payloads are a few KiB; the biggest, a submitted modal, stays
far below the limit.

Bolt also turns a request timestamp that is not a number into a 500 (``int("abc")`` in
slack_sdk's ``SignatureVerifier``); such a request cannot be Slack's, so it is a 401 here.
"""

from __future__ import annotations

import structlog
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.ingest.errors import IngestError
from bot.ingest.limits import MAX_BODY_BYTES, read_limited_body, with_body

log = structlog.get_logger(__name__)

PATH = "/slack/events"


def _timestamp_ok(value: str | None) -> bool:
    # Absent is Bolt's to refuse (401); present, it must be Unix seconds.
    return value is None or (value.isascii() and value.isdigit() and len(value) <= 12)


def slack_events_route(handler: AsyncSlackRequestHandler, limit: int = MAX_BODY_BYTES) -> Route:
    async def slack_events(request: Request) -> Response:
        try:
            body = await read_limited_body(request, limit)
        except IngestError as exc:
            log.info("slack_request_rejected", status=exc.status, reason=exc.message)
            return JSONResponse(exc.to_json(), status_code=exc.status)
        if not _timestamp_ok(request.headers.get("x-slack-request-timestamp")):
            log.info("slack_request_rejected", status=401, reason="timestamp is not a number")
            return JSONResponse(
                {"error": "unauthorized", "message": "invalid X-Slack-Request-Timestamp"},
                status_code=401,
            )
        return await handler.handle(with_body(request, body))

    return Route(PATH, slack_events, methods=["POST"])
