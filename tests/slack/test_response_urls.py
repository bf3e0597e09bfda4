"""Replies through response_url (bot/slack/response_urls.py) against a real HTTP endpoint:
what Slack receives, one kept-alive connection for many replies, failures reported."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from slack_sdk.models.blocks import SectionBlock

from bot.slack.response_urls import ResponseUrls, reply_body
from bot.slack.views import SlackMessage


async def _endpoint(status: int = 200) -> tuple[web.AppRunner, str, list[dict[str, Any]]]:
    """Answers every POST with ``status``, recording its body and the client's port."""
    seen: list[dict[str, Any]] = []

    async def hook(request: web.Request) -> web.Response:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        seen.append({"port": peer[1] if peer else None, "json": await request.json()})
        return web.Response(status=status, text="ok" if status == 200 else "expired_url")

    app = web.Application()
    app.router.add_post("/hook/{n}", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}/hook", seen


def test_replies_arrive_as_slack_expects_and_share_one_connection() -> None:
    message = SlackMessage(text="OOR-7 acknowledged 已响应", blocks=(SectionBlock(text="hi"),))

    async def main() -> tuple[list[bool], list[dict[str, Any]]]:
        runner, url, seen = await _endpoint()
        client = ResponseUrls()
        try:
            sent = [await client.post(f"{url}/{n}", reply_body(message)) for n in range(3)]
        finally:
            await client.aclose()
            await runner.cleanup()
        return sent, seen

    sent, seen = asyncio.run(main())
    assert sent == [True, True, True]
    assert [s["json"] for s in seen] == [
        {
            "response_type": "ephemeral",
            "replace_original": False,
            "text": "OOR-7 acknowledged 已响应",
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}],
        }
    ] * 3
    # One TCP connection (one client port) for the three: the session was reused.
    assert len({s["port"] for s in seen}) == 1


def test_a_reply_slack_refuses_or_cannot_reach_is_reported_not_raised() -> None:
    async def main() -> list[bool]:
        runner, url, _seen = await _endpoint(status=404)
        client = ResponseUrls(timeout=2)
        try:
            refused = await client.post(f"{url}/1", reply_body(SlackMessage(text="x")))
        finally:
            await runner.cleanup()
        unreachable = await client.post(f"{url}/2", reply_body(SlackMessage(text="x")))
        await client.aclose()
        return [refused, unreachable]

    assert asyncio.run(main()) == [False, False]
