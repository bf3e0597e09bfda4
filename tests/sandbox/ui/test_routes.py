"""The sandbox page and its endpoints, against a real bot in sandbox mode."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from slack_sdk import WebClient

from bot.sandbox.workspace import SANDBOX_BOT_TOKEN
from tests.sandbox.ui.conftest import Sandbox
from tests.support import wait_for

ALICE = "U01ALICE"


def state(sandbox: Sandbox, channel: str = "", user: str = ALICE) -> dict[str, Any]:
    response = httpx.get(
        f"{sandbox.url}/sandbox/api/state", params={"channel": channel, "user": user}
    )
    assert response.status_code == 200, response.text
    return response.json()


def post(sandbox: Sandbox, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{sandbox.url}/sandbox/api/{path}", json=body, timeout=20)


def fire(sandbox: Sandbox, **fields: str) -> str:
    body = {"type": "payment_failure", "title": "Alipay channel blocked"} | fields
    response = post(sandbox, "event", body)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "opened"
    number = str(response.json()["incident_id"]).removeprefix("OOR-")

    def channel() -> str | None:
        for c in sandbox.emulator.snapshot()["channels"]:
            if c["name"].startswith(f"oor-{number}-") and c["pins"]:
                return str(c["id"])
        return None

    return str(wait_for(channel, what="incident channel with its board"))


def board_html(sandbox: Sandbox, channel: str) -> str:
    return str(state(sandbox, channel)["html"]["messages"])


def test_page_renders_the_workspace(sandbox: Sandbox) -> None:
    response = httpx.get(f"{sandbox.url}/sandbox")
    assert response.status_code == 200
    page = response.text
    assert "payments-incidents" in page and "payments-review" in page
    assert "Fire an OOR event" in page and "Run drill" in page
    assert 'value="U01ALICE" selected' in page
    assert "/sandbox/assets/sandbox.js" in page
    for asset, kind in (("sandbox.js", "javascript"), ("sandbox.css", "css")):
        served = httpx.get(f"{sandbox.url}/sandbox/assets/{asset}")
        assert served.status_code == 200 and kind in served.headers["content-type"]
    assert httpx.get(f"{sandbox.url}/sandbox/assets/page.html").status_code == 404


def test_state_json_lists_incident_channels_first_newest_first(sandbox: Sandbox) -> None:
    first = fire(sandbox, title="First <script>alert(1)</script>")
    second = fire(sandbox, title="Second")
    data = state(sandbox, first)
    ids = [c["id"] for c in data["channels"]]
    assert ids[:2] == [second, first]
    assert [c["incident"] for c in data["channels"]] == [True, True, False, False]
    assert data["channel"] == first and data["user"] == ALICE
    html = data["html"]
    assert "<script>alert" not in html["messages"]
    assert "First &lt;script&gt;alert(1)&lt;/script&gt;" in html["messages"]
    assert "📌 Pinned" in html["messages"]
    assert 'data-action-id="board_ack"' in html["messages"]
    assert "alice" in html["details"] and "Runbook" in html["details"]
    assert data["modal"] is None and data["drill"] is None
    # Unknown channel and user fall back to the first of each.
    fallback = state(sandbox, "C404", "U404")
    assert fallback["channel"] == second and fallback["user"] == ALICE


@pytest.fixture
def machine_in_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's own zone set to UTC, so it differs from the plan's wherever this runs."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("machine_in_utc")
def test_message_times_show_in_the_plans_time_zone(sandbox: Sandbox) -> None:
    channel = fire(sandbox)
    wait_for(lambda: sandbox.emulator.messages(channel), what="the board")
    ts = float(sandbox.emulator.messages(channel)[0]["ts"])
    local = datetime.fromtimestamp(ts, sandbox.app.plan.tz).strftime("%H:%M:%S")
    assert sandbox.app.plan.timezone == "Asia/Shanghai"
    assert datetime.fromtimestamp(ts).strftime("%H:%M:%S") != local  # the machine's zone: UTC
    assert f">{local}<" in state(sandbox, channel)["html"]["messages"]


def test_composer_runs_help_as_an_ephemeral_reply(sandbox: Sandbox) -> None:
    channel = state(sandbox)["channel"]
    response = post(sandbox, "command", {"user": "U02BOB", "channel": channel, "text": "/oor help"})
    assert response.status_code == 200, response.text
    bob = state(sandbox, channel, "U02BOB")["html"]["messages"]
    assert "Only visible to you" in bob and "OOR Bot commands" in bob
    assert "OOR Bot commands" not in state(sandbox, channel, ALICE)["html"]["messages"]


def test_composer_runs_a_step_command(sandbox: Sandbox) -> None:
    channel = fire(sandbox)
    response = post(sandbox, "command", {"user": ALICE, "channel": channel, "text": "/oor ack"})
    assert response.status_code == 200, response.text
    wait_for(lambda: "✅ <strong>1. Rapid response" in board_html(sandbox, channel), what="ack")
    wait_for(lambda: "You have OOR-1" in board_html(sandbox, channel), what="the ephemeral reply")


def test_composer_refuses_other_commands_and_posts_plain_text(sandbox: Sandbox) -> None:
    channel = state(sandbox)["channel"]
    refused = post(sandbox, "command", {"user": ALICE, "channel": channel, "text": "/giphy x"})
    assert refused.status_code == 400 and "/oor" in refused.json()["message"]
    posted = post(sandbox, "command", {"user": ALICE, "channel": channel, "text": "hi *all*"})
    assert posted.status_code == 200
    assert "hi <strong>all</strong>" in board_html(sandbox, channel)
    not_json = httpx.post(f"{sandbox.url}/sandbox/api/command", data={"text": "/oor help"})
    assert not_json.status_code == 415


def test_fire_event_reports_invalid_fields(sandbox: Sandbox) -> None:
    response = post(sandbox, "event", {"type": "payment_failure", "title": "x", "amount": "lots"})
    assert response.status_code == 422
    assert "details.amount" in response.json()["message"]


def test_board_button_opens_a_modal_and_errors_keep_it_open(sandbox: Sandbox) -> None:
    channel = fire(sandbox)
    board_ts = sandbox.emulator.pins(channel)[0]
    click = {"user": ALICE, "channel": channel, "ts": board_ts, "value": "1"}
    response = post(sandbox, "click", click | {"action_id": "board_resolve"})
    assert response.status_code == 200, response.text
    modal = wait_for(lambda: state(sandbox, channel)["modal"], what="the resolve modal")
    assert 'name="summary"' in modal["html"] and 'name="cause"' in modal["html"]
    assert state(sandbox, channel, "U02BOB")["modal"] is None  # only on alice's screen

    empty = post(
        sandbox, "view_submission", {"user": ALICE, "view_id": modal["view_id"], "values": {}}
    )
    assert empty.status_code == 422
    assert empty.json()["errors"] == {"summary": "Say what fixed it."}
    assert "Say what fixed it." in empty.json()["modal"]["html"]

    values = {"summary": "Switched to the backup acquirer", "cause": "partner"}
    done = post(
        sandbox, "view_submission", {"user": ALICE, "view_id": modal["view_id"], "values": values}
    )
    assert done.status_code == 200, done.text
    assert done.json()["modal"] is None
    wait_for(lambda: "✅ <strong>4. Resolve" in board_html(sandbox, channel), what="step 4")
    assert state(sandbox, channel)["modal"] is None


def test_cancelled_modal_goes_away(sandbox: Sandbox) -> None:
    channel = state(sandbox)["channel"]
    post(sandbox, "command", {"user": ALICE, "channel": channel, "text": "/oor declare"})
    modal = wait_for(lambda: state(sandbox, channel)["modal"], what="the declare modal")
    closed = post(sandbox, "view_closed", {"user": ALICE, "view_id": modal["view_id"]})
    assert closed.status_code == 200
    assert state(sandbox, channel)["modal"] is None


def test_drill_runs_to_closed(sandbox: Sandbox) -> None:
    # With no pause the drill posts faster than any person and than Slack's per-channel
    # rate; at the page's default pause it runs within the emulator's Slack limits.
    sandbox.emulator.rate_limits.clear()
    response = post(sandbox, "drill", {"pause": 0})
    assert response.status_code == 200, response.text
    assert post(sandbox, "drill", {"pause": 0}).status_code == 409  # one at a time

    def finished() -> dict[str, Any]:
        drill: dict[str, Any] = state(sandbox)["drill"]
        return drill if drill["state"] != "running" else {}

    drill = wait_for(finished, timeout=60, what="the drill")
    assert drill["state"] == "closed", (drill["error"], drill["steps"])
    assert all(step["state"] == "done" for step in drill["steps"])
    channel = board_html(sandbox, drill["channel_id"])
    assert "(closed)" in channel or "Closed" in channel
    # The real step 5 and step 6: drafts approved by a second person, a published post-mortem.
    assert channel.count('✅ Approved by <span class="mention">@alice</span>') == 6
    assert 'class="file-title"' in channel and "OOR-1 post-mortem v1" in channel
    assert "Published by" in channel
    assert 'owner <span class="mention">@bob</span>' in channel  # the form's action item
    assert "Drill 1" in state(sandbox)["html"]["drill"]


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def test_shared_files_are_shown_and_served_as_inert_content(sandbox: Sandbox) -> None:
    channel = fire(sandbox)
    slack = WebClient(token=SANDBOX_BOT_TOKEN, base_url=f"{sandbox.url}/sandbox/slack/api/")
    uploads = {
        "OOR-1-postmortem-v1.md": "# OOR-1 post-mortem\n<script>alert(1)</script>\n",
        "chart.png": PNG,
        "dump.bin": b"\x00\x01\xfe\xff",
    }
    ids = {}
    for name, content in uploads.items():
        sent = slack.files_upload_v2(channel=channel, content=content, filename=name, title=name)
        ids[name] = sent["files"][0]["id"]

    html = board_html(sandbox, channel)
    assert (
        'class="file-title" href="/sandbox/files/{}"'.format(ids["OOR-1-postmortem-v1.md"]) in html
    )
    assert "# OOR-1 post-mortem\n&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<img class="file-image" src="/sandbox/files/{}"'.format(ids["chart.png"]) in html
    assert "<script>alert" not in html

    def get(name: str) -> httpx.Response:
        response = httpx.get(f"{sandbox.url}/sandbox/files/{ids[name]}")
        assert response.status_code == 200
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in response.headers["content-security-policy"]
        return response

    text = get("OOR-1-postmortem-v1.md")
    assert text.headers["content-type"] == "text/plain; charset=utf-8"
    assert text.text == uploads["OOR-1-postmortem-v1.md"]
    assert get("chart.png").headers["content-type"] == "image/png"
    binary = get("dump.bin")
    assert binary.headers["content-type"] == "application/octet-stream"
    assert binary.headers["content-disposition"].startswith("attachment;")
    assert httpx.get(f"{sandbox.url}/sandbox/files/F404").status_code == 404


def test_the_newest_private_reply_is_in_the_state(sandbox: Sandbox) -> None:
    channel = fire(sandbox)
    assert state(sandbox, channel, "U02BOB")["reply"] is None
    post(sandbox, "command", {"user": "U02BOB", "channel": channel, "text": "/oor ack"})
    reply = wait_for(lambda: state(sandbox, channel, "U02BOB")["reply"], what="bob's reply")
    assert reply["text"].startswith("You have OOR-1.")  # mrkdwn made plain
    assert state(sandbox, channel, ALICE)["reply"] is None  # only bob's screen
    post(sandbox, "command", {"user": ALICE, "channel": channel, "text": "/oor frobnicate"})
    reply = wait_for(lambda: state(sandbox, channel, ALICE)["reply"], what="alice's reply")
    assert reply["text"] == "frobnicate is not an /oor command. …"  # the gist; help follows
