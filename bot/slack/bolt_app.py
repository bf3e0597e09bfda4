"""Bolt (async) in HTTP mode: request signatures and acks within Slack's 3 seconds.

Listeners acknowledge first and run slow work afterwards (``process_before_response``
off), so Slack gets its answer even when the database or the Web API is slow. The token
is given through ``authorize`` rather than ``token=`` so no request ever waits for
``auth.test``.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.web.async_client import AsyncWebClient


def build_bolt_app(*, token: str, signing_secret: str, api_url: str) -> AsyncApp:
    async def authorize(
        enterprise_id: str | None = None, team_id: str | None = None, **_: Any
    ) -> AuthorizeResult:
        return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, bot_token=token)

    return AsyncApp(
        client=AsyncWebClient(base_url=api_url),
        signing_secret=signing_secret,
        authorize=authorize,
        process_before_response=False,
    )
