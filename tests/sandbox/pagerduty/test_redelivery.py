"""The emulator keeps delivering Webhooks v3 as PagerDuty does — rules from
shared/reference/pagerduty/NOTES.md (copy: tests/fixtures/pagerduty/NOTES.md), section
"Webhooks v3 (outbound from PagerDuty to the bot)", point "Delivery": a 2xx is received;
timeouts, 5xx, 429 and connection failures are retried for up to 48 h, in order per
subscription and resource, with the same ``X-Webhook-Id``; other 4xx are dropped; three
drops in a row disable the subscription for 24 h. Retry intervals are not in the notes
(an assumption of redelivery.py); time is the shared ManualClock, never slept through."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx

from bot.domain.clock import ManualClock
from bot.sandbox.pagerduty import PagerDutyEmulator
from bot.sandbox.pagerduty.redelivery import retry_wait
from tests.sandbox.pagerduty.conftest import Receiver
from tests.sandbox.pagerduty.test_events import trigger
from tests.support import free_socket

SECRET = "whsec-test-secret"


def open_pages(http: httpx.Client, emu: PagerDutyEmulator, n: int = 1) -> list[str]:
    for i in range(n):
        assert http.post("/v2/enqueue", json=trigger(f"oor-INC-{i + 1}")).status_code == 202
    return [p.id for p in emu.pages]


def ids(receiver: Receiver) -> list[str]:
    return [r.headers["X-Webhook-Id"] for r in receiver.received]


def test_a_5xx_is_retried_with_the_same_webhook_id_until_received(
    http: httpx.Client, emu: PagerDutyEmulator, receiver: Receiver, clock: ManualClock
) -> None:
    emu.add_webhook_subscription(receiver.url, secret=SECRET)
    [page] = open_pages(http, emu)
    receiver.status = 503
    [first] = emu.acknowledge_from_phone(page, "alice@example.com")
    assert first.status == 503 and not first.delivered
    assert emu.deliver_due() == []  # not before its time
    clock.advance(seconds=retry_wait(1).total_seconds())
    [second] = emu.deliver_due()
    assert (second.webhook_id, second.attempt, second.body) == (
        first.webhook_id,
        2,
        first.body,
    )
    receiver.status = 200
    clock.advance(seconds=retry_wait(2).total_seconds())
    [third] = emu.deliver_due()
    assert third.delivered and third.webhook_id == first.webhook_id
    assert ids(receiver) == [first.webhook_id] * 3
    assert emu.waiting() == [] and emu.deliver_due() == []


def test_a_429_and_a_refused_connection_are_retried(
    http: httpx.Client, emu: PagerDutyEmulator, receiver: Receiver, clock: ManualClock
) -> None:
    closed = free_socket()
    nowhere = f"http://127.0.0.1:{closed.getsockname()[1]}/webhooks/pagerduty"
    closed.close()
    emu.add_webhook_subscription(nowhere, secret=SECRET)
    emu.add_webhook_subscription(receiver.url, secret=SECRET)
    [page] = open_pages(http, emu)
    receiver.status = 429
    refused, throttled = emu.acknowledge_from_phone(page, "alice@example.com")
    assert refused.status is None and refused.error and throttled.status == 429
    assert len(emu.waiting()) == 2
    clock.advance(seconds=retry_wait(1).total_seconds())
    assert len(emu.deliver_due()) == 2


def test_later_webhooks_of_an_incident_wait_behind_one_being_retried(
    http: httpx.Client, emu: PagerDutyEmulator, receiver: Receiver, clock: ManualClock
) -> None:
    emu.add_webhook_subscription(receiver.url, secret=SECRET)
    first_page, other_page = open_pages(http, emu, 2)
    receiver.status = 500
    [ack] = emu.acknowledge_from_phone(first_page, "alice@example.com")
    assert emu.resolve_from_phone(first_page, "alice@example.com") == []  # waits its turn
    receiver.status = 200
    [elsewhere] = emu.acknowledge_from_phone(other_page, "bob@example.com")  # not held up
    assert elsewhere.delivered
    clock.advance(seconds=retry_wait(1).total_seconds())
    sent = emu.deliver_due()
    assert [(d.event_type, d.delivered) for d in sent] == [
        ("incident.acknowledged", True),
        ("incident.resolved", True),
    ]
    assert sent[0].webhook_id == ack.webhook_id
    events = [json.loads(r.body)["event"]["event_type"] for r in receiver.received]
    assert events[-2:] == ["incident.acknowledged", "incident.resolved"]


def test_another_4xx_is_dropped_not_retried(
    http: httpx.Client, emu: PagerDutyEmulator, receiver: Receiver, clock: ManualClock
) -> None:
    emu.add_webhook_subscription(receiver.url, secret=SECRET)
    [page] = open_pages(http, emu)
    receiver.status = 401  # e.g. the bot's secret is not this subscription's
    [dropped] = emu.acknowledge_from_phone(page, "alice@example.com")
    assert dropped.status == 401
    clock.advance(hours=1)
    assert emu.deliver_due() == [] and emu.waiting() == []
    assert len(receiver.received) == 1


def test_three_drops_in_a_row_disable_the_subscription_for_24_hours(
    http: httpx.Client, emu: PagerDutyEmulator, receiver: Receiver, clock: ManualClock
) -> None:
    sub = emu.add_webhook_subscription(receiver.url, secret=SECRET)
    pages = open_pages(http, emu, 5)
    receiver.status = 404
    emu.acknowledge_from_phone(pages[0], "alice@example.com")
    emu.acknowledge_from_phone(pages[1], "alice@example.com")
    receiver.status = 200  # a success in between starts the count again
    emu.acknowledge_from_phone(pages[2], "alice@example.com")
    assert emu.subscriptions[sub.id].active
    receiver.status = 404
    for page in pages[:3]:
        emu.resolve_from_phone(page, "alice@example.com")
    state = emu.subscriptions[sub.id]
    assert not state.active and state.disabled_until == clock.now() + timedelta(hours=24)
    received = len(receiver.received)
    receiver.status = 200
    assert emu.acknowledge_from_phone(pages[3], "alice@example.com") == []  # not sent
    clock.advance(hours=23, minutes=59)
    emu.deliver_due()
    assert not emu.subscriptions[sub.id].active and len(receiver.received) == received
    clock.advance(minutes=1)
    emu.deliver_due()
    assert emu.subscriptions[sub.id].active
    [sent] = emu.acknowledge_from_phone(pages[4], "alice@example.com")
    assert sent.delivered and len(receiver.received) == received + 1


def test_retries_stop_after_48_hours_and_count_as_a_drop(
    http: httpx.Client, emu: PagerDutyEmulator, receiver: Receiver, clock: ManualClock
) -> None:
    sub = emu.add_webhook_subscription(receiver.url, secret=SECRET)
    [page] = open_pages(http, emu)
    receiver.status = 503
    emu.acknowledge_from_phone(page, "alice@example.com")
    attempts = 1
    for _ in range(60):  # hourly at most: about 48 attempts over two days
        clock.advance(hours=1)
        attempts += len(emu.deliver_due())
        if not emu.waiting():
            break
    assert emu.waiting() == []
    assert 40 < attempts < 60 and len(receiver.received) == attempts
    assert emu.subscriptions[sub.id].consecutive_drops == 1
    clock.advance(hours=1)
    assert emu.deliver_due() == []


def test_due_retries_are_sent_over_http_too(
    http: httpx.Client, emu: PagerDutyEmulator, receiver: Receiver, clock: ManualClock
) -> None:
    """``POST /_emulator/webhooks/deliver_due``: what the sandbox and other processes use."""
    emu.add_webhook_subscription(receiver.url, secret=SECRET)
    [page] = open_pages(http, emu)
    receiver.status = 502
    emu.acknowledge_from_phone(page, "alice@example.com")
    state = http.get("/_emulator/state").json()
    [waiting] = state["waiting_webhooks"]
    assert waiting["attempts"] == 1 and waiting["event_type"] == "incident.acknowledged"
    receiver.status = 200
    clock.advance(seconds=retry_wait(1).total_seconds())
    answer = http.post("/_emulator/webhooks/deliver_due").json()
    assert [d["delivered"] for d in answer["deliveries"]] == [True]
