"""The generic signed pager webhook over real HTTP: the same events as PagerDuty, signed per
Standard Webhooks (https://www.standardwebhooks.com/, spec: "webhook-id",
"webhook-timestamp", "webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body>"),
the id stable per event, answers as outbox outcomes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook

from bot.domain.clock import ManualClock
from bot.domain.types import Severity
from bot.outbox.outcomes import Permanent, RetryAfter, Transient
from bot.paging.port import Page
from bot.paging.signed_webhook import SignedWebhookPager
from tests.paging.conftest import Receiver

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
PAGE = Page(
    incident_key="OOR-42",
    route="system_crash",
    summary="OOR-42 [SEV1] System crash: payments API down",
    severity=Severity.SEV1,
    source="prometheus",
    link="https://slack.example/archives/C0INC42",
    custom_details={"oor_type": "system_crash"},
)


def signed_by_secret(headers: dict[str, str], body: bytes) -> bool:
    """What a receiver's library checks, less the 5-minute tolerance (the test's clock is
    not the wall clock the library reads)."""
    at = datetime.fromtimestamp(int(headers["webhook-timestamp"]), UTC)
    expected = Webhook(SECRET).sign(headers["webhook-id"], at, body)
    return bool(headers["webhook-signature"] == expected)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def pager(receiver: Receiver, clock: ManualClock) -> Iterator[SignedWebhookPager]:
    pager = SignedWebhookPager(receiver.url, SECRET, clock=clock, timeout=2.0)
    yield pager
    pager.close()


def test_the_signature_is_the_spec_s_known_answer(clock: ManualClock) -> None:
    """The Standard Webhooks specification's test vector (msg_p5jXN8AQM9LWM0D4loKWxJek,
    timestamp 1614265330, body {"test": 2432232314})."""
    signer = SignedWebhookPager("http://127.0.0.1:9/", SECRET, clock=clock)
    clock.set(datetime.fromtimestamp(1614265330, UTC))
    headers = signer.headers("msg_p5jXN8AQM9LWM0D4loKWxJek", b'{"test": 2432232314}')
    signer.close()
    assert headers["webhook-timestamp"] == "1614265330"
    assert headers["webhook-signature"] == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_a_trigger_is_posted_signed_with_the_page(
    pager: SignedWebhookPager, receiver: Receiver
) -> None:
    pager.trigger(PAGE, event_id="oor-page-17")
    [got] = receiver.received
    assert got.headers["webhook-id"] == "oor-page-17"
    assert got.headers["webhook-timestamp"] == str(int(NOW.timestamp()))
    assert signed_by_secret(got.headers, got.body)
    assert json.loads(got.body) == {
        "version": 1,
        "id": "oor-page-17",
        "type": "trigger",
        "dedup_key": "oor-bot/OOR-42",
        "incident_id": "OOR-42",
        "route": "system_crash",
        "reason": "opened",
        "summary": "OOR-42 [SEV1] System crash: payments API down",
        "severity": "sev1",
        "source": "prometheus",
        "link": "https://slack.example/archives/C0INC42",
        "custom_details": {"oor_type": "system_crash"},
    }


def test_acknowledge_and_resolve_name_the_same_page(
    pager: SignedWebhookPager, receiver: Receiver
) -> None:
    pager.acknowledge(PAGE.ref, event_id="oor-page-18")
    pager.resolve(PAGE.ref, event_id="oor-page-19")
    bodies = [json.loads(r.body) for r in receiver.received]
    assert [(b["type"], b["dedup_key"], b["id"]) for b in bodies] == [
        ("acknowledge", "oor-bot/OOR-42", "oor-page-18"),
        ("resolve", "oor-bot/OOR-42", "oor-page-19"),
    ]


def test_a_retry_carries_the_same_id_and_body(
    pager: SignedWebhookPager, receiver: Receiver, clock: ManualClock
) -> None:
    """5xx is retried by the outbox (Transient); the retry is recognisable by its id."""
    receiver.statuses = [503]
    with pytest.raises(Transient, match="HTTP 503"):
        pager.trigger(PAGE, event_id="oor-page-17")
    clock.advance(seconds=30)
    pager.trigger(PAGE, event_id="oor-page-17")
    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == "oor-page-17"
    assert first.body == second.body
    assert int(second.headers["webhook-timestamp"]) == int(first.headers["webhook-timestamp"]) + 30
    assert signed_by_secret(second.headers, second.body)


def test_429_waits_for_retry_after(pager: SignedWebhookPager, receiver: Receiver) -> None:
    receiver.statuses, receiver.headers = [429], {"Retry-After": "20"}
    with pytest.raises(RetryAfter) as caught:
        pager.trigger(PAGE, event_id="oor-page-17")
    assert caught.value.retry_after == 20


def test_another_4xx_is_permanent(pager: SignedWebhookPager, receiver: Receiver) -> None:
    receiver.statuses = [400]
    with pytest.raises(Permanent, match="HTTP 400"):
        pager.trigger(PAGE, event_id="oor-page-17")


def test_nobody_listening_is_transient(clock: ManualClock) -> None:
    pager = SignedWebhookPager("http://127.0.0.1:9/", SECRET, clock=clock)
    with pytest.raises(Transient, match="ConnectError"):
        pager.resolve(PAGE.ref, event_id="oor-page-1")
    pager.close()


def test_it_cannot_say_who_is_on_call(pager: SignedWebhookPager) -> None:
    from bot.domain.plan_paging import parse_on_call

    assert pager.on_call([]) == []
    with pytest.raises(Permanent, match="PagerDuty"):
        pager.on_call([parse_on_call("pagerduty:schedule/PSCHED1")])
