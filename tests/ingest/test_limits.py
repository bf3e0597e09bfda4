"""Media type and body-size checks, with Starlette requests fed by a fake ASGI receive."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import pytest
from starlette.requests import Request

from bot.ingest.errors import IngestError
from bot.ingest.limits import MAX_BODY_BYTES, check_content_type, read_limited_body, with_body


@pytest.mark.parametrize(
    "value",
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON;charset=UTF-8",
        "  application/json  ",
        "application/cloudevents+json",
        "application/vnd.oor.event+json; version=1",
    ],
)
def test_json_media_types_accepted(value: str) -> None:
    check_content_type(value)


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/+json",
        "text/json",
        "application/jsonp",
        "application/json-seq",
    ],
)
def test_other_media_types_415(value: str | None) -> None:
    with pytest.raises(IngestError) as info:
        check_content_type(value)
    assert info.value.status == 415
    assert info.value.to_json()["error"] == "unsupported_media_type"


def test_max_body_is_one_mib() -> None:
    assert MAX_BODY_BYTES == 1024 * 1024


class FakeReceive:
    """An ASGI receive() handing out ``chunks``, then (if ``endless``) more forever."""

    def __init__(self, chunks: Iterable[bytes], endless: bool = False) -> None:
        self.chunks = list(chunks)
        self.endless = endless
        self.calls = 0

    async def __call__(self) -> dict[str, Any]:
        self.calls += 1
        if self.endless:
            return {"type": "http.request", "body": b"x" * 1000, "more_body": True}
        body = self.chunks.pop(0)
        return {"type": "http.request", "body": body, "more_body": bool(self.chunks)}


def make_request(receive: FakeReceive, headers: dict[str, str] | None = None) -> Request:
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/webhooks/oor",
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
    }
    return Request(scope, receive)


def read(request: Request, limit: int) -> bytes:
    return asyncio.run(read_limited_body(request, limit))


def test_reads_chunked_body() -> None:
    request = make_request(FakeReceive([b"ab", b"", b"cd", b"e"]))
    assert read(request, 5) == b"abcde"  # exactly at the limit is fine


def test_empty_body() -> None:
    assert read(make_request(FakeReceive([b""])), 10) == b""


def test_default_limit() -> None:
    request = make_request(FakeReceive([b"x" * MAX_BODY_BYTES]))
    assert len(asyncio.run(read_limited_body(request))) == MAX_BODY_BYTES


def test_too_large_body_is_413() -> None:
    with pytest.raises(IngestError) as info:
        read(make_request(FakeReceive([b"abc", b"def"])), 5)
    assert info.value.status == 413
    assert info.value.to_json()["error"] == "payload_too_large"


def test_stops_reading_as_soon_as_the_limit_is_passed() -> None:
    # An endless body: the reader must give up after ~limit bytes, not read forever.
    receive = FakeReceive([], endless=True)
    with pytest.raises(IngestError) as info:
        read(make_request(receive), 10_000)
    assert info.value.status == 413
    assert receive.calls == 11


def test_announced_length_over_limit_is_413_without_reading() -> None:
    receive = FakeReceive([b"{}"])
    request = make_request(receive, {"Content-Length": str(MAX_BODY_BYTES + 1)})
    with pytest.raises(IngestError) as info:
        read(request, MAX_BODY_BYTES)
    assert info.value.status == 413
    assert receive.calls == 0


def test_lying_content_length_is_still_capped() -> None:
    request = make_request(FakeReceive([b"x" * 20]), {"Content-Length": "2"})
    with pytest.raises(IngestError):
        read(request, 10)


@pytest.mark.parametrize("value", ["abc", "²", "-1", ""])
def test_malformed_content_length_is_left_to_the_byte_count(value: str) -> None:
    request = make_request(FakeReceive([b"{}"]), {"Content-Length": value})
    assert read(request, 10) == b"{}"


def test_a_client_that_disconnects_mid_body_is_a_4xx_not_a_crash() -> None:
    async def receive() -> dict[str, Any]:
        receive.calls += 1  # type: ignore[attr-defined]
        if receive.calls == 1:  # type: ignore[attr-defined]
            return {"type": "http.request", "body": b'{"id": "ha', "more_body": True}
        return {"type": "http.disconnect"}

    receive.calls = 0  # type: ignore[attr-defined]
    with pytest.raises(IngestError) as info:
        read(Request({"type": "http", "method": "POST", "headers": []}, receive), 100)
    assert info.value.status == 400 and "disconnected" in info.value.message


def test_with_body_hands_the_read_body_to_code_that_reads_it_again() -> None:
    request = make_request(FakeReceive([b"a=", b"1"]))
    body = read(request, 10)
    again = with_body(request, body)
    assert asyncio.run(again.body()) == b"a=1"
    assert again.headers == request.headers
