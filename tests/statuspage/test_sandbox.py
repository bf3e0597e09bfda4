"""In sandbox mode (``make run`` without a Slack token) the page is served, and the
sandbox page links to it."""

from __future__ import annotations

import httpx

from tests.sandbox.ui.conftest import Sandbox, sandbox

__all__ = ["sandbox"]  # the fixture, used below by name


def test_the_sandbox_links_to_the_status_page(sandbox: Sandbox) -> None:
    page = httpx.get(f"{sandbox.url}/sandbox").text
    assert 'href="/status"' in page and "Public status page" in page
    status = httpx.get(f"{sandbox.url}/status", headers={"accept-language": "en"})
    assert status.status_code == 200
    assert "Example Pay service status" in status.text
    summary = httpx.get(f"{sandbox.url}/status/api/v2/summary.json").json()
    assert {c["id"] for c in summary["components"]} >= {"alipay", "gateway"}
    # The sandbox's host check applies: a rebinding page under another name gets nothing.
    assert httpx.get(f"{sandbox.url}/status", headers={"host": "evil.example"}).status_code == 421
