"""``POST /webhooks/pagerduty`` over real HTTP, fed by the PagerDuty emulator's signed
Webhooks v3 deliveries, on SQLite and PostgreSQL. Rules from tests/fixtures/pagerduty/NOTES.md
"Webhooks v3": X-PagerDuty-Signature (v1= hex HMAC-SHA256 of the raw body, several during a
rotation), X-Webhook-Id repeated on retries, a 2xx within 5 s, one event per delivery."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import select
from starlette.applications import Starlette

from bot.domain.clock import ManualClock
from bot.metrics import Metrics
from bot.pagerduty.pager import PagerDutyPager
from bot.pagerduty.signature import sign
from bot.pagerduty.webhook_route import (
    PAGERDUTY_EVENT_JOB,
    PagerDutyWebhookDeps,
    pagerduty_webhook_route,
)
from bot.paging.tables import PagerDutyWebhookRow
from bot.sandbox.pagerduty import PagerDutyEmulator
from bot.storage.db import Database
from bot.storage.models import JobRow
from tests.pagerduty.test_events import page
from tests.support import ServerThread

SECRET = "pd-subscription-secret-1"


@dataclass
class Bot:
    url: str
    db: Database
    stored: list[bool]
    metrics: Metrics

    def counted(self, outcome: str) -> float:
        value = self.metrics.registry.get_sample_value(
            "oor_webhook_events_total", {"source": "pagerduty", "outcome": outcome}
        )
        return value or 0.0


def add_incident(db: Database, number: int) -> None:
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO incident (id, type, title, severity, status, source, opened_at,"
                " details, event_count, generation, updated_at) VALUES (:id, 'system_crash',"
                " 'Payments API down', 'sev1', 'open', 'native', :at, '{}', 1, 0, :at)"
            ),
            {"id": number, "at": datetime(2026, 11, 23, 1, tzinfo=UTC).replace(tzinfo=None)},
        )


def serve(db: Database, clock: ManualClock, secrets: list[str]) -> tuple[ServerThread, Bot]:
    stored: list[bool] = []
    metrics = Metrics()
    deps = PagerDutyWebhookDeps(
        db, clock, secrets, on_stored=lambda: stored.append(True), metrics=metrics
    )
    server = ServerThread(Starlette(routes=[pagerduty_webhook_route(deps)])).start()
    return server, Bot(f"{server.url}/webhooks/pagerduty", db, stored, metrics)


@pytest.fixture
def bot(db: Database, clock: ManualClock) -> Iterator[Bot]:
    add_incident(db, 42)
    server, bot = serve(db, clock, ["an-old-secret", SECRET])
    yield bot
    server.stop()


def webhooks(db: Database) -> list[PagerDutyWebhookRow]:
    with db.session() as session:
        return list(session.exec(select(PagerDutyWebhookRow)).all())


def event_jobs(db: Database) -> list[JobRow]:
    with db.session() as session:
        return list(session.exec(select(JobRow).where(JobRow.kind == PAGERDUTY_EVENT_JOB)).all())


def acknowledged_from_the_phone(emu: PagerDutyEmulator, pager: PagerDutyPager, url: str) -> str:
    """Our page for OOR-42, acknowledged by Alice in PagerDuty's app: the webhook id."""
    emu.add_webhook_subscription(url, secret=SECRET, id="PSUB001")
    pager.trigger(page("OOR-42"), event_id="job-1")
    [delivery] = emu.acknowledge_from_phone(emu.pages[0].id, "alice@example.com")
    assert delivery.status == 202, delivery.response
    return delivery.webhook_id


def test_an_acknowledgement_is_stored_and_queued_once(
    bot: Bot, emu: PagerDutyEmulator, pager: PagerDutyPager
) -> None:
    webhook_id = acknowledged_from_the_phone(emu, pager, bot.url)
    [row] = webhooks(bot.db)
    assert (row.webhook_id, row.event_type, row.outcome) == (
        webhook_id,
        "incident.acknowledged",
        "queued",
    )
    assert (row.incident_id, row.dedup_key, row.agent_id, row.agent_name) == (
        42,
        "oor-bot/OOR-42",
        "PALICE1",
        "Alice Martin",
    )
    assert row.pd_incident_id == emu.pages[0].id
    [job] = event_jobs(bot.db)
    assert (job.incident_id, job.payload) == (42, {"webhook_id": webhook_id})
    assert bot.stored == [True]  # the outbox worker was woken


def test_a_redelivery_is_recognised_by_its_webhook_id(
    bot: Bot, emu: PagerDutyEmulator, pager: PagerDutyPager
) -> None:
    webhook_id = acknowledged_from_the_phone(emu, pager, bot.url)
    again = emu.redeliver(webhook_id)
    assert (again.status, json.loads(again.response)) == (202, {"status": "duplicate"})
    assert len(webhooks(bot.db)) == 1
    assert len(event_jobs(bot.db)) == 1
    assert (bot.counted("queued"), bot.counted("duplicate")) == (1, 1)


def test_a_wrong_signature_is_401_and_stores_nothing(
    bot: Bot, emu: PagerDutyEmulator, pager: PagerDutyPager
) -> None:
    emu.add_webhook_subscription(bot.url, secret="someone-else's-secret")
    pager.trigger(page("OOR-42"), event_id="job-1")
    [delivery] = emu.acknowledge_from_phone(emu.pages[0].id, "alice@example.com")
    assert delivery.status == 401
    assert webhooks(bot.db) == [] and event_jobs(bot.db) == []
    assert bot.counted("http_401") == 1


def test_a_body_changed_after_signing_is_401(bot: Bot, emu: PagerDutyEmulator) -> None:
    body = json.dumps(emu.envelope("incident.acknowledged", {"type": "incident"})).encode()
    headers = {"X-PagerDuty-Signature": sign(body, SECRET), "X-Webhook-Id": "w-1"}
    response = httpx.post(bot.url, content=body + b" ", headers=headers)
    assert response.status_code == 401
    response = httpx.post(bot.url, content=body, headers={"X-Webhook-Id": "w-1"})
    assert response.status_code == 401  # no signature at all
    assert webhooks(bot.db) == []


def test_during_a_rotation_any_value_may_match(
    bot: Bot, emu: PagerDutyEmulator, pager: PagerDutyPager
) -> None:
    """Several comma-separated v1= values while PagerDuty rotates the secret."""
    emu.add_webhook_subscription(bot.url, secret="the-previous-one", id="PSUB001")
    emu.rotate_secret("PSUB001", SECRET)
    pager.trigger(page("OOR-42"), event_id="job-1")
    [delivery] = emu.acknowledge_from_phone(emu.pages[0].id, "alice@example.com")
    assert delivery.headers["X-PagerDuty-Signature"].count("v1=") == 2
    assert delivery.status == 202


def test_unknown_types_and_pages_not_ours_are_accepted_and_ignored(
    bot: Bot, emu: PagerDutyEmulator
) -> None:
    sent = [
        emu.send_webhook(
            bot.url, "service.updated", {"id": "PSVC001", "type": "service"}, secret=SECRET
        ),
        emu.send_webhook(
            bot.url,
            "incident.acknowledged",
            {"id": "Q1", "type": "incident", "incident_key": "someone-else/INC-9"},
            secret=SECRET,
        ),
        emu.send_webhook(
            bot.url,
            "incident.acknowledged",
            {"id": "Q2", "type": "incident", "incident_key": "oor-bot/OOR-999"},  # no such
            secret=SECRET,
        ),
    ]
    assert [(d.status, json.loads(d.response)) for d in sent] == [(202, {"status": "ignored"})] * 3
    assert [r.outcome for r in webhooks(bot.db)] == ["ignored"] * 3
    assert event_jobs(bot.db) == [] and bot.stored == []


def test_a_signed_body_that_is_not_an_event_is_400(bot: Bot) -> None:
    body = b'{"messages": []}'
    headers = {"X-PagerDuty-Signature": sign(body, SECRET), "X-Webhook-Id": "w-1"}
    response = httpx.post(bot.url, content=body, headers=headers)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_event")


def test_a_body_over_the_limit_is_refused_unread(bot: Bot) -> None:
    response = httpx.post(bot.url, content=b"x" * (1024 * 1024 + 1))
    assert response.status_code == 413


def test_without_a_secret_the_endpoint_is_off(db: Database, clock: ManualClock) -> None:
    server, bot = serve(db, clock, [])
    try:
        assert httpx.post(bot.url, content=b"{}").status_code == 404
    finally:
        server.stop()
