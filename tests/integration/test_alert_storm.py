"""Alert storms stay readable, over real HTTP against the emulator (which enforces Slack's
per-channel posting rate): every event is accepted and stored, the channel gets a summary a
window, the board the count, the post-mortem the summary; and one incident's throttled
channel does not hold up another's."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlmodel import func, select

from bot.domain.clock import ManualClock
from bot.domain.plan import Plan
from bot.postmortems.service import PostmortemService
from bot.sandbox.emulator import Emulator, EmulatorServer
from bot.storage.models import EventRow
from tests.conftest import RunningBot, start_bot
from tests.support import WEBHOOK_TOKEN, native_event, post_native, wait_for

GROUP_KEY = '{}:{alertname="PaymentChannelErrorRate", channel="alipay"}'


def _notification(i: int) -> bytes:
    """One Alertmanager notification carrying one alert of the storm's group."""
    alert = {
        "status": "firing",
        "labels": {"alertname": "PaymentChannelErrorRate", "instance": f"pay-gw-{i}"},
        "annotations": {"summary": f"Alipay error rate on pay-gw-{i}"},
        "startsAt": "2026-11-25T19:49:24Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "",
        "fingerprint": f"{i:016x}",
    }
    return json.dumps(
        {
            "version": "4",
            "receiver": "oor",
            "status": "firing",
            "groupKey": GROUP_KEY,
            "alerts": [alert],
            "commonLabels": {"oor_type": "payment_failure", "channel": "alipay"},
            "externalURL": "http://alertmanager.example:9093",
            "truncatedAlerts": 0,
        }
    ).encode()


def _bot_messages(emulator: Emulator, channel_id: str) -> list[dict[str, Any]]:
    return [m for m in emulator.messages(channel_id) if m.get("user") == emulator.bot_user_id]


def _board(emulator: Emulator, channel_id: str) -> str:
    ts = emulator.pins(channel_id)[0]
    board = next(m for m in emulator.messages(channel_id) if m["ts"] == ts)
    return json.dumps(board["blocks"], ensure_ascii=False)


def _channel_of(emulator: Emulator, number: int) -> str:
    def find() -> str | None:
        for channel in emulator.snapshot()["channels"]:
            if channel["name"].startswith(f"oor-{number}-") and emulator.pins(channel["id"]):
                return str(channel["id"])
        return None

    return wait_for(find, what=f"OOR-{number}'s channel with its board")


def _storm(bot: RunningBot, count: int) -> list[httpx.Response]:
    headers = {"content-type": "application/json", "authorization": f"Bearer {WEBHOOK_TOKEN}"}
    with httpx.Client(base_url=bot.url, headers=headers, timeout=30) as client:

        def send(i: int) -> httpx.Response:
            return client.post("/webhooks/alertmanager", content=_notification(i))

        with ThreadPoolExecutor(8) as pool:
            return list(pool.map(send, range(1, count + 1)))


def test_600_grouped_events_in_seconds_leave_the_channel_readable(
    database_url: str, emulator_server: EmulatorServer, emulator: Emulator, plan: Plan
) -> None:
    # Near real time (webhook signatures are checked against it); moved past the window.
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    bot = start_bot(database_url, emulator_server.api_url, plan, clock=clock)
    try:
        opened = _storm(bot, 1)[0]
        assert opened.json() == {"incident_id": "OOR-1", "status": "opened"}
        cid = _channel_of(emulator, 1)
        before = len(_bot_messages(emulator, cid))

        responses = _storm(bot, 601)[1:]  # 600 more alerts of the group
        assert [r.status_code for r in responses] == [202] * 600
        assert {r.json()["status"] for r in responses} == {"grouped"}
        with bot.app.db.session() as session:
            assert session.exec(select(func.count()).select_from(EventRow)).one() == 601

        # The board is current within seconds: the count, first and last seen, the latest.
        clock.advance(seconds=6)
        wait_for(lambda: "601 events" in _board(emulator, cid), what="the count on the board")
        assert "first seen" in _board(emulator, cid) and "Latest: Alipay error rate" in _board(
            emulator, cid
        )
        clock.advance(seconds=25)  # the window closes

        def summary() -> list[str]:
            return [m["text"] for m in _bot_messages(emulator, cid) if m["text"][:1] == "📈"]

        (line,) = wait_for(summary, what="the storm's summary")
        assert line.startswith("📈 600 more monitoring events, ")
        new = len(_bot_messages(emulator, cid)) - before
        assert 1 <= new <= 10, [m["text"] for m in _bot_messages(emulator, cid)]

        service = bot.app.wiring.exposed["postmortems"] if bot.app.wiring else None
        assert isinstance(service, PostmortemService)
        markdown = service.compile(1, "U01ALICE").markdown
        timeline = markdown.split("## Timeline", 1)[1]
        assert "600 more monitoring events" in timeline
        assert "The monitors sent 601 events" in timeline
        assert timeline.count("\n- `") <= 10  # a handful of lines, not 600
    finally:
        bot.stop()


def test_a_throttled_channel_does_not_hold_up_another_incidents_channel(
    database_url: str, emulator_server: EmulatorServer, emulator: Emulator, plan: Plan
) -> None:
    # Every channel may post once, then only once an hour: any second post is a 429 with a
    # long Retry-After (the shape of Slack's per-channel limit, made slow).
    emulator.rate_limits.set_per_channel("chat.postMessage", per_second=1 / 3600, burst=1)
    bot = start_bot(database_url, emulator_server.api_url, plan)
    try:
        post_native(bot.url, native_event(group_key="storm", severity="sev3"))
        storm = _channel_of(emulator, 1)  # its board used the channel's one post
        raised = post_native(bot.url, native_event(group_key="storm", severity="sev1"))
        assert raised.json()["status"] == "grouped"  # its notice is said at once: a 429

        def throttled() -> set[str]:
            calls = emulator.calls_to("chat.postMessage")
            return {str(c.args.get("channel")) for c in calls if c.http_status == 429}

        wait_for(throttled, what="a 429")
        quiet = post_native(bot.url, native_event(title="Card payments failing"))
        assert quiet.json() == {"incident_id": "OOR-2", "status": "opened"}
        # Its board is posted and pinned within seconds, not after the storm's hour.
        board = _board(emulator, _channel_of(emulator, 2))
        assert "Card payments failing" in board
        assert storm in throttled()  # the storm's notice met the limit and waits on its own
    finally:
        bot.stop()
