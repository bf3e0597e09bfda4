"""The generic pager webhook end to end: the bot (on the test-only chat recorder) sends the
same trigger / acknowledge / resolve events as to PagerDuty, signed per Standard Webhooks,
once each, to a plain HTTP receiver; a refused attempt is retried with the same id."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import httpx
import pytest

from bot.app import OorApp, create_app
from bot.domain import lifecycle
from bot.domain.clock import ManualClock
from bot.domain.lifecycle import Change
from bot.domain.plan_file import plan_from_data
from bot.paging.feature import Paging
from bot.storage.migrate import upgrade_url
from tests.chat_recorder import ChatRecorder
from tests.conftest import make_settings
from tests.paging.conftest import Receiver
from tests.paging.test_plan_and_settings import with_paging
from tests.paging.test_signed_webhook import SECRET, signed_by_secret
from tests.support import WEBHOOK_TOKEN, ServerThread, native_event

START = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
NOWHERE = "http://127.0.0.1:9/api/"
# Pages system_crash sev1 on open; no routing key is set anywhere (none is needed).
PLAN = plan_from_data(with_paging())


@pytest.fixture
def app(sqlite_url: str, receiver: Receiver) -> Iterator[tuple[OorApp, str]]:
    upgrade_url(sqlite_url)
    settings = make_settings(
        sqlite_url, NOWHERE, pager_webhook_url=receiver.url, pager_webhook_secret=SECRET
    )
    built = create_app(
        settings, plan=PLAN, clock=ManualClock(START), start_worker=False, platform=ChatRecorder()
    )
    server = ServerThread(built.asgi).start()
    yield built, server.url
    server.stop()


def settle(app: OorApp) -> None:
    assert app.wiring is not None
    paging: Paging = app.wiring.exposed["paging"]
    for _ in range(3):
        assert paging.scan is not None
        paging.scan.scan(app.clock.now())
        app.worker.run_due_jobs()


def apply(app: OorApp, actor: str, command: Callable[..., Change]) -> None:
    app.incidents.apply(1, actor, lambda s, t: command(s, actor, t))


def test_trigger_ack_resolve_are_posted_signed_once_each(
    app: tuple[OorApp, str], receiver: Receiver
) -> None:
    bot, url = app
    clock = bot.clock
    assert isinstance(clock, ManualClock)
    event = native_event(type="system_crash", severity="sev1", occurred_at=START.isoformat())
    answer = httpx.post(
        f"{url}/webhooks/oor",
        content=json.dumps(event).encode(),
        headers={"content-type": "application/json", "authorization": f"Bearer {WEBHOOK_TOKEN}"},
    )
    assert answer.status_code == 202
    receiver.statuses = [503]  # the first attempt is refused: retried with the same id
    settle(bot)
    clock.advance(minutes=5)
    settle(bot)
    apply(bot, "U01ALICE", lifecycle.acknowledge)
    settle(bot)
    apply(bot, "U01ALICE", lambda s, a, t: lifecycle.resolve(s, a, t, "restarted"))
    settle(bot)
    settle(bot)
    got = [(json.loads(r.body), r.headers) for r in receiver.received]
    assert [(b["type"], b["dedup_key"]) for b, _ in got] == [
        ("trigger", "oor-bot/OOR-1"),
        ("trigger", "oor-bot/OOR-1"),  # the retry of the refused attempt
        ("acknowledge", "oor-bot/OOR-1"),
        ("resolve", "oor-bot/OOR-1"),
    ]
    ids = [h["webhook-id"] for _, h in got]
    assert ids[0] == ids[1] and len(set(ids)) == 3  # stable per event, distinct between
    assert all(signed_by_secret(r.headers, r.body) for r in receiver.received)
    assert got[0][0]["summary"] == "OOR-1 [SEV1] System crash: Alipay channel blocked"
