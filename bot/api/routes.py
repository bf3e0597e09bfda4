"""``GET /api/incidents`` and ``GET /api/incidents/{id}``, behind a bearer token.

The API is off unless ``OOR_API_TOKEN`` is set: :func:`api_routes` then returns no routes
at all, so every ``/api/...`` path is the server's ordinary 404 — there is no
unauthenticated mode. With a token, a request without ``Authorization: Bearer <token>``
(compared in constant time) gets 401 and ``WWW-Authenticate: Bearer``.

Storage reads run in a worker thread so the event loop keeps serving Slack's acks.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import structlog
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.api.queries import (
    DEFAULT_LIMIT,
    IncidentQuery,
    QueryError,
    get_incident,
    list_incidents,
    parse_limit,
    parse_since,
    parse_statuses,
    parse_type,
)
from bot.api.serialize import incident_detail, incident_summary
from bot.domain.types import incident_key, parse_incident_key
from bot.storage.db import Database

log = structlog.get_logger(__name__)

_PARAMS = ("status", "type", "since", "limit")
# Responses hold incident data: never kept by a shared cache.
_HEADERS = {"Cache-Control": "no-store"}
# ``?since=2026-11-25T08:00:00+08:00`` sent unencoded arrives with the ``+`` decoded to a
# space; put it back rather than answering a puzzling 400.
_DECODED_PLUS = re.compile(r"^(\d{4}-\d{2}-\d{2}T[\d:.]+) (\d{2}(?::?\d{2})?)$")

Handler = Callable[[Request], Awaitable[Response]]


def sees_private(request: Request) -> bool:
    """Whether the request's bearer token is the private token (set by :func:`bearer_guard`)."""
    return bool(getattr(request.state, "sees_private", False))


def bearer_guard(api_token: str, private_token: str | None = None) -> Callable[[Handler], Handler]:
    """Wrap a handler: 401 without ``Authorization: Bearer <api_token>`` (or the private
    token, which also sees private incidents: :func:`sees_private`), 503 when storage
    fails. Shared by every ``/api/...`` route, including those features add."""
    expected = api_token.encode()
    expected_private = private_token.encode() if private_token and private_token.strip() else None

    def authorized(request: Request) -> bool:
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        given = credentials.strip().encode()
        if scheme.lower() != "bearer" or not given:
            return False
        # Bytes: hmac.compare_digest refuses str holding non-ASCII characters. Both
        # comparisons always run, so the time taken does not say which token matched.
        public = hmac.compare_digest(given, expected)
        private = expected_private is not None and hmac.compare_digest(given, expected_private)
        request.state.sees_private = private
        return public or private

    def guarded(handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            if not authorized(request):
                log.info("api_unauthorized", path=request.url.path)
                return JSONResponse(
                    {"error": "unauthorized", "message": "a valid bearer token is required"},
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer", **_HEADERS},
                )
            try:
                return await handler(request)
            except SQLAlchemyError:
                log.exception("api_storage_failed", path=request.url.path)
                return _json(
                    {"error": "storage_unavailable", "message": "could not read incidents"}, 503
                )

        return endpoint

    return guarded


def api_routes(
    db: Database, api_token: str | None, private_token: str | None = None
) -> list[BaseRoute]:
    """The read API's routes; none at all (so 404 everywhere) without a token. Private
    incidents are answered only to ``private_token`` (``OOR_API_PRIVATE_TOKEN``): to the
    ordinary token they are not listed and are a 404 like a missing incident."""
    if api_token is None or not api_token.strip():
        return []
    guarded = bearer_guard(api_token, private_token)

    def list_page(query: IncidentQuery) -> list[dict[str, Any]]:
        with db.session() as session:
            return [incident_summary(s) for s in list_incidents(session, query)]

    def detail_of(number: int, include_private: bool) -> dict[str, Any] | None:
        with db.session() as session:
            found = get_incident(session, number, include_private=include_private)
        return incident_detail(*found) if found else None

    async def list_endpoint(request: Request) -> Response:
        try:
            query = replace(_parse_list_query(request), include_private=sees_private(request))
        except QueryError as exc:
            return _json(exc.to_json(), 400)
        return _json(await run_in_threadpool(list_page, query))

    async def detail_endpoint(request: Request) -> Response:
        number = parse_incident_key(str(request.path_params["incident_id"]))
        private = sees_private(request)
        detail = await run_in_threadpool(detail_of, number, private) if number is not None else None
        if detail is None:
            what = incident_key(number) if number is not None else "that id"
            return _json({"error": "not_found", "message": f"no incident {what}"}, 404)
        return _json(detail)

    return [
        Route("/api/incidents", guarded(list_endpoint), methods=["GET"]),
        Route("/api/incidents/{incident_id}", guarded(detail_endpoint), methods=["GET"]),
    ]


def _json(body: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=_HEADERS)


def _parse_list_query(request: Request) -> IncidentQuery:
    params = request.query_params
    for name in params:
        if name not in _PARAMS:
            raise QueryError(name, f"unknown parameter; use {', '.join(_PARAMS)}")
    for name in ("type", "since", "limit"):
        if len(params.getlist(name)) > 1:
            raise QueryError(name, "given more than once")
    # Empty values (``?status=&type=``) mean "no filter", as in an unfilled form.
    statuses = ",".join(v for v in params.getlist("status") if v.strip())
    type_ = params.get("type", "").strip()
    since = params.get("since", "").strip()
    limit = params.get("limit", "").strip()
    return IncidentQuery(
        statuses=parse_statuses(statuses) if statuses else (),
        type=parse_type(type_) if type_ else None,
        since=parse_since(_DECODED_PLUS.sub(r"\1+\2", since)) if since else None,
        limit=parse_limit(limit) if limit else DEFAULT_LIMIT,
    )
