"""Every bad-input class gets its status and a message naming the field; nothing is stored."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlmodel import select
from standardwebhooks import Webhook

from bot.storage.models import EventRow, IncidentRow
from tests.conftest import RunningBot
from tests.support import WEBHOOK_SECRET, native_event, signed_webhook_headers


def _stored(bot: RunningBot) -> tuple[int, int]:
    with bot.app.db.session() as session:
        return (
            len(session.exec(select(EventRow)).all()),
            len(session.exec(select(IncidentRow)).all()),
        )


def _post(bot: RunningBot, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(
        f"{bot.url}/webhooks/oor",
        content=body,
        headers=headers if headers is not None else signed_webhook_headers(body),
    )


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda e: e.update(type="payment_explosion"), "type"),
        (lambda e: e["details"].update(amount=12.5), "details.amount"),
        (lambda e: e["details"].update(amount="12,5"), "details.amount"),
        (lambda e: e["details"].update(currency="rmb"), "details.currency"),
        (lambda e: e.update(occurred_at="2026-11-25T12:30:00"), "occurred_at"),
        (lambda e: e.update(titel="typo"), "titel"),
        (lambda e: e.pop("id"), "id"),
    ],
)
def test_schema_violations_are_422_naming_the_field(bot: RunningBot, mutate, field: str) -> None:
    event = native_event()
    mutate(event)
    response = _post(bot, json.dumps(event).encode())
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert response.json()["message"]
    assert _stored(bot) == (0, 0)


def test_unparsable_json_is_400(bot: RunningBot) -> None:
    response = _post(bot, b'{"id": "x", ')
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_json"


def test_non_json_content_type_is_415(bot: RunningBot) -> None:
    body = json.dumps(native_event()).encode()
    headers = signed_webhook_headers(body) | {"content-type": "text/plain"}
    assert _post(bot, body, headers).status_code == 415


def test_body_over_one_mebibyte_is_413(bot: RunningBot) -> None:
    event = native_event(description="x" * (1024 * 1024))
    body = json.dumps(event).encode()
    response = _post(bot, body)
    assert response.status_code == 413
    assert _stored(bot) == (0, 0)


def test_unauthenticated_requests_are_401_and_store_nothing(bot: RunningBot) -> None:
    body = json.dumps(native_event()).encode()
    no_auth = _post(bot, body, {"content-type": "application/json"})
    wrong_token = _post(
        bot, body, {"content-type": "application/json", "authorization": "Bearer nope"}
    )
    forged = _post(bot, body, signed_webhook_headers(body, secret="whsec_" + "A" * 32))
    stale_at = datetime.now(UTC) - timedelta(minutes=6)
    stale_headers = {
        "content-type": "application/json",
        "webhook-id": "msg_stale",
        "webhook-timestamp": str(int(stale_at.timestamp())),
        "webhook-signature": Webhook(WEBHOOK_SECRET).sign("msg_stale", stale_at, body.decode()),
    }
    stale = _post(bot, body, stale_headers)
    tampered = _post(bot, body.replace(b"Alipay", b"Wechat"), signed_webhook_headers(body))
    for response in (no_auth, wrong_token, forged, stale, tampered):
        assert response.status_code == 401, response.text
        assert WEBHOOK_SECRET not in response.text
    assert _stored(bot) == (0, 0)


def test_alertmanager_bad_version_is_422(bot: RunningBot) -> None:
    body = json.dumps({"version": "3", "groupKey": "x", "alerts": []}).encode()
    response = httpx.post(
        f"{bot.url}/webhooks/alertmanager",
        content=body,
        headers={"content-type": "application/json", "authorization": "Bearer test-webhook-token"},
    )
    assert response.status_code == 422
    assert response.json()["field"] == "version"


def test_schema_is_served(bot: RunningBot) -> None:
    schema = httpx.get(f"{bot.url}/webhooks/oor/schema").json()
    assert {"id", "type", "title", "details"} <= set(schema["properties"])
