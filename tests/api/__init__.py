"""Tests of the read API; helpers that put incidents into a database the way the bot does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from bot.domain.events import OorEvent, PaymentDetails
from bot.domain.plan import Plan
from bot.domain.types import IncidentStatus, OorType, Role, Severity, Step, StepState
from bot.incidents.ingest import IngestService
from bot.storage import incidents as repo
from bot.storage.db import Database
from bot.storage.models import IncidentRow, RoleRow, StepRow

T0 = datetime(2026, 11, 25, 4, 30, tzinfo=UTC)


def open_incident(
    db: Database,
    plan: Plan,
    key: str,
    *,
    at: datetime,
    type: OorType = OorType.PAYMENT_FAILURE,
    title: str = "Alipay channel blocked",
    severity: Severity | None = None,
    amount: str | None = "1234.50",
) -> int:
    event = OorEvent(
        source="native",
        dedup_key=key,
        type=type,
        title=title,
        severity=severity,
        description="Payments on the Alipay channel fail",
        origin="payment-monitor",
        url="https://grafana.example.com/d/payments",
        details=PaymentDetails(
            payment_method="alipay",
            merchant_id="M-10086",
            amount=Decimal(amount) if amount is not None else None,
            currency="CNY",
            affected_transactions=57,
        ),
    )
    result = IngestService(db, plan).ingest([event], now=at)
    assert result.incident_number is not None
    return result.incident_number


def update_incident(db: Database, number: int, **fields: Any) -> None:
    with db.session() as session:
        row = session.get(IncidentRow, number)
        assert row is not None
        for name, value in fields.items():
            setattr(row, name, value)
        session.add(row)


def set_status(db: Database, number: int, status: IncidentStatus, at: datetime) -> None:
    fields: dict[str, Any] = {"status": status.value}
    if status in (IncidentStatus.RESOLVED, IncidentStatus.CLOSED):
        fields["resolved_at"] = at
    if status is IncidentStatus.CLOSED:
        fields["closed_at"] = at + timedelta(hours=1)
    update_incident(db, number, **fields)


def set_step(db: Database, number: int, step: Step, state: StepState, **fields: Any) -> None:
    with db.session() as session:
        row = session.get(StepRow, (number, step.value))
        assert row is not None
        row.state = state.value
        for name, value in fields.items():
            setattr(row, name, value)
        session.add(row)


def set_role(db: Database, number: int, role: Role, user_id: str, at: datetime) -> None:
    with db.session() as session:
        session.add(
            RoleRow(
                incident_id=number,
                role=role.value,
                user_id=user_id,
                assigned_at=at,
                assigned_by="U0",
            )
        )


def add_timeline(db: Database, number: int, at: datetime, text: str) -> None:
    with db.session() as session:
        repo.add_timeline(session, number, at=at, actor="U0ALICE", kind="note", text=text)


def seed_four(db: Database, plan: Plan) -> list[int]:
    """OOR-1 open payment failure (T0), OOR-2 resolved system crash (T0+1h), OOR-3 closed
    amount error (T0+2h), OOR-4 open payment failure (T0+3h). Returns the numbers."""
    hour = timedelta(hours=1)
    n1 = open_incident(db, plan, "a", at=T0)
    n2 = open_incident(db, plan, "b", at=T0 + hour, type=OorType.SYSTEM_CRASH, title="Core down")
    n3 = open_incident(db, plan, "c", at=T0 + 2 * hour, type=OorType.AMOUNT_ERROR, title="Off")
    n4 = open_incident(db, plan, "d", at=T0 + 3 * hour, title="WeChat Pay timeouts")
    set_status(db, n2, IncidentStatus.RESOLVED, T0 + 2 * hour)
    set_status(db, n3, IncidentStatus.CLOSED, T0 + 3 * hour)
    set_step(
        db, n1, Step.RESPOND, StepState.DONE,
        started_at=T0, started_by="U0ALICE", completed_at=T0 + hour / 6, completed_by="U0ALICE",
    )  # fmt: skip
    set_step(db, n1, Step.RECORD, StepState.IN_PROGRESS, started_at=T0, started_by="U0BOB")
    return [n1, n2, n3, n4]
