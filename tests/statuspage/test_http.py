"""The page over HTTP: ETag and 304, caching headers, no cookies, the cache's rebuilds."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable

import pytest

from bot.domain.plan import Plan
from bot.statuspage.cache import Document, VersionedCache
from tests.statuspage.harness import status_bot

PATHS = (
    "/status",
    "/status/history.atom",
    "/status/api/v2/summary.json",
    "/status/api/v2/status.json",
    "/status/api/v2/components.json",
    "/status/api/v2/incidents.json",
    "/status/api/v2/incidents/unresolved.json",
    "/status/api/v2/scheduled-maintenances.json",
)


@pytest.mark.parametrize("path", PATHS)
def test_etag_and_304(sqlite_url: str, plan: Plan, path: str) -> None:
    with status_bot(sqlite_url, plan) as bot:
        first = bot.get(path)
        assert first.status_code == 200
        etag = first.headers["etag"]
        assert etag.startswith('"') and etag.endswith('"')
        assert first.headers["cache-control"] == "public, max-age=10"
        assert first.headers["vary"] == "Accept-Language"
        assert "set-cookie" not in first.headers

        again = bot.get(path, **{"if-none-match": etag})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == etag
        assert bot.get(path, **{"if-none-match": f'"other", W/{etag}'}).status_code == 304
        assert bot.get(path, **{"if-none-match": '"other"'}).status_code == 200

        # An announced incident changes what the page says: a new ETag, the old one a 200.
        bot.clock.advance(minutes=5)
        bot.publish(bot.fire())
        changed = bot.get(path, **{"if-none-match": etag})
        assert changed.status_code == 200 and changed.headers["etag"] != etag


def test_content_types_and_headers(sqlite_url: str, plan: Plan) -> None:
    with status_bot(sqlite_url, plan) as bot:
        page = bot.get("/status")
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        policy = page.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "script" not in policy
        assert "img-src 'self' https://pay.example.com" in policy  # the plan's logo
        assert '<img src="https://pay.example.com/logo.png"' in page.text
        assert "<script" not in page.text
        feed = bot.get("/status/history.atom")
        assert feed.headers["content-type"] == "application/atom+xml; charset=utf-8"
        summary = bot.get("/status/api/v2/summary.json")
        assert summary.headers["content-type"] == "application/json; charset=utf-8"
        assert summary.headers["access-control-allow-origin"] == "*"
        assert bot.get("/status/api/v2/nothing.json").status_code == 404
        assert bot.client.post("/status").status_code == 405
        assert bot.client.head("/status").status_code == 200


def test_the_support_contact_and_the_plan_texts_are_shown(sqlite_url: str, plan: Plan) -> None:
    with status_bot(sqlite_url, plan) as bot:
        english = bot.get("/status?lang=en").text
        assert "<title>Example Pay service status</title>" in english
        assert "Customer Service" in english and 'href="tel:95000"' in english
        assert "Checkout and payment APIs" in english  # a component's description
        assert "All Systems Operational" in english
        chinese = bot.get("/status?lang=zh-CN").text
        assert "客户服务中心" in chinese and "所有服务运行正常" in chinese


def test_requests_between_checks_cost_no_query(sqlite_url: str, plan: Plan) -> None:
    """Under load a request is a lookup: the database is asked at most once a second."""
    with status_bot(sqlite_url, plan) as bot:
        now = [100.0]
        cache = bot.page.cache
        cache._monotonic = lambda: now[0]  # the cache's clock, moved by hand
        for _ in range(50):
            assert bot.client.get("/status/api/v2/summary.json").status_code == 200
        assert cache.checks == 1 and cache.rebuilds == 1
        bot.fire()
        # Within the second the page may be a second old ...
        assert bot.client.get("/status/api/v2/status.json").json()["status"]["indicator"] == (
            "none"
        )
        now[0] += 1.0
        # ... then the check sees the change and rebuilds once.
        for _ in range(20):
            answer = bot.client.get("/status/api/v2/status.json")
            assert answer.json()["status"]["indicator"] == "major"
        assert cache.checks == 2 and cache.rebuilds == 2
        now[0] += 5.0
        bot.client.get("/status")
        assert cache.checks == 3 and cache.rebuilds == 2  # nothing changed: no rebuild


def test_a_failing_database_keeps_the_last_page_up() -> None:
    state = {"version": 1, "fail": False}
    now = [0.0]

    def version() -> Hashable:
        if state["fail"]:
            raise ConnectionError("database away")
        return state["version"]

    cache = VersionedCache(version, lambda: dict(state), monotonic=lambda: now[0])

    def render(snapshot: dict[str, object]) -> Document:
        return Document(str(snapshot["version"]).encode(), '"x"', "text/plain")

    async def read() -> bytes:
        return (await cache.get("doc", render)).body

    assert asyncio.run(read()) == b"1"
    state["fail"] = True
    now[0] += 2
    assert asyncio.run(read()) == b"1"
    state.update(fail=False, version=2)
    now[0] += 2
    assert asyncio.run(read()) == b"2"


def test_no_status_page_section_no_routes(sqlite_url: str, plan: Plan) -> None:
    bare = plan.model_copy(update={"status_page": None})
    from starlette.testclient import TestClient

    from bot.app import create_app
    from bot.storage.migrate import upgrade_url
    from tests.conftest import make_settings
    from tests.statuspage.harness import NOWHERE

    upgrade_url(sqlite_url)
    app = create_app(make_settings(sqlite_url, NOWHERE), plan=bare, start_worker=False)
    try:
        assert TestClient(app.asgi).get("/status").status_code == 404
    finally:
        app.db.dispose()
