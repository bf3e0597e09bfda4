"""Signed Webhooks v3 from the emulator to a real HTTP endpoint, checked with the bot's own
verifier (NOTES.md "Webhooks v3": one event per delivery, the envelope's fields,
`X-PagerDuty-Signature`, `X-Webhook-Id` repeated on retries)."""

from __future__ import annotations

import json
from datetime import datetime

import httpx

from bot.domain.clock import ManualClock
from bot.pagerduty.signature import SIGNATURE_HEADER, verify
from bot.sandbox.pagerduty import PagerDutyEmulator
from tests.sandbox.pagerduty.conftest import Receiver
from tests.sandbox.pagerduty.test_events import trigger

SECRET = "whsec-test-secret"


def open_page(http: httpx.Client, emu: PagerDutyEmulator) -> str:
    assert http.post("/v2/enqueue", json=trigger()).status_code == 202
    return emu.pages[0].id


def test_send_webhook_is_signed_and_shaped_as_v3(
    http: httpx.Client, emu: PagerDutyEmulator, receiver: Receiver, clock: ManualClock
) -> None:
    """Envelope `{"event": {id, event_type, resource_type, occurred_at, agent, client,
    data}}`; `data` is the incident with `incident_key` = the dedup key."""
    page_id = open_page(http, emu)
    delivery = emu.send_webhook(
        receiver.url, "incident.acknowledged", page_id, "bob@example.com", secret=SECRET
    )
    assert delivery.delivered and delivery.status == 200
    [got] = receiver.received
    assert verify(got.body, got.headers[SIGNATURE_HEADER], SECRET)
    assert not verify(got.body, got.headers[SIGNATURE_HEADER], "another secret")
    assert got.headers["X-Webhook-Id"] == delivery.webhook_id
    assert got.headers["Content-Type"] == "application/json"
    event = json.loads(got.body)["event"]
    assert set(event) == {
        "id",
        "event_type",
        "resource_type",
        "occurred_at",
        "agent",
        "client",
        "data",
    }
    assert (event["event_type"], event["resource_type"]) == ("incident.acknowledged", "incident")
    assert datetime.fromisoformat(event["occurred_at"]) == clock.now()
    assert event["agent"]["id"] == "PBOB001" and event["agent"]["type"] == "user_reference"
    data = event["data"]
    assert (data["id"], data["type"], data["incident_key"], data["status"]) == (
        page_id,
        "incident",
        "oor-INC-1",
        "triggered",
    )
    assert data["service"]["id"] == "PSVC001"
    assert [a["id"] for a in data["assignees"]] == ["PALICE1"]


def test_acknowledge_from_the_phone(
    http: httpx.Client, emu: PagerDutyEmulator, receiver: Receiver
) -> None:
    """The page is acknowledged and each subscriber gets one signed incident.acknowledged."""
    sub = emu.add_webhook_subscription(receiver.url, secret=SECRET)
    emu.add_webhook_subscription(receiver.url, secret="x" * 20, events=["incident.resolved"])
    page_id = open_page(http, emu)
    [delivery] = emu.acknowledge_from_phone(page_id, "alice@example.com")
    page = emu.page(page_id)
    assert (page.status, page.acknowledged_by) == ("acknowledged", "PALICE1")
    [got] = receiver.received
    assert got.headers["X-Webhook-Subscription"] == sub.id
    assert verify(got.body, got.headers[SIGNATURE_HEADER], SECRET)
    event = json.loads(got.body)["event"]
    assert event["event_type"] == "incident.acknowledged"
    assert event["data"]["status"] == "acknowledged"
    assert event["agent"]["id"] == "PALICE1"
    assert delivery.delivered
    # Acknowledged already: nothing changes, nothing is sent.
    assert emu.acknowledge_from_phone(page_id, "PBOB001") == []
    # The Events API's acknowledge then finds it acknowledged.
    http.post(
        "/v2/enqueue",
        json={
            "routing_key": page.routing_key,
            "event_action": "acknowledge",
            "dedup_key": "oor-INC-1",
        },
    )
    assert emu.page(page_id).events[-1]["outcome"] == "already_acknowledged"
    # The resolve goes to both subscriptions.
    assert len(emu.resolve_from_phone(page_id, "PALICE1")) == 2


def test_acknowledge_from_the_phone_over_http(
    http: httpx.Client, emu: PagerDutyEmulator, receiver: Receiver
) -> None:
    """The sandbox's button: POST /_emulator/pages/{id}/acknowledge."""
    created = http.post(
        "/_emulator/webhook_subscriptions", json={"url": receiver.url, "secret": SECRET}
    ).json()
    assert created["webhook_subscription"]["secrets"] == [SECRET]
    page_id = open_page(http, emu)
    answer = http.post(f"/_emulator/pages/{page_id}/acknowledge", json={"user": "PBOB001"})
    assert answer.status_code == 200
    assert answer.json()["page"]["status"] == "acknowledged"
    assert answer.json()["deliveries"][0]["status"] == 200
    assert len(receiver.received) == 1
    assert http.get("/_emulator/pages").json()[0]["acknowledged_by"] == "PBOB001"
    assert http.get("/_emulator/state").json()["deliveries"][0]["delivered"] is True
    missing = http.post("/_emulator/pages/QNOPE/acknowledge", json={"user": "PBOB001"})
    assert missing.status_code == 400


def test_secret_rotation_sends_two_signatures(
    http: httpx.Client, emu: PagerDutyEmulator, receiver: Receiver
) -> None:
    """Several comma-separated v1 values during rotation; either secret verifies."""
    sub = emu.add_webhook_subscription(receiver.url, secret=SECRET)
    new = emu.rotate_secret(sub.id, "whsec-new")
    page_id = open_page(http, emu)
    emu.notify("incident.escalated", page_id)
    got = receiver.received[-1]
    header = got.headers[SIGNATURE_HEADER]
    assert header.count("v1=") == 2
    assert verify(got.body, header, SECRET) and verify(got.body, header, new)
    emu.finish_rotation(sub.id)
    emu.notify("incident.escalated", page_id)
    header = receiver.received[-1].headers[SIGNATURE_HEADER]
    assert header.count("v1=") == 1
    assert not verify(receiver.received[-1].body, header, SECRET)


def test_failed_delivery_is_recorded_and_redelivered_with_the_same_id(
    http: httpx.Client, emu: PagerDutyEmulator, receiver: Receiver
) -> None:
    """Retries repeat `X-Webhook-Id` and the body (the receiver deduplicates by it)."""
    emu.add_webhook_subscription(receiver.url, secret=SECRET)
    page_id = open_page(http, emu)
    receiver.status = 503
    [failed] = emu.notify("incident.resolved", page_id)
    assert (failed.status, failed.delivered) == (503, False)
    receiver.status = 200
    retried = emu.redeliver(failed.webhook_id)
    assert (retried.webhook_id, retried.attempt, retried.delivered) == (failed.webhook_id, 2, True)
    first, second = receiver.received
    assert first.body == second.body
    assert first.headers["X-Webhook-Id"] == second.headers["X-Webhook-Id"]
    assert verify(second.body, second.headers[SIGNATURE_HEADER], SECRET)


def test_unreachable_endpoint_is_recorded(http: httpx.Client, emu: PagerDutyEmulator) -> None:
    page_id = open_page(http, emu)
    delivery = emu.send_webhook(
        "http://127.0.0.1:9/webhooks/pagerduty", "incident.triggered", page_id, secret=SECRET
    )
    assert delivery.status is None and delivery.error and not delivery.delivered
    assert emu.deliveries[-1].error == delivery.error


def test_unknown_event_types_can_be_sent(
    http: httpx.Client, emu: PagerDutyEmulator, receiver: Receiver
) -> None:
    """So the bot can be tested on event types it must accept and ignore."""
    emu.send_webhook(
        receiver.url, "service.updated", {"id": "PSVC001", "type": "service"}, secret=SECRET
    )
    event = json.loads(receiver.received[0].body)["event"]
    assert (event["resource_type"], event["agent"]) == ("service", None)
