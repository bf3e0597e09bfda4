"""A delivery webhook for tests: a real HTTP endpoint that answers as told and records
every call it gets (the idempotency key, the JSON, the answer)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support import ServerThread


@dataclass
class Receiver:
    """Answers ``statuses`` in turn (then 200) and records each call."""

    statuses: list[int] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)

    async def hook(self, request: Request) -> JSONResponse:
        status = self.statuses.pop(0) if self.statuses else 200
        self.calls.append(
            {
                "key": request.headers.get("idempotency-key"),
                "json": json.loads(await request.body()),
                "status": status,
            }
        )
        return JSONResponse({"ok": status < 300}, status_code=status)


@contextmanager
def serving(receiver: Receiver, path: str = "/hooks/sms") -> Iterator[str]:
    """Serve ``receiver`` on a free port; yields its URL."""
    server = ServerThread(Starlette(routes=[Route(path, receiver.hook, methods=["POST"])]))
    server.start()
    try:
        yield f"{server.url}{path}"
    finally:
        server.stop()
