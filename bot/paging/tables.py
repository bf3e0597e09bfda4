"""The paging tables (migrations 0011, 0012): PagerDuty webhooks seen, the pages the bot sent,
and who was found on call for an incident (shown on its board).

Uniqueness is the database's, as everywhere in the bot (bot/storage/models.py):
``pagerduty_webhook.webhook_id`` is unique, so a redelivered webhook (PagerDuty repeats
``X-Webhook-Id`` on retries) is stored and acted on once, whichever replica receives it;
``paging_page.dedup_key`` is unique, so an incident's page is recorded once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from bot.storage.types import UtcDateTime


def _utc(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(UtcDateTime(), nullable=nullable))


class PagerDutyWebhookRow(SQLModel, table=True):
    """One Webhooks v3 delivery, as far as the bot needs it (never its signature)."""

    __tablename__ = "pagerduty_webhook"

    id: int | None = Field(default=None, primary_key=True)
    webhook_id: str = Field(max_length=200, unique=True)
    event_id: str | None = Field(default=None, max_length=100)
    event_type: str = Field(max_length=100)
    # PagerDuty's incident and its incident_key: one of our dedup keys for our pages.
    pd_incident_id: str | None = Field(default=None, max_length=40)
    dedup_key: str | None = Field(default=None, max_length=255)
    incident_id: int | None = Field(default=None, foreign_key="incident.id", index=True)
    # Who did it in PagerDuty (a user reference: id and name; the email is asked later).
    agent_id: str | None = Field(default=None, max_length=40)
    agent_name: str | None = Field(default=None, max_length=200)
    occurred_at: datetime | None = _utc()
    received_at: datetime = _utc(nullable=False)
    # "queued" (an outbox job acts on it) or "ignored" (not ours, or a type we do not use).
    outcome: str = Field(max_length=20)


class PageRow(SQLModel, table=True):
    """A page the bot sent (or is sending) for an incident, and where it stands."""

    __tablename__ = "paging_page"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    dedup_key: str = Field(max_length=255, unique=True)
    route: str = Field(max_length=40)
    reason: str = Field(max_length=20)
    # triggered, acknowledged or resolved: what the bot has decided to tell the pager.
    status: str = Field(max_length=20)
    # Each decision is a version with its own outbox job; jobs run in version order (an
    # acknowledge must not overtake the trigger still being retried), so a job waits
    # until ``sent_version`` is the one before its own.
    version: int = Field(default=1)
    sent_version: int = Field(default=0)
    last_error: str | None = Field(default=None, max_length=300)
    # When it was last triggered: an acknowledgement only counts if it came after.
    triggered_at: datetime = _utc(nullable=False)
    created_at: datetime = _utc(nullable=False)
    updated_at: datetime = _utc(nullable=False)


class OnCallRow(SQLModel, table=True):
    """What the on-call lookup of an incident found, for its board: one row per incident,
    replaced by each later outcome (PagerDuty unreachable, then answering)."""

    __tablename__ = "paging_on_call"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", unique=True)
    # found | unreachable | refused | no-token (bot/paging/on_call_board.py words them)
    outcome: str = Field(max_length=20)
    # [{"target": "pagerduty:schedule/P…", "name", "email", "chat_id" (None: not in chat)}]
    people: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    error: str | None = Field(default=None, max_length=300)
    updated_at: datetime = _utc(nullable=False)
