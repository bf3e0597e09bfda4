"""Cheap checks done before a body is parsed: its media type and its size.

The body is read with a hard cap so that a client (or a misconfigured sender) cannot make
the bot buffer an arbitrarily large request: both a lying and an honest Content-Length
are handled, because the cap is enforced on the bytes actually received. Every endpoint
that takes a body from outside reads it this way: the webhooks, and ``/slack/events``
before Bolt checks its signature (an unsigned 1,000 MiB POST once grew the process by
3 GB before its 401).
"""

from __future__ import annotations

from contextlib import aclosing

from starlette.requests import ClientDisconnect, Request
from starlette.types import Message

from bot.ingest.errors import IngestError

# Real events are a few KiB; Alertmanager groups with many alerts stay well under this.
MAX_BODY_BYTES = 1024 * 1024


def check_content_type(content_type: str | None) -> None:
    """Raise IngestError(415) unless the media type is JSON.

    Accepts ``application/json`` and ``application/<anything>+json`` (RFC 6839), with any
    parameters (``; charset=utf-8``); media types are case-insensitive.
    """
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type == "application/json":
        return
    kind, _, subtype = media_type.partition("/")
    if kind == "application" and subtype.endswith("+json") and len(subtype) > len("+json"):
        return
    shown = repr(media_type[:100]) if media_type else "none"
    raise IngestError(415, f"Content-Type must be application/json (got {shown})")


async def read_limited_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The request body, or IngestError(413) as soon as it would exceed ``limit`` bytes.

    Reads ``request.stream()`` chunk by chunk, so at most ``limit`` bytes plus one chunk
    are ever held. Consumes the stream: use the returned bytes, not ``request.body()``.
    """
    announced = request.headers.get("content-length")
    # A malformed Content-Length is left to the server (uvicorn rejects it); the byte
    # count below is what actually bounds memory either way.
    announced = (announced or "").strip()
    # isascii: str.isdigit() is also true for "²", which int() then refuses.
    if announced.isascii() and announced.isdigit() and int(announced) > limit:
        raise _too_large(limit)
    body = bytearray()
    try:
        # aclosing: stop the stream generator now when we bail out, not at garbage collection.
        async with aclosing(request.stream()) as chunks:
            async for chunk in chunks:
                if len(body) + len(chunk) > limit:
                    raise _too_large(limit)
                body += chunk
    except ClientDisconnect:
        # Nobody reads the answer; this keeps it a 4xx rather than a 500 with a traceback.
        raise IngestError(400, "the client disconnected before the body was complete") from None
    return bytes(body)


def with_body(request: Request, body: bytes) -> Request:
    """A copy of ``request`` whose body is ``body`` (already read with a limit), for code
    that reads the body itself, such as Bolt's request handler."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return await request.receive()  # waits for the client's disconnect, as usual
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(request.scope, receive)


def _too_large(limit: int) -> IngestError:
    return IngestError(413, f"body is larger than the limit of {limit} bytes")
