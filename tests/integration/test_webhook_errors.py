"""Every bad-input class gets its status and a message naming the field; nothing is stored.

Alertmanager bodies are the exception where cleaning beats refusing (it retries a 5xx
forever and drops a 4xx): over-long keys and URLs, NUL and unusable start times are
stored cleaned. Each case runs on SQLite and PostgreSQL (the ``bot`` fixture), which
once answered differently (503 on PostgreSQL, stored on SQLite).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlmodel import select
from standardwebhooks import Webhook

from bot.sandbox.emulator import Emulator
from bot.storage.models import EventRow, IncidentRow
from tests.conftest import RunningBot
from tests.slack.views import assert_within_slack_limits
from tests.support import (
    FIXTURES,
    WEBHOOK_SECRET,
    native_event,
    post_alertmanager,
    signed_webhook_headers,
    wait_for,
)


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


def _native_raw(old: str, new: str, **overrides: object) -> bytes:
    """A native event's JSON text with ``old`` replaced (for what json.dumps cannot write)."""
    text = json.dumps(native_event(**overrides))
    assert old in text
    return text.replace(old, new, 1).encode()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_native_raw('"Alipay channel', '"Alipay\\u0000 channel'), "title"),
        (_native_raw('"M-10086"', '"M-\\u0000"'), "details.merchant_id"),
        (
            _native_raw('"k": "v"', '"k": "\\ud800"', details={"extras": {"k": "v"}}),
            "details.extras.k",
        ),
        (_native_raw('"k": 1', '"k": 1e400', details={"extras": {"k": 1}}), "details.extras.k"),
        (_native_raw('"k": 1', '"k": NaN', details={"extras": {"k": 1}}), "details.extras.k"),
        (_native_raw('"2026-11-25T12:30:00+08:00"', '"9999-12-31T23:59:59Z"'), "occurred_at"),
        (_native_raw('"2026-11-25T12:30:00+08:00"', '"0001-01-01T00:00:00+14:00"'), "occurred_at"),
        (json.dumps(native_event(title="\u202e\u200b\u200d\u2066")).encode(), "title"),
    ],
)
def test_unstorable_or_unreadable_values_are_422_on_both_databases(
    bot: RunningBot, body: bytes, field: str
) -> None:
    response = _post(bot, body)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert _stored(bot) == (0, 0)


def _alertmanager(**changes: object) -> dict:
    body = json.loads((FIXTURES / "alertmanager" / "01-firing-two-alerts.json").read_text())
    for key, value in changes.items():
        if key.startswith("alert_"):
            body["alerts"][0][key.removeprefix("alert_")] = value
        else:
            body[key] = value
    return body


LONG_URL = "http://prometheus.example:9090/graph?g0.expr=" + "sum%28rate%28x%5B5m%5D%29%29" * 82


def test_long_alertmanager_fields_are_stored_whole_or_as_stable_keys(
    bot: RunningBot, emulator: Emulator
) -> None:
    body = _alertmanager(
        alert_generatorURL=LONG_URL,
        alert_fingerprint="f" * 450,
        externalURL="http://alertmanager.example:9093/" + "x" * 2500,
        groupKey="{}:{" + 'alertname="PaymentChannelErrorRate", ' * 12 + 'x="y"}',  # 459
    )
    assert len(LONG_URL) > 2300 and len(body["groupKey"]) > 450
    raw = json.dumps(body).encode()
    first = post_alertmanager(bot.url, raw)
    assert first.status_code == 202, first.text
    assert first.json() == {"incident_id": "OOR-1", "status": "opened"}
    # Alertmanager re-sends the group: recognised, not a second incident.
    assert post_alertmanager(bot.url, raw).json() == {"incident_id": "OOR-1", "status": "duplicate"}
    body["alerts"] = body["alerts"][1:]
    body["alerts"][0]["fingerprint"] = "0" * 450
    grouped = post_alertmanager(bot.url, json.dumps(body).encode())
    assert grouped.json() == {"incident_id": "OOR-1", "status": "grouped"}
    with bot.app.db.session() as session:
        (incident,) = session.exec(select(IncidentRow)).all()
        assert incident.url == LONG_URL
        assert incident.group_key is not None and len(incident.group_key) <= 200
        assert len(session.exec(select(EventRow)).all()) == 3
    # The board links it; the channel bookmark, limited to 2,048 characters by Slack
    # (tests/fixtures/slack_methods/methods/bookmarks.add.json), is left out, not refused.
    wait_for(lambda: emulator.calls_to("bookmarks.add"), what="the runbook bookmarked")
    assert all(len(c.args.get("link", "")) <= 2048 for c in emulator.calls_to("bookmarks.add"))
    (pin,) = wait_for(lambda: emulator.calls_to("pins.add"), what="the board pinned")
    board = next(
        m for m in emulator.messages(pin.args["channel"]) if m["ts"] == pin.args["timestamp"]
    )
    assert_within_slack_limits(board["blocks"])
    assert f"<{LONG_URL}|Alert source>" in json.dumps(board["blocks"])  # still one link


def test_nul_in_alertmanager_labels_is_dropped_and_never_reaches_slack(
    bot: RunningBot, emulator: Emulator
) -> None:
    raw = json.dumps(_alertmanager()).replace('"pay-gw-1"', '"pay-gw-1\\u0000"')
    raw = raw.replace('"Alipay error rate 35%', '"Alipay\\u0000 error rate 35%')
    response = post_alertmanager(bot.url, raw.encode())
    assert response.status_code == 202, response.text
    wait_for(lambda: emulator.calls_to("pins.add"), what="the board pinned")
    with bot.app.db.session() as session:
        (incident,) = session.exec(select(IncidentRow)).all()
        assert incident.title == "Alipay error rate 35% over 5m"
        stored = json.dumps([e.payload for e in session.exec(select(EventRow)).all()])
    assert "\\u0000" not in stored and "pay-gw-1" in stored
    assert not [c for c in emulator.calls if "\x00" in json.dumps(c.args, ensure_ascii=False)]


@pytest.mark.parametrize("starts_at", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00+14:00"])
def test_an_unusable_starts_at_opens_the_incident_with_its_board(
    bot: RunningBot, emulator: Emulator, starts_at: str
) -> None:
    body = _alertmanager(alert_startsAt=starts_at)
    body["alerts"] = body["alerts"][:1]
    response = post_alertmanager(bot.url, json.dumps(body).encode())
    assert response.status_code == 202, response.text
    # The board job used to fail with OverflowError and retry forever: no board, ever.
    wait_for(lambda: emulator.calls_to("pins.add"), what="the board pinned")
    with bot.app.db.session() as session:
        (incident,) = session.exec(select(IncidentRow)).all()
    assert incident.occurred_at is None
    assert incident.description is not None and "startsAt" in incident.description
