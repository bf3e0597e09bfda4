"""Operational endpoints (``/livez``, ``/readyz``, ``/metrics``) and request timing.

Every metrics label value comes from a fixed set: a label made from request data (a
made-up method name, a path) would add a time series per distinct value, and 20,000
requests with invented methods once grew ``/metrics`` from 287 KB to 84 MB.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.metrics import Metrics

# (state, reason) of the Socket Mode connection: "connected" | "connecting" | "failed".
SlackStatus = Callable[[], tuple[str, str | None]]

# Label values must stay few: anything else is counted as "other".
_KNOWN_METHODS = frozenset({"GET", "POST", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"})
_KNOWN_ROUTES = (
    "/webhooks/oor",
    "/webhooks/alertmanager",
    "/slack/events",
    "/livez",
    "/readyz",
    "/readyz/slack",
    "/metrics",
    "/api/incidents",
    "/webhooks/pagerduty",
    "/status",
    "/status/history.atom",
)
# Paths under these share one label each, so an id in the path adds no series.
_ROUTE_PREFIXES = ("/api/incidents/", "/status/api/v2/", "/sandbox/")


def route_label(path: str) -> str:
    """The bounded ``route`` label of a request's path (anything unknown is ``other``)."""
    if path in _KNOWN_ROUTES:
        return path
    for prefix in _ROUTE_PREFIXES:
        if path.startswith(prefix):
            return prefix + "*"
    return "other"


def ops_routes(
    metrics: Metrics,
    check_ready: Callable[[], str | None],
    slack_status: SlackStatus | None = None,
) -> list[Route]:
    """``/readyz`` means "ready to take webhooks" (the database), whatever Slack does, so a
    load balancer never stops payment alerts over a Slack problem; its body also tells the
    Socket Mode state. ``/readyz/slack`` is 503 unless the Socket Mode connection is up."""

    def slack_fields() -> dict[str, Any]:
        if slack_status is None:
            return {"socket_mode": "off"}  # HTTP mode: Slack calls us, nothing to hold open
        state, reason = slack_status()
        return {"socket_mode": state, "socket_mode_reason": reason}

    async def livez(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_request: Request) -> Response:
        problem = await run_in_threadpool(check_ready)
        if problem:
            body = {"status": "unavailable", "reason": problem, **slack_fields()}
            return JSONResponse(body, status_code=503)
        return JSONResponse({"status": "ready", **slack_fields()})

    async def readyz_slack(_request: Request) -> Response:
        fields = slack_fields()
        up = fields["socket_mode"] in ("connected", "off")
        return JSONResponse(
            {"status": "ready" if up else "unavailable", **fields}, status_code=200 if up else 503
        )

    async def metrics_endpoint(_request: Request) -> Response:
        body = await run_in_threadpool(generate_latest, metrics.exposition)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return [
        Route("/livez", livez, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/readyz/slack", readyz_slack, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
    ]


def method_label(method: str) -> str:
    return method if method in _KNOWN_METHODS else "other"


class TimingMiddleware:
    """Request durations into the per-app histogram (a plain ASGI middleware: cheap).

    A request whose client went away before the answer is labelled ``disconnected``, not
    with the 500 the framework makes of the interrupted read: nothing failed on our side.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self._app = app
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        status = "500"
        disconnected = False

        async def receive_wrapper() -> Message:
            nonlocal disconnected
            message = await receive()
            if message["type"] == "http.disconnect":
                disconnected = True
            return message

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = str(int(message["status"]))
            await send(message)

        try:
            await self._app(scope, receive_wrapper, send_wrapper)
        finally:
            path = scope.get("path", "")
            route = route_label(path)
            self._metrics.http_request_seconds.labels(
                route=route,
                method=method_label(str(scope.get("method", ""))),
                status="disconnected" if disconnected else status,
            ).observe(time.perf_counter() - started)
