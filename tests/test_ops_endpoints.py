"""Health, readiness and metrics."""

from __future__ import annotations

import httpx

from bot.app import create_app
from bot.domain.plan import Plan
from bot.sandbox.emulator import EmulatorServer
from tests.conftest import RunningBot, make_settings
from tests.support import ServerThread, native_event, post_native


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
