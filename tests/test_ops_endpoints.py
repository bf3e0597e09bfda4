"""Health, readiness and metrics."""

from __future__ import annotations

import asyncio
import socket

import httpx

from bot.app import create_app
from bot.domain.plan import Plan
from bot.http import route_label
from bot.sandbox.emulator import EmulatorServer
from tests.conftest import RunningBot, make_settings
from tests.support import ServerThread, native_event, post_native, wait_for


def test_livez_readyz_and_metrics(bot: RunningBot) -> None:
    assert httpx.get(f"{bot.url}/livez").json() == {"status": "ok"}
    assert httpx.get(f"{bot.url}/readyz").status_code == 200
    post_native(bot.url, native_event())
    post_native(bot.url, {"id": "bad"})
    metrics = httpx.get(f"{bot.url}/metrics").text
    assert 'oor_webhook_events_total{outcome="opened",source="native"} 1.0' in metrics
    assert 'oor_webhook_events_total{outcome="http_422",source="native"} 1.0' in metrics
    assert "oor_http_request_duration_seconds_bucket" in metrics
    assert "oor_outbox_pending_jobs" in metrics
    assert "oor_slack_api_calls_total" in metrics or "oor_slack_api_calls" in metrics


def test_route_labels_are_bounded() -> None:
    # One series per route, not per incident id or status document; unknown paths share one.
    assert route_label("/status") == "/status"
    assert route_label("/status/api/v2/summary.json") == "/status/api/v2/*"
    assert route_label("/api/incidents/OOR-17") == "/api/incidents/*"
    assert route_label("/webhooks/pagerduty") == "/webhooks/pagerduty"
    assert route_label("/wp-login.php") == "other"


def test_readyz_is_503_until_the_database_is_migrated(
    sqlite_url: str, emulator_server: EmulatorServer, plan: Plan
) -> None:
    app = create_app(make_settings(sqlite_url, emulator_server.api_url), plan=plan)
    server = ServerThread(app.asgi).start()
    try:
        response = httpx.get(f"{server.url}/readyz")
        assert response.status_code == 503
        assert "not migrated" in response.json()["reason"]
        assert httpx.get(f"{server.url}/livez").status_code == 200
    finally:
        server.stop()


def test_metrics_stay_small_under_made_up_methods(
    sqlite_url: str, emulator_server: EmulatorServer, plan: Plan
) -> None:
    """20,000 requests with invented methods once grew /metrics from 287 KB to 84 MB."""
    app = create_app(make_settings(sqlite_url, emulator_server.api_url), plan=plan)

    async def request(method: str, path: str) -> bytes:
        # Straight into the ASGI app (middleware, routing, the works) without a socket:
        # 20,000 requests in seconds rather than a minute on a busy machine.
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"bot")],
            "client": ("127.0.0.1", 1),
            "server": ("bot", 80),
        }
        body = bytearray()

        async def receive() -> dict[str, object]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, object]) -> None:
            if message["type"] == "http.response.body":
                body.extend(message.get("body", b""))  # type: ignore[arg-type]

        await app.asgi(scope, receive, send)
        return bytes(body)

    async def hammer() -> tuple[int, str]:
        before = len(await request("GET", "/metrics"))
        for i in range(20_000):
            await request(f"M{i}", "/livez" if i % 2 else f"/made-up/{i}")
        return before, (await request("GET", "/metrics")).decode()

    before, text = asyncio.run(hammer())
    assert len(text) < before + 20_000, (before, len(text))  # a few new series, not 20,000
    assert 'method="other"' in text and 'method="M1"' not in text
    assert 'route="/livez"' in text and "made-up" not in text


def test_a_client_that_disconnects_mid_body_is_not_counted_as_500(bot: RunningBot) -> None:
    host, port = bot.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(
            b"POST /webhooks/oor HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n" + b'{"id": "half'
        )

    # The server notices the disconnect, answers no one, and records it as such.
    def recorded() -> str | None:
        text = httpx.get(f"{bot.url}/metrics").text
        return text if 'route="/webhooks/oor",status="disconnected"' in text else None

    text = wait_for(recorded, what="the disconnect recorded")
    assert 'route="/webhooks/oor",status="500"' not in text
