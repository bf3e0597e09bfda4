"""From a webhook to an incident channel, over real HTTP, against the Slack emulator."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx

from bot.domain.clock import ManualClock
from bot.domain.plan import Plan
from bot.sandbox.emulator import Emulator, EmulatorServer
from tests.conftest import RunningBot, start_bot
from tests.support import FIXTURES, native_event, post_alertmanager, post_native, wait_for

PLAN_PAYMENT_FAILURE_RESPONDERS = {"U01ALICE", "U02BOB", "U03CAROL", "U05ERIN"}


def _incident_channel(emulator: Emulator, number: int) -> dict:
    def find() -> dict | None:
        for channel in emulator.snapshot()["channels"]:
            if str(channel["name"]).startswith(f"oor-{number}-"):
                return channel
        return None

    return wait_for(find, what=f"channel of OOR-{number}")


def _board_pinned(emulator: Emulator, channel_id: str) -> bool:
    return bool(emulator.pins(channel_id))


def test_signed_native_event_opens_a_channel_with_responders_and_a_pinned_board(
    bot: RunningBot, emulator: Emulator
) -> None:
    response = post_native(bot.url, native_event(title="Alipay channel blocked <!channel>"))
    assert response.status_code == 202, response.text
    assert response.json() == {"incident_id": "OOR-1", "status": "opened"}

    channel = _incident_channel(emulator, 1)
    assert channel["name"] == "oor-1-payment-failure-alipay-channel-blocked-channel"
    cid = channel["id"]
    wait_for(lambda: emulator.members(cid) >= PLAN_PAYMENT_FAILURE_RESPONDERS, what="invites")
    wait_for(lambda: _board_pinned(emulator, cid), what="pinned board")

    board_ts = emulator.pins(cid)[0]
    board = next(m for m in emulator.messages(cid) if m["ts"] == board_ts)
    assert board["text"].startswith("OOR-1 status board")
    rendered = json.dumps(board["blocks"], ensure_ascii=False)
    assert "Rapid response" in rendered and "Review" in rendered
    assert rendered.count("pending") == 6
    # Outside text is escaped: nobody is pinged, no link is spoofed.
    assert "<!channel>" not in rendered and "&lt;!channel&gt;" in rendered

    wait_for(lambda: emulator.channel(cid)["topic"]["value"], what="topic")
    assert "Alipay channel blocked" in emulator.channel(cid)["topic"]["value"]
    links = wait_for(lambda: {b["link"] for b in emulator.bookmarks(cid)}, what="bookmarks")
    assert "https://grafana.example.com/d/payments" in links

    broadcast = emulator.channel_by_name("payments-incidents")
    assert broadcast is not None
    announcement = wait_for(lambda: emulator.messages(broadcast["id"]), what="announcement")
    assert f"<#{cid}>" in announcement[0]["text"] and "OOR-1" in announcement[0]["text"]


def test_replayed_and_concurrent_deliveries_open_one_incident(
    bot: RunningBot, emulator: Emulator
) -> None:
    event = native_event()
    body = json.dumps(event).encode()
    from tests.support import signed_webhook_headers

    def deliver(_: int) -> httpx.Response:
        return httpx.post(
            f"{bot.url}/webhooks/oor", content=body, headers=signed_webhook_headers(body)
        )

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(deliver, range(8)))
    assert all(r.status_code == 202 for r in responses), [r.text for r in responses]
    statuses = sorted(r.json()["status"] for r in responses)
    assert statuses == ["duplicate"] * 7 + ["opened"]
    assert {r.json()["incident_id"] for r in responses} == {"OOR-1"}

    channel = _incident_channel(emulator, 1)
    wait_for(lambda: _board_pinned(emulator, channel["id"]), what="board")
    assert post_native(bot.url, event).json() == {"incident_id": "OOR-1", "status": "duplicate"}
    assert len(emulator.calls_to("conversations.create")) == 1
    oor_channels = [c for c in emulator.snapshot()["channels"] if c["name"].startswith("oor-")]
    assert len(oor_channels) == 1


def _near_now() -> ManualClock:
    # Near real time: webhook signatures are checked against the bot's clock.
    return ManualClock(datetime.now(UTC).replace(microsecond=0))


def _board(emulator: Emulator, channel_id: str) -> str:
    ts = emulator.pins(channel_id)[0]
    board = next(m for m in emulator.messages(channel_id) if m["ts"] == ts)
    return json.dumps(board["blocks"], ensure_ascii=False)


def test_related_events_with_one_group_key_join_the_open_incident(
    database_url: str, emulator_server: EmulatorServer, emulator: Emulator, plan: Plan
) -> None:
    clock = _near_now()
    bot = start_bot(database_url, emulator_server.api_url, plan, clock=clock)
    try:
        first = post_native(bot.url, native_event(group_key="alipay-outage"))
        second = post_native(
            bot.url, native_event(group_key="alipay-outage", title="Alipay refunds failing")
        )
        assert first.json() == {"incident_id": "OOR-1", "status": "opened"}
        assert second.json() == {"incident_id": "OOR-1", "status": "grouped"}
        cid = _incident_channel(emulator, 1)["id"]
        wait_for(lambda: _board_pinned(emulator, cid), what="board")
        # The board tells within seconds; the channel hears it in the window's summary.
        clock.advance(seconds=6)
        wait_for(lambda: "Latest: Alipay refunds failing" in _board(emulator, cid), what="board")
        assert "*Monitoring events 监控事件* 2 events" in _board(emulator, cid)
        clock.advance(seconds=25)

        def summary() -> list[str]:
            return [m["text"] for m in emulator.messages(cid) if m["text"].startswith("📈")]

        (line,) = wait_for(summary, what="the summary in the channel")
        assert line.startswith("📈 1 more monitoring event, ")
        assert line.endswith("; latest: Alipay refunds failing")
    finally:
        bot.stop()
    assert len(emulator.calls_to("conversations.create")) == 1


def test_alertmanager_group_opens_one_incident_and_recovery_is_reported(
    database_url: str, emulator_server: EmulatorServer, emulator: Emulator, plan: Plan
) -> None:
    clock = _near_now()
    bot = start_bot(database_url, emulator_server.api_url, plan, clock=clock)
    try:
        fixtures = FIXTURES / "alertmanager"
        firing = post_alertmanager(bot.url, (fixtures / "01-firing-two-alerts.json").read_bytes())
        assert firing.status_code == 202, firing.text
        assert firing.json() == {"incident_id": "OOR-1", "status": "opened"}
        again = post_alertmanager(bot.url, (fixtures / "01-firing-two-alerts.json").read_bytes())
        assert again.json() == {"incident_id": "OOR-1", "status": "duplicate"}

        channel = _incident_channel(emulator, 1)
        cid = channel["id"]
        assert channel["name"].startswith("oor-1-payment-failure-alipay-error-rate")
        wait_for(lambda: _board_pinned(emulator, cid), what="board")

        one_resolved = post_alertmanager(
            bot.url, (fixtures / "02-one-resolved-one-firing.json").read_bytes()
        )
        assert one_resolved.json() == {"incident_id": "OOR-1", "status": "recovered"}
        group_resolved = post_alertmanager(
            bot.url, (fixtures / "03-group-resolved.json").read_bytes()
        )
        assert group_resolved.json() == {"incident_id": "OOR-1", "status": "recovered"}

        def said(mark: str) -> list[str]:
            return [m["text"] for m in emulator.messages(cid) if m["text"].startswith(mark)]

        # The first recovery of the window is said at once…
        wait_for(lambda: said("💚"), what="the recovery notice")
        assert said("💚") == ["💚 Monitor reports recovered: Alipay error rate 35% over 5m"]
        # …the rest of the window's events in its summary.
        clock.advance(seconds=31)
        (summary,) = wait_for(lambda: said("📈"), what="the summary")
        assert summary.startswith("📈 3 more monitoring events (2 recoveries), ")
        assert summary.endswith("; latest: Recovered: Alipay error rate 31% over 5m")
        assert said("💚") == ["💚 Monitor reports recovered: Alipay error rate 35% over 5m"]
    finally:
        bot.stop()
    assert len(emulator.calls_to("conversations.create")) == 1
