"""Test helpers: a real server on a free port, signed requests, polling."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx
import uvicorn
from slack_sdk.signature import SignatureVerifier
from standardwebhooks import Webhook

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
EXAMPLE_PLAN = ROOT / "plan.example.yaml"
WEBHOOK_SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
WEBHOOK_TOKEN = "test-webhook-token"
SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test"
APP_TOKEN = "xapp-test"  # the emulator's default app-level token

T = TypeVar("T")


def wait_for(check: Callable[[], T], timeout: float = 10.0, what: str = "condition") -> T:
    """Poll ``check`` until it returns something truthy (background work finishing)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class ServerThread:
    """Serve an ASGI app with uvicorn in a background thread on a pre-bound socket."""

    def __init__(self, asgi: Any, sock: socket.socket | None = None) -> None:
        self._sock = sock or free_socket()
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(asgi, log_level="warning", access_log=False, lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.run(self._server.serve(sockets=[self._sock]))

    def start(self) -> ServerThread:
        self._thread.start()
        wait_for(lambda: self._server.started, what="server start")
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)
        self._sock.close()


def signed_webhook_headers(body: bytes, secret: str = WEBHOOK_SECRET) -> dict[str, str]:
    msg_id = f"msg_{uuid.uuid4().hex}"
    now = datetime.now(UTC)
    signature = Webhook(secret).sign(msg_id, now, body.decode())
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }


def native_event(**overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "id": f"evt-{uuid.uuid4().hex[:12]}",
        "type": "payment_failure",
        "title": "Alipay channel blocked",
        "severity": "sev2",
        "description": "Payments on the Alipay channel fail with CHANNEL_BLOCKED",
        "occurred_at": "2026-11-25T12:30:00+08:00",
        "source": "payment-monitor",
        "url": "https://grafana.example.com/d/payments",
        "details": {
            "payment_method": "alipay",
            "merchant_id": "M-10086",
            "amount": "1234.50",
            "currency": "CNY",
            "affected_transactions": 57,
            "error_code": "CHANNEL_BLOCKED",
        },
    }
    event.update(overrides)
    return event


def post_native(base_url: str, event: dict[str, Any], **kwargs: Any) -> httpx.Response:
    body = json.dumps(event).encode()
    return httpx.post(
        f"{base_url}/webhooks/oor", content=body, headers=signed_webhook_headers(body), **kwargs
    )


def post_alertmanager(base_url: str, body: bytes, token: str = WEBHOOK_TOKEN) -> httpx.Response:
    return httpx.post(
        f"{base_url}/webhooks/alertmanager",
        content=body,
        headers={
            "content-type": "application/json",
            "authorization": f"Bearer {token}",
            "user-agent": "Alertmanager/0.25.0",
        },
    )


def slack_signed_headers(body: str, secret: str = SIGNING_SECRET) -> dict[str, str]:
    timestamp = str(int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    return {
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": timestamp,
        "x-slack-signature": signature,
    }


def slash_command_body(text: str, *, user_id: str, channel_id: str, response_url: str) -> str:
    return urlencode(
        {
            "token": "deprecated-verification-token",
            "team_id": "T0OOR",
            "team_domain": "oor",
            "channel_id": channel_id,
            "channel_name": "general",
            "user_id": user_id,
            "user_name": user_id.lower(),
            "command": "/oor",
            "text": text,
            "api_app_id": "A0OOR",
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": f"{uuid.uuid4().int % 10**12}.{uuid.uuid4().int % 10**12}.abc",
        }
    )
