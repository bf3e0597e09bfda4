"""A whole incident through the chat-platform port, with no Slack and no Slack emulator.

The app is built with the test-only :class:`tests.chat_recorder.ChatRecorder` as its chat
platform, and the Slack API URL points nowhere: every side effect the incident needs has to
go through the port. Webhook in, room opened with the plan's responders, the six steps,
a reminder, customer notification drafts approved, the post-mortem compiled and
published, the room archived on close, and the weekly digest.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from starlette.testclient import TestClient

from bot.app import create_app
from bot.chat import messages
from bot.digest.post import DIGEST_MESSAGE
from bot.digest.schedule import installed_at
from bot.domain import lifecycle
from bot.domain.clock import ManualClock
from bot.domain.facts import RecordedFacts
from bot.domain.incident import IncidentSnapshot
from bot.domain.lifecycle import Change
from bot.domain.plan import Plan
from bot.domain.plan_sections import Locale, NotifyChannel
from bot.domain.types import IncidentStatus, Step, StepState
from bot.notifications.model import DRAFT_MESSAGE
from bot.postmortems.model import SUMMARY_MESSAGE, ReviewNotes
from bot.reminders.messages import REMINDER
from bot.storage.migrate import upgrade_url
from tests.chat_recorder import ChatRecorder
from tests.conftest import make_settings
from tests.support import WEBHOOK_TOKEN, native_event

START = datetime(2026, 11, 20, 4, 30, tzinfo=UTC)  # a Friday, 12:30 in Shanghai
DIGEST_SLOT = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # the next Monday 09:00 Shanghai
NOWHERE = "http://127.0.0.1:9/api/"  # nothing listens: a Slack call would fail


def test_a_whole_incident_runs_on_the_recorder(sqlite_url: str, plan: Plan) -> None:
    upgrade_url(sqlite_url)
    clock = ManualClock(START)
    recorder = ChatRecorder(
        emails={"bob@example.com": "U02BOB", "carol@example.com": "U03CAROL"},
        groups={"payments-oncall": ["U05ERIN", "BOT"]},
        names={"U01ALICE": "Alice Wang", "U02BOB": "Bob Li"},
    )
    app = create_app(
        make_settings(sqlite_url, NOWHERE),
        plan=plan.model_copy(update={"archive_channel_on_close": True}),
        clock=clock,
        start_worker=False,
        platform=recorder,
    )
    assert app.wiring is not None
    installed_at(app.db, START - timedelta(days=30))
    try:
        # -- webhook in: the room, its responders, description, bookmarks, board ----------------
        client = TestClient(app.asgi)
        body = json.dumps(native_event(occurred_at=START.isoformat())).encode()
        answer = client.post(
            "/webhooks/oor",
            content=body,
            headers={
                "content-type": "application/json",
                "authorization": f"Bearer {WEBHOOK_TOKEN}",
            },
        )
        assert answer.status_code in (200, 201, 202), answer.text
        app.worker.run_due_jobs()
        incident = app.incidents.get(1)
        assert incident is not None and incident.channel_id is not None
        room = recorder.rooms[incident.channel_id]
        assert room.name == incident.channel_name
        assert {"U01ALICE", "U02BOB", "U03CAROL", "U05ERIN"} <= room.members
        assert incident.key in room.topic and "Alipay" in room.topic
        assert ("Alert source", "https://grafana.example.com/d/payments") in room.bookmarks
        [board] = [p for p in recorder.messages if p.message.kind == messages.BOARD]
        assert board.ref == incident.board_ts and board.ref in room.pinned
        broadcast = recorder.room_named("#payments-incidents")
        [announced] = recorder.in_room(broadcast, messages.ANNOUNCEMENT)
        assert announced.data.room == room.ref

        # -- a deadline passes: the reminder is posted in the room -----------------------------
        clock.advance(minutes=11)
        app.wiring.exposed["reminders"].scanner.scan()
        app.worker.run_due_jobs()
        [reminder] = recorder.in_room(room.ref, REMINDER)
        assert reminder.data.step is Step.RESPOND

        # -- the six steps ---------------------------------------------------------------------
        def apply(actor: str, command: Callable[[IncidentSnapshot, str, datetime], Change]) -> None:
            app.incidents.apply(1, actor, lambda s, t: command(s, actor, t))
            app.worker.run_due_jobs()

        apply("U01ALICE", lifecycle.acknowledge)
        facts = RecordedFacts(amount=Decimal("1200.50"), currency="CNY", merchant_id="M-10086")
        apply("U02BOB", lambda s, a, t: lifecycle.record(s, a, t, facts))
        apply("U02BOB", lambda s, a, t: lifecycle.add_finding(s, a, t, "channel key expired"))
        apply("U02BOB", lifecycle.finish_investigation)
        apply("U02BOB", lambda s, a, t: lifecycle.resolve(s, a, t, "rotated the channel key"))

        drafts = app.wiring.exposed["notifications"]
        current = app.incidents.get(1)
        assert current is not None
        [draft] = drafts.create(current, "U03CAROL", [(NotifyChannel.SMS, Locale.ZH_CN)]).created
        app.worker.run_due_jobs()
        [posted_draft] = [p for p in recorder.messages if p.message.kind == DRAFT_MESSAGE]
        assert drafts.approve(draft.id, "U02BOB").changed
        app.worker.run_due_jobs()
        assert posted_draft.message.data.draft.state.value == "approved"  # updated in place

        postmortems = app.wiring.exposed["postmortems"]
        notes = ReviewNotes(what_happened="The Alipay channel key expired.", root_cause="Expiry")
        stored = postmortems.submit_review(1, "U01ALICE", notes)
        app.worker.run_due_jobs()
        [shared] = [f for f in recorder.files if f.room == room.ref]
        assert shared.file.filename == stored.filename
        assert str(shared.file.content).startswith("# OOR-1 post-mortem")
        [summary] = [p for p in recorder.messages if p.message.kind == SUMMARY_MESSAGE]
        postmortems.publish(1, stored.version, "U01ALICE", (room.ref, summary.ref))
        app.worker.run_due_jobs()
        assert summary.message.data.stored.published_at is not None  # says who published

        done = app.incidents.get(1)
        assert done is not None
        assert all(done.step(step).state is StepState.DONE for step in Step), done.steps

        # -- closing archives the room once everything was said in it -------------------------
        apply("U01ALICE", lifecycle.close)
        closed = app.incidents.get(1)
        assert closed is not None and closed.status is IncidentStatus.CLOSED
        assert room.archived
        assert recorder.operations()[-1] == "archive"
        step_notices = recorder.in_room(room.ref, messages.NOTICE)
        assert len(step_notices) >= 6

        # -- the weekly digest -----------------------------------------------------------------
        clock.set(DIGEST_SLOT + timedelta(seconds=20))
        assert app.wiring.exposed["digest.scheduler"].check() is not None
        app.worker.run_due_jobs()
        review = recorder.room_named("#payments-review")
        [digest] = recorder.in_room(review, DIGEST_MESSAGE)
        assert digest.text.startswith("Weekly OOR review 2026-W47")
        assert [f.file.filename for f in recorder.files if f.room == review] == [
            "oor-digest-2026-W47.png"
        ]
    finally:
        app.db.dispose()
