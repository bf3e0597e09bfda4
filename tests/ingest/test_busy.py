"""A webhook that finds too many requests waiting to be stored is refused with 503 and
``Retry-After`` (the sender keeps the event and retries), and nothing of it is stored;
the requests already waiting are all answered 202."""

from __future__ import annotations

import asyncio
import json
import threading
from datetime import UTC, datetime

import httpx
from starlette.applications import Starlette

from bot.domain.clock import ManualClock
from bot.domain.plan import Plan
from bot.incidents.ingest_results import Delivery, IngestResult, Outcome
from bot.ingest.auth import WebhookAuthenticator
from bot.ingest.group_commit import GroupCommit
from bot.ingest.routes import WebhookDeps, webhook_routes
from bot.metrics import Metrics

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
TOKEN = "bench-token-not-a-secret"


def _body(key: str) -> bytes:
    return json.dumps({"id": key, "type": "system_crash", "title": f"Core down {key}"}).encode()


def test_a_full_waiting_line_answers_503_with_retry_after(plan: Plan) -> None:
    stored: list[str] = []
    release = threading.Event()
    started = threading.Event()

    def store_many(deliveries: list[Delivery]) -> list[IngestResult | Exception]:
        started.set()
        release.wait(5)
        stored.extend(d.events[0].dedup_key for d in deliveries)
        return [IngestResult(1, Outcome.OPENED) for _ in deliveries]

    group = GroupCommit(store_many, batches=1, max_waiting=2)
    metrics = Metrics()
    deps = WebhookDeps(
        WebhookAuthenticator(token=TOKEN), group, plan, ManualClock(NOW), metrics, lambda: None
    )
    app = Starlette(routes=webhook_routes(deps))

    async def scenario() -> tuple[list[httpx.Response], httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        headers = {"authorization": f"Bearer {TOKEN}", "content-type": "application/json"}
        async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:

            def post(key: str) -> asyncio.Future[httpx.Response]:
                return asyncio.ensure_future(
                    client.post("/webhooks/oor", content=_body(key), headers=headers)
                )

            first = post("first")
            assert await asyncio.to_thread(started.wait, 5)
            waiting = [post("w1"), post("w2")]
            for _ in range(1000):  # both queued behind the first (no clock involved)
                if group.waiting == 2:
                    break
                await asyncio.sleep(0)
            assert group.waiting == 2
            refused = await post("refused")
            release.set()
            return list(await asyncio.gather(first, *waiting)), refused

    answered, refused = asyncio.run(scenario())
    group.close()
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["error"] == "busy"
    assert [r.status_code for r in answered] == [202, 202, 202]
    assert sorted(stored) == ["first", "w1", "w2"]
    busy = metrics.webhook_events.labels(source="native", outcome="busy")._value.get()
    assert busy == 1
