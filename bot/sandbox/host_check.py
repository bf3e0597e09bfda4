"""Sandbox mode answers only requests addressed to this machine: a DNS-rebinding guard.

The sandbox has no secrets a browser lacks: its page acts as any demo user, its emulator
shows every message, and its webhook token is printed in the README. A web page on
another site can make its own domain resolve to 127.0.0.1 (DNS rebinding) and then send
requests here that the browser treats as same-origin; what gives it away is the ``Host``
header, which still names the other site. So in sandbox mode every request must name
``127.0.0.1``, ``localhost``, ``[::1]`` or ``OOR_HOST``, with the port served; anything
else is ``421 Misdirected Request`` and reaches no route.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
_ANY_ADDRESS = ("0.0.0.0", "::", "")


def parse_host(value: str) -> tuple[str, int | None] | None:
    """``"localhost:3000"`` -> ("localhost", 3000); ``"[::1]:80"`` -> ("::1", 80);
    no port -> port None; anything malformed -> None."""
    value = value.strip().lower()
    if value.startswith("["):
        host, bracket, rest = value[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            return None
        port_text = rest[1:] if rest else None
    else:
        host, colon, port_text_or_empty = value.partition(":")
        port_text = port_text_or_empty if colon else None
    if not host:
        return None
    if port_text is None:
        return host, None
    if not (port_text.isascii() and port_text.isdigit() and len(port_text) <= 5):
        return None
    return host, int(port_text)


class HostCheckMiddleware:
    """Refuse requests whose ``Host`` is not this machine at ``port`` (see module doc)."""

    def __init__(self, app: ASGIApp, *, port: int, hosts: Iterable[str] = ()) -> None:
        self._app = app
        self._port = port
        names = {*LOOPBACK_HOSTS, *(h.strip().lower().strip("[]") for h in hosts)}
        self._hosts = frozenset(names - set(_ANY_ADDRESS))

    def allows(self, host_header: str | None) -> bool:
        parsed = parse_host(host_header or "")
        if parsed is None:
            return False
        host, port = parsed
        # A browser leaves the port out only when it is the scheme's default.
        return host in self._hosts and (port if port is not None else 80) == self._port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self._app(scope, receive, send)
            return
        if self.allows(Headers(scope=scope).get("host")):
            await self._app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        response = PlainTextResponse(
            "Misdirected request: the sandbox answers only requests to this machine "
            f"(127.0.0.1, localhost or [::1] on port {self._port}, or OOR_HOST).",
            status_code=421,
        )
        await response(scope, receive, send)
