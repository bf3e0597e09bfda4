"""Paging end to end: the bot (on the test-only chat recorder, no Slack) pages through the
PagerDuty emulator over real HTTP, and PagerDuty's signed webhooks come back to the bot's
``POST /webhooks/pagerduty``; both databases; time moved by the shared ManualClock.

The issue's "done when": a system_crash sev1 pages exactly once with the incident's dedup
key, even with a second replica scanning and a restart; ``/oor ack`` sends one acknowledge
and resolving one resolve; a page acknowledged in PagerDuty completes step 1 for that
person; a deadline missed twice pages the escalation once; PagerDuty down (5xx) delays
only the page.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

import httpx
import pytest

from bot.app import OorApp, create_app
from bot.domain import lifecycle
from bot.domain.clock import ManualClock
from bot.domain.incident import IncidentSnapshot
from bot.domain.lifecycle import Change
from bot.domain.plan_file import plan_from_data
from bot.domain.types import Step, StepState
from bot.paging.feature import Paging
from bot.sandbox.pagerduty import PagerDutyEmulator, PagerDutyServer
from bot.storage.migrate import upgrade_url
from tests.chat_recorder import ChatRecorder
from tests.conftest import make_settings
from tests.pagerduty.conftest import CARDS_KEY, ROUTING_KEY, TOKEN
from tests.paging.test_plan_and_settings import with_paging
from tests.support import WEBHOOK_TOKEN, ServerThread, native_event

NOWHERE = "http://127.0.0.1:9/api/"  # no Slack: every chat side effect goes to the recorder
SECRET = "pd-subscription-secret"
PLAN = plan_from_data(with_paging())  # system_crash sev1/sev2 page on open


@dataclass
class Bot:
    app: OorApp
    recorder: ChatRecorder
    url: str

    @property
    def paging(self) -> Paging:
        assert self.app.wiring is not None
        paging: Paging = self.app.wiring.exposed["paging"]
        return paging

    def open(self, **event: object) -> None:
        body = native_event(
            type="system_crash",
            severity="sev1",
            title="Payments API down",
            occurred_at=self.app.clock.now().isoformat(),
        )
        answer = httpx.post(
            self.url.replace("/webhooks/pagerduty", "/webhooks/oor"),
            content=json.dumps(body | event).encode(),
            headers={
                "content-type": "application/json",
                "authorization": f"Bearer {WEBHOOK_TOKEN}",
            },
        )
        assert answer.status_code == 202, answer.text

    def settle(self, now: datetime) -> None:
        """What the scheduler and the outbox would do now."""
        for _ in range(3):
            assert self.paging.scan is not None
            self.paging.scan.scan(now)
            self.app.worker.run_due_jobs()

    def apply(
        self, actor: str, command: Callable[[IncidentSnapshot, str, datetime], Change]
    ) -> None:
        self.app.incidents.apply(1, actor, lambda s, t: command(s, actor, t))


def build(database_url: str, server: PagerDutyServer, clock: ManualClock) -> OorApp:
    settings = make_settings(
        database_url,
        NOWHERE,
        pagerduty_api_token=TOKEN,
        pagerduty_api_url=server.api_url,
        pagerduty_events_url=server.events_url,
        pagerduty_webhook_secret=SECRET,
    )
    recorder = ChatRecorder(
        emails={"alice@example.com": "U01ALICE", "bob@example.com": "U02BOB"},
        groups={"payments-oncall": ["U05ERIN"]},
    )
    return create_app(settings, plan=PLAN, clock=clock, start_worker=False, platform=recorder)


@pytest.fixture
def bot(
    database_url: str,
    server: PagerDutyServer,
    emu: PagerDutyEmulator,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Bot]:
    monkeypatch.setenv("OOR_PD_KEY_CRASH", ROUTING_KEY)
    monkeypatch.setenv("OOR_PD_KEY", CARDS_KEY)
    upgrade_url(database_url)
    app = build(database_url, server, clock)
    http = ServerThread(app.asgi).start()
    assert isinstance(app.platform, ChatRecorder)
    yield Bot(app, app.platform, f"{http.url}/webhooks/pagerduty")
    http.stop()


def actions(emu: PagerDutyEmulator) -> list[tuple[str, str, str]]:
    return [(e["event_action"], e["dedup_key"], e["outcome"]) for e in emu.events]


def test_a_sev1_crash_pages_once_with_the_incident_s_dedup_key(
    bot: Bot, emu: PagerDutyEmulator, clock: ManualClock, database_url: str, server: PagerDutyServer
) -> None:
    bot.open()
    bot.settle(clock.now())
    [page] = emu.pages
    assert (page.dedup_key, page.routing_key, page.severity) == (
        "oor-bot/OOR-1",
        ROUTING_KEY,
        "critical",
    )
    assert page.summary == "OOR-1 [SEV1] System crash: Payments API down"
    assert page.custom_details is not None
    assert page.custom_details["incident"] == "OOR-1"
    # The platform's web address of the room (ChatPlatform.room_link), for the phone app.
    [link] = page.links
    assert link["href"].startswith("https://chat.example/rooms/")
    # A second replica on the same database, and a restart: nothing pages again.
    replica = build(database_url, server, clock)
    assert replica.wiring is not None
    replica.wiring.exposed["paging"].scan.scan(clock.now())
    replica.worker.run_due_jobs()
    clock.advance(minutes=1)
    bot.settle(clock.now())
    assert actions(emu) == [("trigger", "oor-bot/OOR-1", "created")]


def test_a_type_and_severity_the_plan_does_not_page_sends_nothing(
    bot: Bot, emu: PagerDutyEmulator, clock: ManualClock
) -> None:
    bot.open(severity="sev3")
    bot.settle(clock.now())
    assert emu.events == []


def test_ack_acknowledges_once_and_resolving_resolves_once_and_reopening_pages_again(
    bot: Bot, emu: PagerDutyEmulator, clock: ManualClock
) -> None:
    bot.open()
    bot.settle(clock.now())
    clock.advance(minutes=2)
    bot.apply("U01ALICE", lifecycle.acknowledge)
    bot.apply("U01ALICE", lifecycle.acknowledge)  # a repeat changes nothing
    bot.settle(clock.now())
    clock.advance(minutes=30)
    bot.apply("U02BOB", lambda s, a, t: lifecycle.resolve(s, a, t, "restarted the gateway"))
    bot.settle(clock.now())
    assert actions(emu) == [
        ("trigger", "oor-bot/OOR-1", "created"),
        ("acknowledge", "oor-bot/OOR-1", "acknowledged"),
        ("resolve", "oor-bot/OOR-1", "resolved"),
    ]
    bot.apply("U01ALICE", lifecycle.reopen)
    bot.settle(clock.now())
    assert [(p.dedup_key, p.status) for p in emu.pages] == [
        ("oor-bot/OOR-1", "resolved"),
        ("oor-bot/OOR-1", "triggered"),  # the same key opens a new alert after a resolve
    ]


def test_pagerduty_down_delays_only_the_page(
    bot: Bot, emu: PagerDutyEmulator, clock: ManualClock
) -> None:
    emu.faults.add("events.enqueue", status=503)
    bot.open()
    bot.settle(clock.now())
    incident = bot.app.incidents.get(1)
    assert incident is not None and incident.channel_id is not None  # opened as today
    assert emu.pages == []
    emu.faults.clear()
    clock.advance(minutes=5)  # past the outbox's backoff
    bot.settle(clock.now())
    assert actions(emu) == [("trigger", "oor-bot/OOR-1", "created")]


def test_an_ack_waits_for_the_trigger_it_follows(
    bot: Bot, emu: PagerDutyEmulator, clock: ManualClock
) -> None:
    """The acknowledge must not overtake a trigger PagerDuty has not taken yet: it would be
    dropped (no open alert) and the page would ring on."""
    emu.faults.add("events.enqueue", status=503, times=1)
    bot.open()
    bot.settle(clock.now())
    bot.apply("U01ALICE", lifecycle.acknowledge)
    bot.settle(clock.now())
    clock.advance(minutes=5)
    bot.settle(clock.now())
    assert [a for a, _, _ in actions(emu)] == ["trigger", "acknowledge"]
    assert emu.pages[0].status == "acknowledged"


def test_acknowledged_in_pagerduty_completes_step_1_for_that_person(
    bot: Bot, emu: PagerDutyEmulator, clock: ManualClock
) -> None:
    emu.add_webhook_subscription(bot.url, secret=SECRET)
    bot.open(severity="sev2")  # paged, and nobody has acknowledged in chat
    bot.settle(clock.now())
    [delivery] = emu.acknowledge_from_phone(emu.pages[0].id, "alice@example.com")
    assert delivery.status == 202
    bot.settle(clock.now())
    incident = bot.app.incidents.get(1)
    assert incident is not None
    respond = incident.step(Step.RESPOND)
    assert (respond.state, respond.completed_by) == (StepState.DONE, "U01ALICE")
    [entry] = [e for e in bot.app.incidents.timeline(1) if "the page in PagerDuty" in e.text]
    assert entry.text.startswith("acknowledged the page in PagerDuty (alice@example.com)")
    # PagerDuty has it acknowledged already: the bot does not tell it again.
    assert [a for a, _, _ in actions(emu)] == ["trigger"]
    # A redelivery changes nothing.
    again = emu.redeliver(delivery.webhook_id)
    assert json.loads(again.response) == {"status": "duplicate"}


def test_a_deadline_missed_twice_pages_the_escalation_once(
    bot: Bot, emu: PagerDutyEmulator, clock: ManualClock
) -> None:
    bot.open(severity="sev3")  # not paged on open: only the escalation pages
    bot.settle(clock.now())
    reminders = bot.app.wiring.exposed["reminders"]  # type: ignore[union-attr]
    for _ in range(3):
        clock.advance(minutes=20)  # system_crash sev3: respond within 15m
        reminders.scanner.scan()
        bot.settle(clock.now())
    assert actions(emu) == [("trigger", "oor-bot/OOR-1/escalation", "created")]
    assert emu.pages[0].summary.startswith("ESCALATION: OOR-1 [SEV3]")


def test_whoever_is_on_call_now_is_invited_and_named(
    bot: Bot, emu: PagerDutyEmulator, clock: ManualClock
) -> None:
    """The plan's system_crash tech role names pagerduty:schedule/PSCHED1 and level 2 of
    pagerduty:escalation_policy/PEPOL01: Bob's week has begun (Mondays 09:00 UTC), Carol is
    level 2 and has no chat account."""
    clock.advance(hours=9)
    bot.open()
    bot.settle(clock.now())
    incident = bot.app.incidents.get(1)
    assert incident is not None and incident.channel_id is not None
    invites = [people for name, (room, *people) in bot.recorder.calls if name == "invite"]
    assert [("U02BOB",)] in invites  # beside the fixed responders' invitation
    [said] = [e.text for e in bot.app.incidents.timeline(1) if e.text.startswith("On call")]
    assert said == (
        "On call now in PagerDuty, invited: Bob Durand (bob@example.com, "
        "pagerduty:schedule/PSCHED1); not found in chat by email: Carol Chen (carol@example.com)"
    )
    assert [e.actor for e in bot.app.incidents.timeline(1) if e.text == said] == ["pagerduty"]
    # Asked once: later scans do not ask again.
    calls = len(emu.calls_to("rest.oncalls"))
    bot.settle(clock.now())
    assert len(emu.calls_to("rest.oncalls")) == calls


def test_pagerduty_unreachable_leaves_the_fixed_responders_and_says_so(
    bot: Bot, emu: PagerDutyEmulator, clock: ManualClock
) -> None:
    emu.faults.add("rest.*", status=503)
    bot.open()
    bot.settle(clock.now())
    incident = bot.app.incidents.get(1)
    assert incident is not None and incident.channel_id is not None  # never delayed
    assert {"U01ALICE", "U02BOB"} <= bot.recorder.rooms[incident.channel_id].members
    [said] = [e.text for e in bot.app.incidents.timeline(1) if "cannot be reached" in e.text]
    assert said.startswith("PagerDuty cannot be reached now (HTTP 503): the plan's fixed")
    emu.faults.clear()
    clock.advance(minutes=5)
    bot.settle(clock.now())
    assert any(e.text.startswith("On call now") for e in bot.app.incidents.timeline(1))
