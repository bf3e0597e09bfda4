"""The smaller parts: message texts, button values, whom a reminder mentions, stale
reminders dropped by their job, the scheduler ticking the scan, and the emulator's
``conversations.open``."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from bot.domain import lifecycle
from bot.domain.clock import ManualClock
from bot.domain.incident import IncidentSnapshot, StepRecord, initial_steps
from bot.domain.plan import Plan
from bot.domain.types import IncidentStatus, OorType, Role, Severity, Step, StepState
from bot.incidents.service import IncidentService
from bot.reminders import Reminders
from bot.reminders.jobs import ReminderJobs
from bot.reminders.scan import POST_REMINDER, ReminderScanner
from bot.reminders.views import (
    build_escalation_dm,
    build_reminder_message,
    overdue_text,
    parse_button_value,
    register_renderers,
)
from bot.sandbox.emulator import Emulator
from bot.slack.directory import Resolution
from bot.slack.platform import SlackPlatform, SlackRenderers
from bot.storage import incidents as repo
from bot.storage import jobs
from bot.storage.db import Database
from bot.storage.jobs import ClaimedJob
from bot.storage.models import JobRow, ReminderRow
from tests.reminders.test_scan import START, open_incident
from tests.support import wait_for

SHANGHAI = ZoneInfo("Asia/Shanghai")
DUE = datetime(2026, 11, 25, 4, 45, tzinfo=UTC)  # 12:45 in Shanghai


def snapshot(**changes: Any) -> IncidentSnapshot:
    base = IncidentSnapshot(
        number=7,
        type=OorType.PAYMENT_FAILURE,
        title="Alipay <blocked> & failing",
        severity=Severity.SEV2,
        status=IncidentStatus.OPEN,
        source="native",
        opened_at=DUE - timedelta(minutes=30),
        steps=initial_steps(),
        channel_id="C0000000001",
    )
    return replace(base, **changes)


# -- views -------------------------------------------------------------------------------------
def test_overdue_text() -> None:
    assert (
        overdue_text(Step.RECORD, DUE, DUE + timedelta(minutes=3), SHANGHAI)
        == "Step 2 record the problem (记录问题) is overdue by 3m (due 12:45 UTC+8)"
    )
    assert overdue_text(Step.RECORD, DUE, DUE + timedelta(seconds=20), SHANGHAI).endswith(
        "is overdue (due 12:45 UTC+8)"
    )
    # Another day: the date is shown too.
    assert "(due 2026-11-25 12:45 UTC+8)" in overdue_text(
        Step.REVIEW, DUE, DUE + timedelta(days=1), SHANGHAI
    )


def test_reminder_message_and_buttons() -> None:
    message = build_reminder_message(
        snapshot(), Step.RECORD, deadline_at=DUE, now=DUE, tz=SHANGHAI, owners=["U02BOB"]
    )
    assert message.text.startswith("⏰ Step 2 record the problem") and "<@U02BOB>" in message.text
    actions = message.as_args()["blocks"][1]
    assert [(e["action_id"], e["value"]) for e in actions["elements"]] == [
        ("reminder_snooze_15", "7:record"),
        ("reminder_snooze_60", "7:record"),
        ("reminder_done", "7:record"),
    ]
    dm = build_escalation_dm(snapshot(), Step.RESPOND, deadline_at=DUE, now=DUE, tz=SHANGHAI)
    assert "Alipay &lt;blocked&gt; &amp; failing" in dm.text and "<#C0000000001>" in dm.text


def test_button_values() -> None:
    assert parse_button_value("7:record") == (7, Step.RECORD)
    for bad in ("", "7", "x:record", "7:sleep", "7:"):
        assert parse_button_value(bad) is None


# -- whom a reminder mentions -----------------------------------------------------------------
class FakeDirectory:
    def resolve(self, refs: Any) -> Resolution:
        return Resolution(["U01ALICE", "U02BOB", "UBOT"])


class FakeGateway:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def call(self, method: str, **args: Any) -> dict[str, Any]:
        self.calls.append((method, args))
        return {"ok": True, "ts": "1.000001", "channel": {"id": "D1"}}

    def bot_user_id(self) -> str:
        return "UBOT"


def handlers(db: Database, plan: Plan, clock: ManualClock, gateway: FakeGateway) -> ReminderJobs:
    renderers = SlackRenderers()
    register_renderers(renderers, plan.tz)
    platform = SlackPlatform(gateway, FakeDirectory(), renderers)  # type: ignore[arg-type]
    return ReminderJobs(db, plan, clock, platform)


def test_owners_in_progress_then_commander_then_the_plan(db: Database, plan: Plan) -> None:
    jobs_ = handlers(db, plan, ManualClock(START), FakeGateway())
    started = StepRecord(Step.INVESTIGATE, StepState.IN_PROGRESS, started_by="U05ERIN")
    steps = tuple(started if r.step is Step.INVESTIGATE else r for r in initial_steps())
    assert jobs_.owners(snapshot(steps=steps), Step.INVESTIGATE) == ["U05ERIN"]
    with_commander = snapshot(steps=steps, roles={Role.COMMANDER: "U03CAROL"})
    assert jobs_.owners(with_commander, Step.RECORD) == ["U03CAROL"]
    assert jobs_.owners(snapshot(), Step.RECORD) == ["U01ALICE", "U02BOB"]  # never the bot


def test_owners_are_the_holders_of_the_steps_role_before_the_commander(
    db: Database, plan: Plan
) -> None:
    jobs_ = handlers(db, plan, ManualClock(START), FakeGateway())
    staffed = snapshot(
        roles={Role.COMMANDER: "U01ALICE", Role.TECH: "U02BOB", Role.COMMS: "U03CAROL"}
    )
    assert jobs_.owners(staffed, Step.RESOLVE) == ["U02BOB"]
    assert jobs_.owners(staffed, Step.NOTIFY) == ["U03CAROL"]
    assert jobs_.owners(staffed, Step.REVIEW) == ["U01ALICE"]
    assert jobs_.owners(snapshot(roles={Role.COMMANDER: "U01ALICE"}), Step.NOTIFY) == ["U01ALICE"]


# -- jobs ------------------------------------------------------------------------------------------
def _claimed_job(db: Database, kind: str) -> ClaimedJob:
    with db.session() as session:
        row = session.exec(select(JobRow).where(col(JobRow.kind) == kind)).one()
        assert row.id is not None
        return ClaimedJob(row.id, row.kind, row.incident_id, row.payload, 1)


def test_a_reminder_whose_step_was_done_meanwhile_is_not_posted(db: Database, plan: Plan) -> None:
    clock = ManualClock(START)
    number = open_incident(db, plan, clock)
    with db.session() as session:  # the channel exists
        row = repo.get_row(session, number)
        assert row is not None
        row.channel_id = "C0000000001"
        session.add(row)
    clock.advance(minutes=10)
    assert len(ReminderScanner(db, plan, clock).scan()) == 1
    job = _claimed_job(db, POST_REMINDER)
    gateway = FakeGateway()
    handlers(db, plan, clock, gateway).post_reminder(job)
    assert [method for method, _ in gateway.calls] == ["chat.postMessage"]
    # Acknowledged between the claim and a retry of the job: dropped, not posted stale.
    IncidentService(db, clock, on_enqueued=lambda: None, plan=plan).apply(
        number, "U01ALICE", lambda s, t: lifecycle.acknowledge(s, "U01ALICE", t)
    )
    gateway.calls.clear()
    handlers(db, plan, clock, gateway).post_reminder(job)
    assert gateway.calls == []


def test_the_scheduler_ticks_the_scan(db: Database, plan: Plan) -> None:
    clock = ManualClock(START)
    open_incident(db, plan, clock)
    clock.advance(minutes=10)
    reminders = Reminders(ReminderScanner(db, plan, clock), interval_seconds=0.05)
    reminders.start()
    try:
        wait_for(lambda: _count(db) == 1, what="a scheduled scan")
    finally:
        reminders.stop()
    assert not reminders.running
    with pytest.raises(ValueError):
        Reminders(ReminderScanner(db, plan, clock), interval_seconds=0)


def _count(db: Database) -> int:
    with db.session() as session:
        return len(session.exec(select(ReminderRow)).all())


def test_jobs_dedup_keys_guard_a_second_enqueue(db: Database, plan: Plan) -> None:
    clock = ManualClock(START)
    open_incident(db, plan, clock)
    clock.advance(minutes=10)
    [claim] = ReminderScanner(db, plan, clock).scan()
    with db.session() as session:
        again = jobs.enqueue(
            session, POST_REMINDER, now=clock.now(), dedup_key=f"reminder:{claim.reminder_id}"
        )
    assert again is False


# -- the emulator's conversations.open --------------------------------------------------------
def test_emulator_opens_direct_messages() -> None:
    emu = Emulator(bot_token="xoxb-test")
    emu.add_user("U04DAVE", "dave", "dave@example.com")
    emu.add_user("U01ALICE", "alice", "alice@example.com")

    def call(method: str, **args: Any) -> dict[str, Any]:
        return emu.execute(method, args, "xoxb-test").body

    first = call("conversations.open", users="U04DAVE")
    assert first["ok"] and first["channel"]["id"].startswith("D") and "already_open" not in first
    again = call("conversations.open", users="U04DAVE", return_im=True)
    assert again["channel"]["id"] == first["channel"]["id"] and again["already_open"] is True
    assert again["channel"]["is_im"] is True and again["channel"]["user"] == "U04DAVE"
    posted = call("chat.postMessage", channel=first["channel"]["id"], text="hello")
    assert posted["ok"], posted
    assert [m["text"] for m in emu.messages(first["channel"]["id"])] == ["hello"]
    listed = call("conversations.list", types="public_channel,private_channel")
    assert listed["channels"] == []  # DMs are not channels
    group = call("conversations.open", users="U04DAVE,U01ALICE")
    assert group["channel"]["id"] != first["channel"]["id"]
    assert call("conversations.open", users="U09NOBODY")["error"] == "user_not_found"
    assert call("conversations.open")["error"] == "users_list_not_supplied"
    by_id = call("conversations.open", channel=first["channel"]["id"])
    assert by_id["channel"]["id"] == first["channel"]["id"]
