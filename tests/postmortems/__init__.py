"""Tests of the post-mortem (step 6): a realistic sample incident built by hand.

OOR-42: the Alipay channel blocked for an hour and a half on 2026-11-25 (all times below
are UTC; the plan's zone, Asia/Shanghai, is 8 hours ahead).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from bot.domain.incident import IncidentSnapshot, StepRecord, TimelineEntry
from bot.domain.records import said
from bot.domain.types import (
    CauseCategory,
    IncidentStatus,
    OorType,
    Role,
    Severity,
    Step,
    StepState,
)
from bot.postmortems.model import ActionItem, ReviewNotes

OPENED = datetime(2026, 11, 25, 4, 31, 0, tzinfo=UTC)  # 12:31 in Shanghai
BEGAN = OPENED - timedelta(minutes=1)
ACKED = OPENED + timedelta(minutes=2, seconds=40)
RECORDED = OPENED + timedelta(minutes=9, seconds=5)
FOUND = OPENED + timedelta(minutes=21)
RESOLVED = OPENED + timedelta(minutes=58, seconds=30)
NOTIFIED = OPENED + timedelta(hours=1, minutes=12)
CLOSED = OPENED + timedelta(hours=26)
NAMES = {
    "U01ALICE": "Alice Wang 王丽",
    "U02BOB": "Bob Li 李博",
    "U03CAROL": "Carol Chen 陈卡",
}


def done_record(
    step: Step, by: str, at: datetime, started: datetime | None = None, **kw: str
) -> StepRecord:
    return StepRecord(
        step,
        StepState.DONE,
        started_at=started or at,
        started_by=by,
        completed_at=at,
        completed_by=by,
        note=kw.get("note"),
    )


def sample_snapshot(*, closed: bool = True, notify: bool = True) -> IncidentSnapshot:
    steps = (
        done_record(Step.RESPOND, "U01ALICE", ACKED),
        done_record(Step.RECORD, "U02BOB", RECORDED),
        done_record(Step.INVESTIGATE, "U02BOB", FOUND, started=OPENED + timedelta(minutes=6)),
        done_record(
            Step.RESOLVE,
            "U02BOB",
            RESOLVED,
            note="Switched Alipay traffic to the backup acquirer",
        ),
        done_record(Step.NOTIFY, "U03CAROL", NOTIFIED, note="SMS to 312 customers")
        if notify
        else StepRecord(Step.NOTIFY),
        StepRecord(Step.REVIEW),
    )
    return IncidentSnapshot(
        number=42,
        type=OorType.PAYMENT_FAILURE,
        title="Alipay channel blocked",
        severity=Severity.SEV2,
        status=IncidentStatus.CLOSED if closed else IncidentStatus.RESOLVED,
        source="native",
        origin="payment-monitor",
        url="https://grafana.example.com/d/payments",
        opened_at=OPENED,
        occurred_at=BEGAN,
        description="Payments on the Alipay channel fail with CHANNEL_BLOCKED",
        details={
            "payment_method": "alipay",
            "merchant_id": "M-10086, M-20001",
            "amount": "98000.00",
            "currency": "CNY",
            "affected_transactions": 312,
            "affected_users": "Alipay payers in East China",
            "error_code": "CHANNEL_BLOCKED",
        },
        channel_id="C0OOR42",
        channel_name="oor-42-payment-failure-alipay-channel-blocked",
        steps=steps,
        roles={Role.COMMANDER: "U01ALICE", Role.TECH: "U02BOB", Role.COMMS: "U03CAROL"},
        resolved_at=RESOLVED,
        closed_at=CLOSED if closed else None,
        resolution_summary="Switched Alipay traffic to the backup acquirer",
        cause_category=CauseCategory.PARTNER,
    )


def sample_timeline() -> list[TimelineEntry]:
    six = OPENED + timedelta(minutes=6)
    rows = [
        (OPENED, "payment-monitor", "opened", "Incident opened from a native event: Alipay "
         "channel blocked"),
        (ACKED, "U01ALICE", "step", "acknowledged the incident (step 1 rapid response (快速响应) "
         "done) and is the commander"),
        (six, "U02BOB", "step", "started investigating (step 3 investigate (排查问题) "
         "in progress)"),
        (six, "U02BOB", "finding", "finding: Alipay returns CHANNEL_BLOCKED for merchant M-10086 "
         "since 12:30"),
        (RECORDED, "U02BOB", "step", "recorded the problem (step 2 record the problem (记录问题) "
         "done): affected_transactions, amount, currency"),
        (FOUND, "U02BOB", "finding", "finding: acquirer A's risk system blocked our settlement "
         "account <after a limit change>"),
        (RESOLVED, "U02BOB", "step", "resolved the incident (step 4 resolve (解决问题) done). "
         "Cause: Partner (bank, acquirer, channel) (合作方问题). "
         "Switched Alipay traffic to the backup acquirer"),
        (NOTIFIED, "U03CAROL", "step", "notified customers (step 5 notify customers (通知客户) "
         "done): SMS to 312 customers"),
        (CLOSED, "U01ALICE", "status", "closed the incident with step 6 review (总结经验) still "
         "open"),
    ]  # fmt: skip
    return [
        TimelineEntry(at=a, actor=who, kind=kind, said=said(text)) for a, who, kind, text in rows
    ]


def sample_notes() -> ReviewNotes:
    return ReviewNotes(
        what_happened=(
            "At 12:30 acquirer A's risk system blocked our Alipay settlement account after a\n"
            "limit change on their side. Every Alipay payment failed with CHANNEL_BLOCKED until\n"
            "we moved the traffic to the backup acquirer."
        ),
        root_cause=(
            "Acquirer A lowered the daily limit of our settlement account without telling us; "
            "our routing had no automatic failover for CHANNEL_BLOCKED."
        ),
        went_well="The monitor opened the incident within a minute; the backup acquirer was ready.",
        to_improve=(
            "Fail over automatically on CHANNEL_BLOCKED; agree limit-change notice with acquirer A."
        ),
        updated_by="U01ALICE",
        updated_at=CLOSED,
    )


def sample_action_items() -> list[ActionItem]:
    return [
        ActionItem(
            1,
            "Automatic failover to the backup acquirer on CHANNEL_BLOCKED",
            "U02BOB",
            date(2026, 12, 9),
        ),
        ActionItem(
            2,
            "Agree a 5-day notice for limit changes with acquirer A",
            "U01ALICE",
            date(2026, 12, 2),
            done=True,
        ),
        ActionItem(3, "Alert on the CHANNEL_BLOCKED error rate, not only on failures"),
    ]
