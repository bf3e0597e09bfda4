"""Sandbox mode emulates PagerDuty beside Slack (issue 13: "The sandbox shows pages sent and
lets you acknowledge one 'from the phone'"): the bot pages the emulator served under
``/sandbox/pagerduty``, the /sandbox page lists the pages, and its "Acknowledge in
PagerDuty" button makes the emulator deliver a signed ``incident.acknowledged`` webhook to
the bot, which completes step 1 for that person. Real server, real worker, real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from bot.app import SANDBOX_WEBHOOK_TOKEN, OorApp, create_app
from bot.config import Settings
from bot.domain.plan import Plan
from bot.domain.types import Step, StepState
from bot.sandbox.pagerduty.sandbox import sandbox_plan
from bot.storage.migrate import upgrade_url
from tests.support import ServerThread, free_socket, wait_for


@dataclass
class Sandbox:
    app: OorApp
    url: str

    def fire(self, **event: str) -> None:
        answer = httpx.post(
            f"{self.url}/webhooks/oor",
            json={"id": "evt-1", "title": "Payment gateway down"} | event,
            headers={"authorization": f"Bearer {SANDBOX_WEBHOOK_TOKEN}"},
        )
        assert answer.status_code == 202, answer.text

    def pages_html(self, user: str = "U01ALICE") -> str:
        state = httpx.get(f"{self.url}/sandbox/api/state", params={"user": user}).json()
        return str(state["html"]["pages"])


@pytest.fixture
def sandbox(sqlite_url: str, plan: Plan) -> Iterator[Sandbox]:
    sock = free_socket()
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=sqlite_url, port=sock.getsockname()[1]
    )
    upgrade_url(sqlite_url)
    app = create_app(settings, plan=plan)
    assert app.pagerduty_emulator is not None
    server = ServerThread(app.asgi, sock).start()
    yield Sandbox(app, server.url)
    server.stop()


def test_a_page_is_shown_and_acknowledged_from_the_phone(sandbox: Sandbox) -> None:
    pd = sandbox.app.pagerduty_emulator
    sandbox.fire(type="system_crash", severity="sev1")  # the sandbox plan pages it on open
    [page] = wait_for(lambda: pd.pages, what="a page in the emulated PagerDuty")
    assert page.dedup_key == "oor-bot/OOR-1" and page.status == "triggered"
    html = wait_for(
        lambda: (h := sandbox.pages_html()) and "Acknowledge in PagerDuty" in h and h,
        what="the page on /sandbox",
    )
    assert f'data-pd-ack="{page.id}"' in html and "oor-bot/OOR-1" in html

    answer = httpx.post(
        f"{sandbox.url}/sandbox/api/pagerduty/acknowledge",
        json={"page": page.id, "user": "U01ALICE"},
    )
    assert answer.status_code == 200, answer.text
    assert "as alice@example.com; webhook: HTTP 2" in answer.json()["message"]
    [delivery] = pd.deliveries
    assert delivery.event_type == "incident.acknowledged"
    assert delivery.url == f"{sandbox.url}/webhooks/pagerduty"

    def responded_by_alice() -> bool:
        incident = sandbox.app.incidents.get(1)
        assert incident is not None
        step = incident.step(Step.RESPOND)
        return step.state is StepState.DONE and step.completed_by == "U01ALICE"

    wait_for(responded_by_alice, what="step 1 done by Alice, from PagerDuty")
    html = sandbox.pages_html()
    assert "acknowledged by Alice Wang" in html and "Acknowledge in PagerDuty" not in html
    # Acknowledging again changes nothing and says so.
    again = httpx.post(
        f"{sandbox.url}/sandbox/api/pagerduty/acknowledge",
        json={"page": page.id, "user": "U02BOB"},
    )
    assert again.status_code == 422 and "acknowledged already" in again.json()["message"]
    assert len(pd.deliveries) == 1


def test_the_sandbox_board_names_whoever_is_on_call(sandbox: Sandbox) -> None:
    """The sandbox plan invites whoever is on call on "Payments primary" (Bob or Erin,
    weekly) to a system crash."""
    sandbox.fire(type="system_crash", severity="sev3")  # no page at sev3, still on call
    slack = sandbox.app.emulator

    def board() -> str:
        incident = sandbox.app.incidents.get(1)
        if incident is None or not incident.board_ts or not incident.channel_id:
            return ""
        [message] = [m for m in slack.messages(incident.channel_id) if m["ts"] == incident.board_ts]
        return str(message["blocks"])

    text = wait_for(lambda: (b := board()) and "On call now" in b and b, what="on call, on board")
    assert "schedule PSANDBX: <@U02BOB>" in text or "schedule PSANDBX: <@U05ERIN>" in text
    assert sandbox.app.pagerduty_emulator.pages == []


def test_an_unknown_page_or_person_is_refused(sandbox: Sandbox) -> None:
    answer = httpx.post(
        f"{sandbox.url}/sandbox/api/pagerduty/acknowledge", json={"page": "PX", "user": "U01ALICE"}
    )
    assert answer.status_code == 400 and "no page PX" in answer.json()["message"]
    answer = httpx.post(
        f"{sandbox.url}/sandbox/api/pagerduty/acknowledge", json={"page": "PX", "user": "UNOBODY"}
    )
    assert answer.status_code == 400 and "no email for UNOBODY" in answer.json()["message"]


def test_a_plan_with_its_own_paging_is_kept(plan: Plan) -> None:
    paged = sandbox_plan(plan)
    assert paged.paging.default_routing_key == "OOR_SANDBOX_PD_ROUTING_KEY"
    assert sandbox_plan(paged) is paged
