"""``GET /api/incidents/{id}/postmortem.md[?version=N]``: a post-mortem as Markdown.

Part of the read API: the same bearer token, and off (no route, so 404) without one.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.api.routes import bearer_guard, sees_private
from bot.domain.types import MAX_ID, incident_key, parse_id, parse_incident_key
from bot.postmortems import versions_store
from bot.postmortems.model import StoredPostmortem
from bot.storage import incidents as repo
from bot.storage.db import Database

_HEADERS = {"Cache-Control": "no-store"}


def postmortem_routes(
    db: Database, api_token: str | None, private_token: str | None = None
) -> list[BaseRoute]:
    if api_token is None or not api_token.strip():
        return []

    def find(number: int, version: int | None, private_ok: bool) -> StoredPostmortem | None:
        with db.session() as session:
            incident = repo.get_row(session, number)
            if incident is None or (incident.private and not private_ok):
                return None  # a private incident's only for the private token (bot.api)
            return versions_store.get_postmortem(session, number, version)

    async def markdown(request: Request) -> Response:
        number = parse_incident_key(str(request.path_params["incident_id"]))
        raw_version = request.query_params.get("version", "").strip()
        version = parse_id(raw_version) if raw_version else None
        if raw_version and version is None:
            message = f"version: a whole number from 1 to {MAX_ID}"
            return JSONResponse(
                {"error": "invalid_query", "field": "version", "message": message},
                status_code=400,
                headers=_HEADERS,
            )
        private_ok = sees_private(request)
        found = (
            await run_in_threadpool(find, number, version, private_ok)
            if number is not None
            else None
        )
        if found is None:
            what = incident_key(number) if number is not None else "that incident"
            which = f" v{version}" if version else ""
            return _error("not_found", f"no post-mortem{which} of {what}", 404)
        return Response(
            found.markdown,
            media_type="text/markdown; charset=utf-8",
            headers={
                **_HEADERS,
                "Content-Disposition": f'inline; filename="{found.filename}"',
                "X-Postmortem-Version": str(found.version),
            },
        )

    return [
        Route(
            "/api/incidents/{incident_id}/postmortem.md",
            bearer_guard(api_token, private_token)(markdown),
            methods=["GET"],
        )
    ]


def _error(error: str, message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": error, "message": message}, status_code=status, headers=_HEADERS)
