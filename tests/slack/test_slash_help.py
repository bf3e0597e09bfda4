"""``/oor help`` over a real signed request; unsigned or forged requests are refused."""

from __future__ import annotations

import httpx

from tests.conftest import RunningBot
from tests.support import slack_signed_headers, slash_command_body


def _body(text: str) -> str:
    return slash_command_body(
        text, user_id="U02BOB", channel_id="C0GENERAL", response_url="http://127.0.0.1:9/unused"
    )


def test_help_answers_ephemerally_with_every_command(bot: RunningBot) -> None:
    body = _body("help")
    response = httpx.post(
        f"{bot.url}/slack/events", content=body, headers=slack_signed_headers(body)
    )
    assert response.status_code == 200
    payload = response.json()
    assert payload["response_type"] == "ephemeral"
    for word in ("ack", "record", "investigate", "resolve", "notify", "review"):
        assert f"/oor {word}" in payload["text"]


def test_forged_and_stale_signatures_are_rejected(bot: RunningBot) -> None:
    body = _body("help")
    forged = slack_signed_headers(body, secret="not-the-secret")
    response = httpx.post(f"{bot.url}/slack/events", content=body, headers=forged)
    assert response.status_code == 401
    stale = slack_signed_headers(body) | {"x-slack-request-timestamp": "1600000000"}
    response = httpx.post(f"{bot.url}/slack/events", content=body, headers=stale)
    assert response.status_code == 401
