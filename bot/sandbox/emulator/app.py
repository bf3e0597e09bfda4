"""Starlette app serving an `Emulator` over HTTP: the Web API plus control endpoints.

Routes are relative, so the app works at the root of its own server or mounted under a prefix
(e.g. `Mount("/sandbox/slack", app=create_emulator_app(emu))`); the emulator learns its public
base URL (prefix included) from the first request it sees.
"""

from __future__ import annotations

import asyncio
import email.policy
import json
from email.parser import BytesParser
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket

from bot.sandbox.emulator.emulator import Emulator
from bot.sandbox.emulator.methods import METHODS
from bot.sandbox.emulator.socket_mode import SocketModeError, envelope_request


class _BadRequest(Exception):
    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


async def _parse_api_args(request: Request) -> dict[str, Any]:
    """Merge query string and body the way Slack does; slack_sdk uses all three encodings."""
    args: dict[str, Any] = dict(request.query_params)
    if request.method != "POST":
        return args
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        raw = await request.body()
        if raw.strip():
            try:
                body = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise _BadRequest("invalid_json") from exc
            if not isinstance(body, dict):
                raise _BadRequest("json_not_object")
            args.update(body)
    elif content_type == "application/x-www-form-urlencoded":
        args.update(parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True))
    elif content_type == "multipart/form-data":
        for name, value, filename in _multipart_parts(request, await request.body()):
            if filename is None:
                args[name] = value.decode("utf-8")
    return args


def _multipart_parts(request: Request, body: bytes) -> list[tuple[str, bytes, str | None]]:
    """(field name, content, filename) of each part, via the stdlib email parser.

    Parsed by hand because Starlette's form parsing needs python-multipart, which is not a
    project dependency and is only needed for this rarely used encoding.
    """
    header = f"Content-Type: {request.headers.get('content-type', '')}\r\n\r\n".encode()
    message = BytesParser(policy=email.policy.HTTP).parsebytes(header + body)
    parts = []
    for part in message.iter_parts() if message.is_multipart() else []:
        payload = part.get_payload(decode=True)
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str) and isinstance(payload, bytes):
            parts.append((name, payload, part.get_filename()))
    return parts


def _bearer_token(request: Request, args: dict[str, Any]) -> str | None:
    """Token from the Authorization header, else from a `token` argument (both are allowed)."""
    form_token = args.pop("token", None)
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer ") and auth[7:].strip():
        return auth[7:].strip()
    return str(form_token) if form_token else None


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except json.JSONDecodeError as exc:
        raise _BadRequest("invalid_json") from exc
    if not isinstance(body, dict):
        raise _BadRequest("json_not_object")
    return body


def _error(status: int, error: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error": error}, status_code=status)


def create_emulator_app(emu: Emulator) -> Starlette:
    """Build the HTTP front end of `emu`."""

    async def api(request: Request) -> Response:
        emu.note_base_url(str(request.base_url))
        method = request.path_params["method"]
        try:
            args = await _parse_api_args(request)
        except _BadRequest as exc:
            # Slack answers undecodable bodies with HTTP 200 and ok:false, like other errors.
            result = emu.reject(method, _bearer_token(request, {}), exc.error)
            return JSONResponse(result.body, status_code=result.status)
        token = _bearer_token(request, args)
        fault = emu.faults.take(method) if method in METHODS else None
        if fault is not None and fault.latency > 0:
            await asyncio.sleep(fault.latency)  # never block the event loop
        result = emu.execute(method, args, token, fault)
        return JSONResponse(result.body, status_code=result.status, headers=result.headers)

    async def state(request: Request) -> Response:
        return JSONResponse(emu.snapshot())

    async def calls(request: Request) -> Response:
        method = request.query_params.get("method")
        selected = emu.calls_to(method) if method else emu.calls
        return JSONResponse([c.to_json() for c in selected])

    async def reset(request: Request) -> Response:
        emu.reset()
        return JSONResponse({"ok": True})

    async def add_user(request: Request) -> Response:
        return JSONResponse({"ok": True, "user": emu.add_user(**await _json_body(request))})

    async def add_usergroup(request: Request) -> Response:
        group = emu.add_usergroup(**await _json_body(request))
        return JSONResponse({"ok": True, "usergroup": group})

    async def add_channel(request: Request) -> Response:
        channel = emu.add_channel(**await _json_body(request))
        return JSONResponse({"ok": True, "channel": channel})

    async def faults(request: Request) -> Response:
        if request.method == "DELETE":
            emu.faults.clear()
            return JSONResponse({"ok": True})
        if request.method == "GET":
            return JSONResponse({"ok": True, "faults": [f.to_json() for f in emu.faults.active()]})
        fault = emu.faults.add(**await _json_body(request))
        return JSONResponse({"ok": True, "fault": fault.to_json()})

    async def rate_limits(request: Request) -> Response:
        if request.method == "DELETE":  # none at all, Slack's own included
            emu.rate_limits.clear()
            return JSONResponse({"ok": True, "rate_limits": {}})
        body = await _json_body(request)
        if body.get("per_channel"):
            emu.rate_limits.set_per_channel(
                body["method"], float(body["per_second"]), int(body["burst"])
            )
        else:
            emu.set_rate_limit(body["method"], int(body["calls"]), float(body["per_seconds"]))
        return JSONResponse({"ok": True, "rate_limits": emu.rate_limits.limits()})

    async def response_urls(request: Request) -> Response:
        emu.note_base_url(str(request.base_url))
        body = await _json_body(request)
        return JSONResponse({"ok": True, "url": emu.new_response_url(**body)})

    async def upload(request: Request) -> Response:
        data = await request.body()
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            # Take the file part (or the first part) of a multipart upload.
            parts = _multipart_parts(request, data)
            files = [p for p in parts if p[2] is not None] or parts
            data = files[0][1] if files else b""
        if not emu.store_upload(request.path_params["file_id"], data):
            return PlainTextResponse("not_found", status_code=404)
        return PlainTextResponse(f"OK - {len(data)}")

    async def response(request: Request) -> Response:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("application/x-www-form-urlencoded"):
            form = dict(parse_qsl((await request.body()).decode("utf-8")))
            try:
                payload = json.loads(form.get("payload", "{}"))
            except json.JSONDecodeError as exc:
                raise _BadRequest("invalid_json") from exc
        else:
            payload = await _json_body(request)
        status, text = emu.post_response(request.path_params["token"], payload)
        return PlainTextResponse(text, status_code=status)

    async def socket_link(websocket: WebSocket) -> None:
        # The URL apps.connections.open handed out: single use, like Slack's tickets.
        if not emu.take_socket_ticket(websocket.query_params.get("ticket")):
            await websocket.close(code=1008)  # before accept: the handshake gets a 403
            return
        await emu.socket_mode.serve(websocket)

    async def socket_deliver(request: Request) -> Response:
        kind, payload, accepts = envelope_request(await _json_body(request))
        try:
            ack = await emu.socket_mode.deliver_async(
                kind, payload, accepts_response_payload=accepts
            )
        except SocketModeError as exc:
            return JSONResponse({"ok": False, "error": str(exc)}, status_code=409)
        return JSONResponse(
            {
                "ok": True,
                "envelope_id": ack.envelope_id,
                "ack_payload": ack.payload,
                "seconds": ack.seconds,
            }
        )

    async def socket_refresh(request: Request) -> Response:
        body = await _json_body(request) if await request.body() else {}
        asked = emu.socket_mode.request_refresh(str(body.get("reason", "refresh_requested")))
        return JSONResponse({"ok": True, "connections": asked})

    async def socket_state(request: Request) -> Response:
        return JSONResponse(emu.socket_mode.state())

    async def bad_request(request: Request, exc: Exception) -> Response:
        error = exc.error if isinstance(exc, _BadRequest) else f"{type(exc).__name__}: {exc}"
        return _error(400, error)

    routes: list[BaseRoute] = [
        Route("/api/{method}", api, methods=["GET", "POST"]),
        WebSocketRoute("/link/", socket_link),
        Route("/_emulator/state", state, methods=["GET"]),
        Route("/_emulator/calls", calls, methods=["GET"]),
        Route("/_emulator/reset", reset, methods=["POST"]),
        Route("/_emulator/users", add_user, methods=["POST"]),
        Route("/_emulator/usergroups", add_usergroup, methods=["POST"]),
        Route("/_emulator/channels", add_channel, methods=["POST"]),
        Route("/_emulator/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route("/_emulator/rate_limits", rate_limits, methods=["POST", "DELETE"]),
        Route("/_emulator/response_urls", response_urls, methods=["POST"]),
        Route("/_emulator/upload/{file_id}", upload, methods=["POST", "PUT"]),
        Route("/_emulator/response/{token}", response, methods=["POST"]),
        Route("/_emulator/socket_mode", socket_state, methods=["GET"]),
        Route("/_emulator/socket_mode/deliver", socket_deliver, methods=["POST"]),
        Route("/_emulator/socket_mode/refresh", socket_refresh, methods=["POST"]),
    ]
    # Control endpoints report bad input (unknown kwargs, duplicate ids...) as 400s.
    handlers: dict[Any, Any] = {
        _BadRequest: bad_request,
        ValueError: bad_request,
        TypeError: bad_request,
        KeyError: bad_request,
    }
    return Starlette(routes=routes, exception_handlers=handlers)
