"""Operational endpoints (``/livez``, ``/readyz``, ``/metrics``) and request timing.

Every metrics label value comes from a fixed set: a label made from request data (a
made-up method name, a path) would add a time series per distinct value, and 20,000
requests with invented methods once grew ``/metrics`` from 287 KB to 84 MB.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.metrics import Metrics

# Label values must stay few: anything else is counted as "other".
_KNOWN_METHODS = frozenset({"GET", "POST", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"})
_KNOWN_ROUTES = (
    "/webhooks/oor",
    "/webhooks/alertmanager",
    "/slack/events",
    "/livez",
    "/readyz",
    "/metrics",
    "/api/incidents",
)


def ops_routes(metrics: Metrics, check_ready: Callable[[], str | None]) -> list[Route]:
    async def livez(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_request: Request) -> Response:
        problem = await run_in_threadpool(check_ready)
        if problem:
            return JSONResponse({"status": "unavailable", "reason": problem}, status_code=503)
        return JSONResponse({"status": "ready"})

    async def metrics_endpoint(_request: Request) -> Response:
        body = await run_in_threadpool(generate_latest, metrics.registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return [
        Route("/livez", livez, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
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
            route = path if path in _KNOWN_ROUTES else "other"
            self._metrics.http_request_seconds.labels(
                route=route,
                method=method_label(str(scope.get("method", ""))),
                status="disconnected" if disconnected else status,
            ).observe(time.perf_counter() - started)
