"""Who is on call, on the status board (issue 13: "invites them and shows 'on call now' on
the board"; "if PagerDuty cannot be reached, the plan's fixed responders are used and the
board says so"). Over real HTTP: the bot against the Slack emulator (the board as Slack
stores it) and the PagerDuty emulator (the schedules of tests/pagerduty/conftest.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from bot.app import OorApp, create_app
from bot.domain.clock import ManualClock
from bot.domain.plan_file import plan_from_data
from bot.paging.feature import Paging
from bot.sandbox.emulator import Emulator, EmulatorServer
from bot.sandbox.pagerduty import PagerDutyEmulator, PagerDutyServer
from bot.storage.migrate import upgrade_url
from tests.conftest import make_settings, without_slack_rate_limits
from tests.pagerduty.conftest import ROUTING_KEY, TOKEN
from tests.paging.test_plan_and_settings import with_paging
from tests.support import WEBHOOK_TOKEN, ServerThread, native_event

# system_crash's tech role: U02BOB, pagerduty:schedule/PSCHED1 and level 2 of
# pagerduty:escalation_policy/PEPOL01 (Carol).
PLAN = plan_from_data(with_paging())


@dataclass
class Bot:
    app: OorApp
    url: str
    slack: Emulator

    def open(self) -> None:
        body = native_event(
            type="system_crash", severity="sev1", title="Payments API down",
            occurred_at=self.app.clock.now().isoformat(),
        )  # fmt: skip
        answer = httpx.post(
            f"{self.url}/webhooks/oor",
            content=json.dumps(body).encode(),
            headers={
                "content-type": "application/json",
                "authorization": f"Bearer {WEBHOOK_TOKEN}",
            },
        )
        assert answer.status_code == 202, answer.text

    def settle(self, clock: ManualClock) -> None:
        """What the scheduler and the outbox would do over the next few seconds."""
        assert self.app.wiring is not None
        paging: Paging = self.app.wiring.exposed["paging"]
        for _ in range(4):
            assert paging.scan is not None
            paging.scan.scan(clock.now())
            self.app.worker.run_due_jobs()
            clock.advance(seconds=3)  # a job waiting for the room runs again

    def board(self) -> str:
        """The pinned board's blocks, as Slack holds them (mrkdwn text)."""
        incident = self.app.incidents.get(1)
        assert incident is not None and incident.channel_id and incident.board_ts
        [board] = [
            m for m in self.slack.messages(incident.channel_id) if m["ts"] == incident.board_ts
        ]
        return "\n".join(
            str(block["text"]["text"])
            for block in board["blocks"]
            if block.get("type") == "section" and block.get("text")
        )


@pytest.fixture
def bot(
    database_url: str,
    server: PagerDutyServer,
    emu: PagerDutyEmulator,
    clock: ManualClock,
    emulator: Emulator,
    emulator_server: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Bot]:
    monkeypatch.setenv("OOR_PD_KEY_CRASH", ROUTING_KEY)
    without_slack_rate_limits(emulator)  # the bot runs on a ManualClock
    upgrade_url(database_url)
    settings = make_settings(
        database_url,
        emulator_server.api_url,
        pagerduty_api_token=TOKEN,
        pagerduty_api_url=server.api_url,
        pagerduty_events_url=server.events_url,
    )
    app = create_app(settings, plan=PLAN, clock=clock, start_worker=False)
    http = ServerThread(app.asgi).start()
    yield Bot(app, http.url, emulator)
    http.stop()


def test_the_board_names_whoever_is_on_call_now_per_target(
    bot: Bot, emu: PagerDutyEmulator, clock: ManualClock
) -> None:
    """Monday 10:00 UTC: Bob's week on PSCHED1 has begun, Carol is level 2 of PEPOL01; both
    are in the Slack workspace by email, so the board mentions them."""
    clock.advance(hours=9)
    bot.open()
    bot.settle(clock)
    assert (
        "*On call now* schedule PSCHED1: <@U02BOB> · "
        "escalation policy PEPOL01 (level 2): <@U03CAROL>"
    ) in bot.board()
    incident = bot.app.incidents.get(1)
    assert incident is not None and incident.channel_id is not None
    assert "U03CAROL" in bot.slack.members(incident.channel_id)


def test_someone_on_call_without_a_slack_account_is_named(
    bot: Bot, emu: PagerDutyEmulator, clock: ManualClock
) -> None:
    """Alice's week (before Monday 09:00): PagerDuty's Alice has an email Slack does not
    know, so the board gives her name instead of a mention."""
    with emu._lock:  # PagerDuty's Alice signs in with another address than Slack's
        emu.users["PALICE1"].email = "alice.martin@elsewhere.example"
    bot.open()
    bot.settle(clock)
    assert "schedule PSCHED1: Alice Martin (not found in chat)" in bot.board()


def test_pagerduty_unreachable_the_board_says_fixed_responders_then_who_is_on_call(
    bot: Bot, emu: PagerDutyEmulator, clock: ManualClock
) -> None:
    clock.advance(hours=9)
    emu.faults.add("rest.*", status=503)
    bot.open()
    bot.settle(clock)
    board = bot.board()
    assert "*On call now* PagerDuty unreachable — fixed responders used" in board
    assert "<@U03CAROL>" not in board
    incident = bot.app.incidents.get(1)
    assert incident is not None and incident.channel_id is not None
    assert "U02BOB" in bot.slack.members(incident.channel_id)  # the fixed responder
    emu.faults.clear()
    clock.advance(minutes=5)
    bot.settle(clock)
    board = bot.board()
    assert "unreachable" not in board
    assert "escalation policy PEPOL01 (level 2): <@U03CAROL>" in board
