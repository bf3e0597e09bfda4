"""Starlette app serving a `PagerDutyEmulator`: the Events API v2 (``POST /v2/enqueue``), the
REST API v2 reads (``/oncalls``, ``/users/{id}``, ``/schedules/{id}``) and control endpoints
under ``/_emulator/`` for tests and the sandbox.

Routes are relative, so the app works at the root of its own server or mounted under a prefix.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.sandbox.pagerduty.api_types import CODE_AUTH, CODE_RATE_LIMIT, Answer, Query, rest_error
from bot.sandbox.pagerduty.emulator import PagerDutyEmulator
from bot.sandbox.pagerduty.model import Call, iso


def _render(answer: Answer) -> JSONResponse:
    return JSONResponse(answer.body, status_code=answer.status, headers=answer.headers)


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    body = json.loads(raw)
    if not isinstance(body, dict):
        raise ValueError("expected a JSON object")
    return body


def create_pagerduty_app(emu: PagerDutyEmulator) -> Starlette:
    """Build the HTTP front end of ``emu``."""

    def record(request: Request, endpoint: str, body: Any, token: str | None, status: int) -> None:
        emu.record_call(
            Call(
                endpoint=endpoint,
                method=request.method,
                path=request.url.path,
                query=list(request.query_params.multi_items()),
                body=body,
                token=token,
                at=iso(emu.clock.now()) or "",
                status=status,
            )
        )

    async def enqueue(request: Request) -> Response:
        emu.note_base_url(str(request.base_url))
        raw = await request.body()
        try:
            shown: Any = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            shown = raw.decode("utf-8", "replace")
        fault = emu.faults.take("events.enqueue")
        if fault.latency > 0:
            await asyncio.sleep(fault.latency)
        answer = emu.fault_answer("events.enqueue", fault) or emu.enqueue(raw)
        record(request, "events.enqueue", shown, None, answer.status)
        return _render(answer)

    def rest(endpoint: str) -> Any:
        async def handler(request: Request) -> Response:
            emu.note_base_url(str(request.base_url))
            token = emu.authenticate(request.headers.get("authorization"))
            path_id = request.path_params.get("id")
            if token is None:
                # NOTES.md "REST v2 essentials": `Authorization: Token token=<key>`.
                denied = rest_error(401, CODE_AUTH, "Unauthorized: a valid API token is needed")
                record(request, endpoint, None, None, denied.status)
                return _render(denied)
            fault = emu.faults.take(endpoint)
            if fault.latency > 0:
                await asyncio.sleep(fault.latency)
            answer = emu.fault_answer(endpoint, fault)
            if answer is None:
                allowed, headers = emu.rate_limit.check(token)
                if allowed:
                    result = emu.rest(endpoint, Query(request.query_params.multi_items()), path_id)
                else:
                    result = rest_error(429, CODE_RATE_LIMIT, "Rate Limit Exceeded")
                answer = Answer(result.status, result.body, headers | result.headers)
            record(request, endpoint, None, token, answer.status)
            return _render(answer)

        return handler

    async def state(request: Request) -> Response:
        return JSONResponse(emu.snapshot())

    async def calls(request: Request) -> Response:
        endpoint = request.query_params.get("endpoint")
        selected = emu.calls_to(endpoint) if endpoint else emu.calls
        return JSONResponse([c.to_json() for c in selected])

    async def reset(request: Request) -> Response:
        emu.reset()
        return JSONResponse({"ok": True})

    async def pages(request: Request) -> Response:
        return JSONResponse([p.to_json() for p in emu.pages])

    async def phone(request: Request) -> Response:
        """Acknowledge or resolve a page "from the phone": ``{"user": email or id}``."""
        body = await _json_body(request)
        action = request.path_params["action"]
        if action not in ("acknowledge", "resolve"):
            return JSONResponse({"ok": False, "error": "unknown action"}, status_code=404)
        act = emu.acknowledge_from_phone if action == "acknowledge" else emu.resolve_from_phone
        # Webhooks are POSTed with a blocking client: off the event loop.
        sent = await run_in_threadpool(act, request.path_params["page_id"], str(body["user"]))
        return JSONResponse(
            {
                "ok": True,
                "page": emu.page(request.path_params["page_id"]).to_json(),
                "deliveries": [d.to_json() for d in sent],
            }
        )

    async def faults(request: Request) -> Response:
        if request.method == "DELETE":
            emu.faults.clear()
            return JSONResponse({"ok": True})
        if request.method == "GET":
            return JSONResponse({"ok": True, "faults": [f.to_json() for f in emu.faults.active()]})
        fault = emu.faults.add(**await _json_body(request))
        return JSONResponse({"ok": True, "fault": fault.to_json()})

    async def users(request: Request) -> Response:
        user = emu.add_user(**await _json_body(request))
        return JSONResponse({"ok": True, "user": {"id": user.id, "email": user.email}})

    async def schedules(request: Request) -> Response:
        schedule = emu.add_schedule(**await _json_body(request))
        return JSONResponse({"ok": True, "schedule": {"id": schedule.id}})

    async def policies(request: Request) -> Response:
        policy = emu.add_escalation_policy(**await _json_body(request))
        return JSONResponse({"ok": True, "escalation_policy": {"id": policy.id}})

    async def services(request: Request) -> Response:
        service = emu.add_service(**await _json_body(request))
        return JSONResponse(
            {"ok": True, "service": {"id": service.id, "integration_key": service.integration_key}}
        )

    async def subscriptions(request: Request) -> Response:
        sub = emu.add_webhook_subscription(**await _json_body(request))
        return JSONResponse({"ok": True, "webhook_subscription": sub.to_json()})

    async def deliveries(request: Request) -> Response:
        return JSONResponse([d.to_json() for d in emu.deliveries])

    async def redeliver(request: Request) -> Response:
        sent = await run_in_threadpool(emu.redeliver, request.path_params["webhook_id"])
        return JSONResponse({"ok": True, "delivery": sent.to_json()})

    async def deliver_due(request: Request) -> Response:
        """Retry the webhooks whose time has come (NOTES.md "Webhooks v3", Delivery)."""
        sent = await run_in_threadpool(emu.deliver_due)
        return JSONResponse({"ok": True, "deliveries": [d.to_json() for d in sent]})

    async def bad_request(request: Request, exc: Exception) -> Response:
        return JSONResponse({"ok": False, "error": f"{type(exc).__name__}: {exc}"}, status_code=400)

    routes: list[BaseRoute] = [
        Route("/v2/enqueue", enqueue, methods=["POST"]),
        Route("/oncalls", rest("rest.oncalls"), methods=["GET"]),
        Route("/users/{id}", rest("rest.users"), methods=["GET"]),
        Route("/schedules/{id}", rest("rest.schedules"), methods=["GET"]),
        Route("/_emulator/state", state, methods=["GET"]),
        Route("/_emulator/calls", calls, methods=["GET"]),
        Route("/_emulator/reset", reset, methods=["POST"]),
        Route("/_emulator/pages", pages, methods=["GET"]),
        Route("/_emulator/pages/{page_id}/{action}", phone, methods=["POST"]),
        Route("/_emulator/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route("/_emulator/users", users, methods=["POST"]),
        Route("/_emulator/schedules", schedules, methods=["POST"]),
        Route("/_emulator/escalation_policies", policies, methods=["POST"]),
        Route("/_emulator/services", services, methods=["POST"]),
        Route("/_emulator/webhook_subscriptions", subscriptions, methods=["POST"]),
        Route("/_emulator/webhooks", deliveries, methods=["GET"]),
        Route("/_emulator/webhooks/deliver_due", deliver_due, methods=["POST"]),
        Route("/_emulator/webhooks/{webhook_id}/redeliver", redeliver, methods=["POST"]),
    ]
    handlers: dict[Any, Any] = {
        ValueError: bad_request,
        TypeError: bad_request,
        KeyError: bad_request,
    }
    return Starlette(routes=routes, exception_handlers=handlers)
