"""Private incidents through the chat-platform port (the test-only recorder), on both
databases: opening private by the plan and by declaration, the private room with only the
plan's responders, the broadcast line, and /oor private and /oor public moving the room
once (issue 14, "Private incidents")."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from bot.app import OorApp, create_app
from bot.chat import messages
from bot.chat.port import ChatMessage
from bot.domain import lifecycle
from bot.domain.clock import ManualClock
from bot.domain.events import OorEvent
from bot.domain.incident import IncidentSnapshot
from bot.domain.lifecycle import Change, CommandRefused
from bot.domain.plan import Plan
from bot.domain.plan_privacy import PrivateWhen
from bot.domain.types import OorType, Role, Severity
from bot.incidents.ingest import IngestService
from bot.privacy.moves import RoomMoves
from bot.privacy.service import MOVE_ROOM
from bot.slack.platform import SlackRenderers
from bot.slack.renderers import register_core_renderers
from bot.storage import incidents as repo
from bot.storage.jobs import ClaimedJob
from bot.storage.migrate import upgrade_url
from bot.storage.models import JobRow
from tests.chat_recorder import ChatRecorder
from tests.conftest import make_settings
from tests.support import WEBHOOK_TOKEN, native_event

START = datetime(2026, 11, 25, 4, 30, tzinfo=UTC)
NOWHERE = "http://127.0.0.1:9/api/"  # nothing listens: a Slack call would fail
SECRET_TITLE = "Refunds doubled for merchant M-777"
SECRET_AMOUNT = "98765.43"
# amount_error's responders in plan.example.yaml: commander U01ALICE, tech U05ERIN and
# bob@example.com, comms carol@example.com.
RESPONDERS = {"U01ALICE", "U05ERIN", "U02BOB", "U03CAROL"}


def private_plan(plan: Plan, **type_update: object) -> Plan:
    amount = plan.for_type(OorType.AMOUNT_ERROR).model_copy(update=type_update or {"private": True})
    types = plan.oor_types.model_copy(update={"amount_error": amount})
    return plan.model_copy(update={"oor_types": types})


@pytest.fixture
def recorder() -> ChatRecorder:
    return ChatRecorder(emails={"bob@example.com": "U02BOB", "carol@example.com": "U03CAROL"})


@pytest.fixture
def app(database_url: str, plan: Plan, recorder: ChatRecorder) -> Iterator[OorApp]:
    upgrade_url(database_url)
    built = create_app(
        make_settings(database_url, NOWHERE),
        plan=private_plan(plan),
        clock=ManualClock(START),
        start_worker=False,
        platform=recorder,
    )
    yield built
    built.db.engine.dispose()


def post_event(app: OorApp, **overrides: object) -> None:
    body = json.dumps(native_event(**overrides)).encode()
    answer = TestClient(app.asgi).post(
        "/webhooks/oor",
        content=body,
        headers={"content-type": "application/json", "authorization": f"Bearer {WEBHOOK_TOKEN}"},
    )
    assert answer.status_code == 202, answer.text
    app.worker.run_due_jobs()


def secret_event() -> dict[str, object]:
    return {
        "type": "amount_error",
        "title": SECRET_TITLE,
        "details": {"merchant_id": "M-777", "amount": SECRET_AMOUNT, "currency": "CNY"},
    }


def test_plan_private_when_by_severity_and_by_label(plan: Plan) -> None:
    # As written in a plan file (`severity: sev1` is taken for `[sev1]`).
    when = PrivateWhen.model_validate(
        {"severity": "sev1", "labels": {"data_class": "pii", "fraud": "*"}}
    )
    planned = private_plan(plan, private_when=when)
    opens = planned.opens_private
    assert opens(OorType.AMOUNT_ERROR, Severity.SEV1, {})
    assert not opens(OorType.AMOUNT_ERROR, Severity.SEV2, {})
    assert opens(OorType.AMOUNT_ERROR, Severity.SEV3, {"data_class": "PII"})
    assert not opens(OorType.AMOUNT_ERROR, Severity.SEV3, {"data_class": "public"})
    assert opens(OorType.AMOUNT_ERROR, Severity.SEV4, {"fraud": "suspected"})
    assert not opens(OorType.PAYMENT_FAILURE, Severity.SEV1, {"fraud": "yes"})  # not its type
    assert private_plan(plan).opens_private(OorType.AMOUNT_ERROR, Severity.SEV4, {})


def test_an_amount_error_planned_private_opens_a_private_room_with_only_its_responders(
    app: OorApp, recorder: ChatRecorder
) -> None:
    post_event(app, **secret_event())
    incident = app.incidents.get(1)
    assert incident is not None and incident.private and incident.channel_id is not None
    room = recorder.rooms[incident.channel_id]
    assert room.private
    assert room.members - {"BOT"} == RESPONDERS
    # The broadcast room learns the key and the commander, nothing of the incident's facts.
    broadcast = recorder.room_named("#payments-incidents")
    assert recorder.in_room(broadcast, messages.ANNOUNCEMENT) == []
    [line] = recorder.in_room(broadcast, messages.PRIVATE_ANNOUNCEMENT)
    assert line.data == messages.PrivateAnnouncement("OOR-1", "U01ALICE")
    assert line.text == "A private incident OOR-1 was opened; its commander is @U01ALICE"
    everything_outside = repr([p.message for p in recorder.messages if p.room == broadcast])
    for secret in (SECRET_TITLE, SECRET_AMOUNT, "M-777", room.name, room.ref):
        assert secret not in everything_outside


def test_the_private_broadcast_line_in_slack_says_only_key_and_commander(plan: Plan) -> None:
    renderers = SlackRenderers()
    register_core_renderers(renderers, plan, ManualClock(START))
    data = messages.PrivateAnnouncement("OOR-7", "U01ALICE")
    rendered = renderers.render(ChatMessage(messages.PRIVATE_ANNOUNCEMENT, "x", data))
    assert (
        rendered.text == "🔒 A private incident *OOR-7* was opened; its commander is <@U01ALICE>."
    )


def test_other_types_stay_public_and_are_announced_as_before(
    app: OorApp, recorder: ChatRecorder
) -> None:
    post_event(app)  # payment_failure: not private in this plan
    incident = app.incidents.get(1)
    assert incident is not None and not incident.private
    assert incident.channel_id is not None and not recorder.rooms[incident.channel_id].private
    broadcast = recorder.room_named("#payments-incidents")
    assert len(recorder.in_room(broadcast, messages.ANNOUNCEMENT)) == 1


def test_declared_private_opens_private_without_inviting_the_declarer(
    app: OorApp, recorder: ChatRecorder, plan: Plan
) -> None:
    ingest = IngestService(app.db, plan)  # the unchanged plan: payment_failure is public
    event = OorEvent(
        source="slack",
        dedup_key="command:trigger-1",
        type=OorType.PAYMENT_FAILURE,
        title="Card data in logs",
        origin="U09OUTSIDER",
        private=True,
    )
    ingest.ingest([event], now=START)
    app.worker.run_due_jobs()
    incident = app.incidents.get(1)
    assert incident is not None and incident.private and incident.channel_id is not None
    room = recorder.rooms[incident.channel_id]
    assert room.private and "U09OUTSIDER" not in room.members


def _rooms_of(recorder: ChatRecorder, number: int) -> list[str]:
    return [ref for ref, room in recorder.rooms.items() if room.name.startswith(f"oor-{number}-")]


def test_oor_private_moves_the_incident_once_and_oor_public_moves_it_back(
    app: OorApp, recorder: ChatRecorder
) -> None:
    post_event(app)  # a public payment_failure
    before = app.incidents.get(1)
    assert before is not None and before.channel_id is not None
    public_room = before.channel_id
    app.incidents.apply(1, "U01ALICE", _ack_by("U01ALICE"))
    app.worker.run_due_jobs()
    assert app.wiring is not None
    privacy = app.wiring.exposed["privacy"]
    assert "now private" in privacy.change(1, "U01ALICE", private=True)
    assert privacy.change(1, "U01ALICE", private=True) == "OOR-1 is already private."
    app.worker.run_due_jobs()
    moved = app.incidents.get(1)
    assert moved is not None and moved.private and moved.channel_id not in (None, public_room)
    assert moved.channel_id is not None
    private_room = recorder.rooms[moved.channel_id]
    assert private_room.private and not private_room.archived
    # The same people as the public room: the plan's responders (the commander among them).
    assert private_room.members == recorder.rooms[public_room].members
    assert set(moved.roles.values()) <= private_room.members
    # The board now lives (pinned) in the private room.
    assert moved.board_ts is not None and moved.board_ts in private_room.pinned
    # The public room got one note (naming no private room) and was archived.
    old = recorder.rooms[public_room]
    assert old.archived
    [note] = [m for m in recorder.in_room(public_room, messages.NOTICE) if "private" in m.text]
    assert "now a private incident" in note.text and private_room.name not in note.text
    assert len(_rooms_of(recorder, 1)) == 2

    # A retried move job (a crash after the move) opens no second room.
    with app.db.session() as session:
        row = session.exec(select(JobRow).where(JobRow.kind == MOVE_ROOM)).one()
        job = ClaimedJob(row.id or 0, row.kind, row.incident_id, dict(row.payload), 2)
    RoomMoves(app.db, recorder, ManualClock(START)).move_room(job)
    app.worker.run_due_jobs()
    assert len(_rooms_of(recorder, 1)) == 2
    again = app.incidents.get(1)
    assert again is not None and again.channel_id == moved.channel_id

    # Public again: a new public room, the private one archived with a note naming it.
    assert "public again" in privacy.change(1, "U01ALICE", private=False)
    app.worker.run_due_jobs()
    public_again = app.incidents.get(1)
    assert public_again is not None and not public_again.private
    assert public_again.channel_id is not None
    new_room = recorder.rooms[public_again.channel_id]
    assert not new_room.private and recorder.rooms[private_room.ref].archived
    [back] = recorder.in_room(private_room.ref, messages.NOTICE)[-1:]
    assert f"#{new_room.name}" in back.text
    assert len(_rooms_of(recorder, 1)) == 3


def _ack_by(who: str) -> Callable[[IncidentSnapshot, datetime], Change]:
    return lambda snapshot, now: lifecycle.acknowledge(snapshot, who, now)


def test_a_closed_incident_cannot_change_its_privacy(app: OorApp) -> None:
    post_event(app)
    with app.db.session() as session:
        row = repo.get_row(session, 1)
        assert row is not None
        row.status = "closed"
        session.add(row)
    assert app.wiring is not None
    with pytest.raises(CommandRefused, match="closed"):
        app.wiring.exposed["privacy"].change(1, "U01ALICE", private=True)


def test_whoever_holds_a_role_comes_along_into_the_private_room(
    app: OorApp, recorder: ChatRecorder
) -> None:
    post_event(app)
    app.incidents.apply(1, "U09NEW", _ack_by("U09NEW"))  # not in the plan: the commander now
    assert app.wiring is not None
    app.wiring.exposed["privacy"].change(1, "U09NEW", private=True)
    app.worker.run_due_jobs()
    incident = app.incidents.get(1)
    assert incident is not None and incident.channel_id is not None
    assert incident.roles.get(Role.COMMANDER) == "U09NEW"
    assert "U09NEW" in recorder.rooms[incident.channel_id].members
