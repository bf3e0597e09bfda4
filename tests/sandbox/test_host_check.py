"""The sandbox's Host check, as a unit: which Host headers name this machine."""

from __future__ import annotations

import pytest

from bot.sandbox.host_check import HostCheckMiddleware, parse_host


async def _app(scope: object, receive: object, send: object) -> None:  # never reached
    raise AssertionError("not called")


@pytest.mark.parametrize(
    ("header", "parsed"),
    [
        ("localhost:3000", ("localhost", 3000)),
        ("LocalHost:3000", ("localhost", 3000)),
        ("127.0.0.1", ("127.0.0.1", None)),
        ("[::1]:3000", ("::1", 3000)),
        ("[::1]", ("::1", None)),
        ("[::1", None),
        ("[::1]x", None),
        ("localhost:", None),
        ("localhost:３０００", None),  # full-width digits
        ("localhost:123456", None),
        (":3000", None),
        ("", None),
    ],
)
def test_parse_host(header: str, parsed: tuple[str, int | None] | None) -> None:
    assert parse_host(header) == parsed


def test_allows_loopback_names_and_oor_host_on_the_served_port_only() -> None:
    check = HostCheckMiddleware(_app, port=3000, hosts=["bot.internal", "0.0.0.0"])
    for ok in ("127.0.0.1:3000", "localhost:3000", "[::1]:3000", "bot.internal:3000"):
        assert check.allows(ok), ok
    for refused in (
        "0.0.0.0:3000",  # "listen everywhere" is not a name a browser should use
        "evil.example:3000",
        "localhost:3001",
        "localhost",  # port 80 implied
        "localhost.:3000",
        None,
    ):
        assert not check.allows(refused), refused
    assert HostCheckMiddleware(_app, port=80).allows("localhost")
