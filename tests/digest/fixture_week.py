"""A hand-computed fixture: incidents, steps, post-mortems and action items around 2026-W47.

Times are UTC; the plan (``plan.yaml``) is in Asia/Shanghai (UTC+8), so 2026-W47 runs from
2026-11-15 16:00 to 2026-11-22 16:00 UTC, and 2026-W46 the week before. Every expected
figure in ``test_figures.py`` is worked out from the comments here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.domain.plan import Plan
from bot.domain.plan_file import load_plan
from bot.domain.types import Step
from bot.storage.db import Database
from bot.storage.models import (
    ActionItemRow,
    IncidentRow,
    PostmortemRow,
    StepRow,
)

PLAN_PATH = Path(__file__).with_name("plan.yaml")


def digest_plan() -> Plan:
    return load_plan(PLAN_PATH)


def utc(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def add_incident(
    db: Database,
    *,
    type: str,
    severity: str,
    opened: datetime,
    steps: dict[Step, tuple[str, datetime | None]] | None = None,
    resolved: datetime | None = None,
    closed: datetime | None = None,
    details: dict[str, Any] | None = None,
    title: str = "Incident",
) -> int:
    status = "closed" if closed else "resolved" if resolved else "open"
    with db.session() as session:
        row = IncidentRow(
            type=type,
            title=title,
            severity=severity,
            status=status,
            source="native",
            opened_at=opened,
            resolved_at=resolved,
            closed_at=closed,
            details=details or {},
            updated_at=opened,
        )
        session.add(row)
        session.flush()
        assert row.id is not None
        for position, step in enumerate(Step, start=1):
            state, at = (steps or {}).get(step, ("pending", None))
            session.add(
                StepRow(
                    incident_id=row.id,
                    step=step,
                    position=position,
                    state=state,
                    completed_at=at,
                    completed_by="U01ALICE" if at else None,
                )
            )
        return row.id


def publish_postmortem(db: Database, incident_id: int, at: datetime) -> None:
    with db.session() as session:
        session.add(
            PostmortemRow(
                incident_id=incident_id,
                version=1,
                markdown="# Post-mortem",
                compiled_by="U01ALICE",
                compiled_at=at,
                published_by="U01ALICE",
                published_at=at,
            )
        )


def add_action_item(
    db: Database,
    incident_id: int,
    number: int,
    *,
    owner: str | None,
    created: datetime,
    due: date | None = None,
    done: datetime | None = None,
) -> None:
    with db.session() as session:
        session.add(
            ActionItemRow(
                incident_id=incident_id,
                number=number,
                text=f"Action {number}",
                owner=owner,
                due_date=due,
                state="done" if done else "open",
                created_by="U01ALICE",
                created_at=created,
                done_at=done,
                done_by="U01ALICE" if done else None,
            )
        )


DONE, SKIPPED = "done", "skipped"


def seed_fixture_weeks(db: Database) -> dict[str, int]:
    """The incidents of 2026-W46 and W47 (plus one of W48 that neither week may count)."""
    ids: dict[str, int] = {}
    # --- W47 ---------------------------------------------------------------------------
    # I1: respond 4m (<= 5m sev1: on time), resolve 1h30 (on time), review pending: due
    # 11-19 03:30, in W47 -> missed. Resolved 11-16, no post-mortem -> overdue at W47 end.
    ids["I1"] = add_incident(
        db,
        type="payment_failure",
        severity="sev1",
        opened=utc(11, 16, 2),
        steps={Step.RESPOND: (DONE, utc(11, 16, 2, 4)), Step.RESOLVE: (DONE, utc(11, 16, 3, 30))},
        resolved=utc(11, 16, 3, 30),
        details={"amount": "1234.50", "currency": "CNY", "affected_transactions": 10},
        title="Alipay <blocked> & slow",
    )
    # I2: respond 12m (> 10m: missed), resolve 3h (> 2h: missed), review on time.
    # Resolved 11-17 13:00 (before 11-17 16:00) but its post-mortem is published.
    ids["I2"] = add_incident(
        db,
        type="payment_failure",
        severity="sev2",
        opened=utc(11, 17, 10),
        steps={
            Step.RESPOND: (DONE, utc(11, 17, 10, 12)),
            Step.RESOLVE: (DONE, utc(11, 17, 13)),
            Step.REVIEW: (DONE, utc(11, 18, 9)),
        },
        resolved=utc(11, 17, 13),
        details={"amount": "100.25", "currency": "USD", "affected_transactions": 5},
    )
    publish_postmortem(db, ids["I2"], utc(11, 18, 9))
    # I3: respond 20m (> 15m: missed), resolve pending, due 11-20 12:00 -> missed; open.
    ids["I3"] = add_incident(
        db,
        type="system_crash",
        severity="sev1",
        opened=utc(11, 20, 8),
        steps={Step.RESPOND: (DONE, utc(11, 20, 8, 20))},
        details={"amount": "10.00", "currency": "CNY", "affected_transactions": 3},
        title="Core down",
    )
    # I4: opened Sunday 23:00 local; respond 5m on time; resolve due after the week; open.
    # A malformed amount counts as none.
    ids["I4"] = add_incident(
        db,
        type="amount_error",
        severity="sev3",
        opened=utc(11, 22, 15),
        steps={Step.RESPOND: (DONE, utc(11, 22, 15, 5))},
        details={"amount": "n/a", "currency": "CNY"},
        title="Rounding",
    )
    # I5: respond skipped (not counted), resolve 30m on time, closed.
    ids["I5"] = add_incident(
        db,
        type="transaction_interruption",
        severity="sev2",
        opened=utc(11, 18, 6),
        steps={
            Step.RESPOND: (SKIPPED, utc(11, 18, 6, 1)),
            Step.RESOLVE: (DONE, utc(11, 18, 6, 30)),
        },
        resolved=utc(11, 18, 6, 30),
        closed=utc(11, 18, 7),
        details={"amount": "99.99", "currency": "USD", "affected_transactions": 7},
    )
    # --- W46 ---------------------------------------------------------------------------
    # P1: respond 5m on time (W46); resolve after 14h, on 11-16 (W47): missed, judged at its
    # due time 11-15 12:00 (W46); its MTTR counts in W47. Review due 11-19 -> missed in W47.
    # Open at the end of W46; overdue post-mortem at the end of W47.
    ids["P1"] = add_incident(
        db,
        type="payment_failure",
        severity="sev2",
        opened=utc(11, 15, 10),
        steps={Step.RESPOND: (DONE, utc(11, 15, 10, 5)), Step.RESOLVE: (DONE, utc(11, 16, 0))},
        resolved=utc(11, 16, 0),
        details={"amount": "500", "currency": "CNY", "affected_transactions": 20},
    )
    # P2: respond 10m, resolve 2h, both on time; no post-mortem: overdue in W46 and W47.
    ids["P2"] = add_incident(
        db,
        type="system_crash",
        severity="sev2",
        opened=utc(11, 10, 3),
        steps={Step.RESPOND: (DONE, utc(11, 10, 3, 10)), Step.RESOLVE: (DONE, utc(11, 10, 5))},
        resolved=utc(11, 10, 5),
        details={"amount": "20.00", "currency": "USD", "affected_transactions": 1},
    )
    # P3: respond 30m (missed), resolve 1h (on time), review done on time in W46;
    # post-mortem published 11-16.
    ids["P3"] = add_incident(
        db,
        type="payment_failure",
        severity="sev2",
        opened=utc(11, 12, 1),
        steps={
            Step.RESPOND: (DONE, utc(11, 12, 1, 30)),
            Step.RESOLVE: (DONE, utc(11, 12, 2)),
            Step.REVIEW: (DONE, utc(11, 14, 0)),
        },
        resolved=utc(11, 12, 2),
    )
    publish_postmortem(db, ids["P3"], utc(11, 16, 9))
    # W48: opened after the week; counted nowhere.
    ids["N1"] = add_incident(
        db,
        type="payment_failure",
        severity="sev1",
        opened=utc(11, 23, 1),
        details={"amount": "9999", "currency": "CNY", "affected_transactions": 99},
    )
    # --- action items ------------------------------------------------------------------
    add_action_item(
        db, ids["I1"], 1, owner="U01ALICE", created=utc(11, 16, 5), due=date(2026, 11, 20)
    )
    add_action_item(
        db, ids["I1"], 2, owner="U01ALICE", created=utc(11, 17, 5), due=date(2026, 11, 30)
    )
    add_action_item(
        db,
        ids["P2"],
        1,
        owner="U02BOB",
        created=utc(11, 10, 8),
        due=date(2026, 11, 13),
        done=utc(11, 18, 0),
    )
    add_action_item(db, ids["P2"], 2, owner=None, created=utc(11, 11, 0))
    add_action_item(db, ids["I2"], 1, owner="U02BOB", created=utc(11, 19, 0), done=utc(11, 20, 0))
    return ids


W47_START = utc(11, 15, 16)
W47_END = W47_START + timedelta(days=7)
