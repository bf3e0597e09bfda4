"""Without a Slack token the bot serves its own emulated workspace and works end to end."""

from __future__ import annotations

import httpx

from bot.app import SANDBOX_WEBHOOK_TOKEN, create_app
from bot.config import Settings
from bot.domain.plan import Plan
from bot.sandbox.emulator.server import EmulatorServer
from bot.storage.migrate import upgrade_url
from tests.support import ServerThread, free_socket, wait_for


def test_sandbox_mode_opens_incidents_in_the_built_in_workspace(
    sqlite_url: str, plan: Plan
) -> None:
    sock = free_socket()
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=sqlite_url, port=sock.getsockname()[1]
    )
    assert settings.sandbox
    upgrade_url(sqlite_url)
    app = create_app(settings, plan=plan)
    assert app.emulator is not None
    server = ServerThread(app.asgi, sock).start()
    try:
        response = httpx.post(
            f"{server.url}/webhooks/oor",
            json={"id": "drill-1", "type": "system_crash", "title": "Payment gateway down"},
            headers={"authorization": f"Bearer {SANDBOX_WEBHOOK_TOKEN}"},
        )
        assert response.status_code == 202, response.text

        def board_pinned() -> bool:
            channel = app.emulator.channel_by_name("oor-1-system-crash-payment-gateway-down")
            return bool(channel and app.emulator.pins(channel["id"]))

        wait_for(board_pinned, what="board in the sandbox workspace")
        state = httpx.get(f"{server.url}/sandbox/slack/_emulator/state").json()
        assert any(c["name"].startswith("oor-1-") for c in state["channels"])
    finally:
        server.stop()


SANDBOX_PATHS = [
    ("GET", "/sandbox"),
    ("GET", "/sandbox/"),
    ("GET", "/sandbox/assets/sandbox.js"),
    ("GET", "/sandbox/api/state"),
    ("GET", "/sandbox/files/F1"),
    ("POST", "/sandbox/api/click"),
    ("POST", "/sandbox/api/view_submission"),
    ("POST", "/sandbox/api/view_closed"),
    ("POST", "/sandbox/api/event"),
    ("POST", "/sandbox/api/command"),
    ("POST", "/sandbox/api/drill"),
    ("GET", "/sandbox/slack/_emulator/state"),
    ("POST", "/sandbox/slack/api/auth.test"),
    ("POST", "/sandbox/slack/api/chat.postMessage"),
    ("POST", "/sandbox/api/pagerduty/acknowledge"),
    ("GET", "/sandbox/pagerduty/_emulator/state"),
    ("POST", "/sandbox/pagerduty/v2/enqueue"),
]


def test_with_a_token_nothing_of_the_sandbox_is_served(
    sqlite_url: str, plan: Plan, emulator_server: EmulatorServer
) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=sqlite_url,
        slack_bot_token="xoxb-real",
        slack_signing_secret="s",
        slack_api_url=emulator_server.api_url,
        webhook_token="t",
    )
    assert not settings.sandbox
    app = create_app(settings, plan=plan, start_worker=False)
    assert app.emulator is None and app.pagerduty_emulator is None
    # Every route, not only the ones listed below: none is the sandbox's.
    assert not [r for r in app.asgi.routes if getattr(r, "path", "").startswith("/sandbox")]
    server = ServerThread(app.asgi).start()
    try:
        assert httpx.get(f"{server.url}/livez").status_code == 200  # the bot itself is up
        for method, path in SANDBOX_PATHS:
            response = httpx.request(method, f"{server.url}{path}", json={})
            assert response.status_code == 404, (method, path, response.status_code)
    finally:
        server.stop()


def test_sandbox_mode_answers_only_requests_addressed_to_this_machine(
    sqlite_url: str, plan: Plan
) -> None:
    """A DNS-rebinding page reaches 127.0.0.1 under its own name: its Host gives it away."""
    sock = free_socket()
    port = sock.getsockname()[1]
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=sqlite_url, port=port, host="oor.test"
    )
    upgrade_url(sqlite_url)
    app = create_app(settings, plan=plan, start_worker=False)
    server = ServerThread(app.asgi, sock).start()
    try:

        def get(path: str, host: str) -> httpx.Response:
            return httpx.get(f"{server.url}{path}", headers={"host": host})

        for host in (
            f"127.0.0.1:{port}",
            f"localhost:{port}",
            f"LOCALHOST:{port}",
            f"[::1]:{port}",
            f"oor.test:{port}",
        ):
            assert get("/sandbox", host).status_code == 200, host
        for host in (
            f"evil.example:{port}",
            "evil.example",
            f"127.0.0.1:{port + 1}",
            "localhost",
            f"127.0.0.1.evil.example:{port}",
            f"localhost:{port}x",
            "",
        ):
            for method, path in SANDBOX_PATHS:
                response = httpx.request(
                    method, f"{server.url}{path}", headers={"host": host}, json={}
                )
                assert response.status_code == 421, (host, method, path, response.status_code)
        # The sandbox's webhook token is public (README): a rebinding page must not use it.
        fired = httpx.post(
            f"{server.url}/webhooks/oor",
            json={"id": "rebound", "type": "system_crash", "title": "Fake"},
            headers={
                "host": f"evil.example:{port}",
                "authorization": f"Bearer {SANDBOX_WEBHOOK_TOKEN}",
            },
        )
        assert fired.status_code == 421
        assert "this machine" in fired.text
    finally:
        server.stop()
