"""Bolt (async): request signatures and acks within Slack's 3 seconds.

Listeners acknowledge first and run slow work afterwards (``process_before_response``
off), so Slack gets its answer even when the database or the Web API is slow. The token
is given through ``authorize`` rather than ``token=`` so no request ever waits for
``auth.test``.

Without a signing secret (Socket Mode, where requests arrive over the app's own WebSocket
and Bolt skips verification for them) verification is switched off explicitly rather than
run with an empty secret; the app factory then serves no ``/slack/events`` route at all.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.web.async_client import AsyncWebClient


def build_bolt_app(*, token: str, signing_secret: str | None, api_url: str) -> AsyncApp:
    async def authorize(
        enterprise_id: str | None = None, team_id: str | None = None, **_: Any
    ) -> AuthorizeResult:
        return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, bot_token=token)

    return AsyncApp(
        client=AsyncWebClient(base_url=api_url),
        # "" rather than None: Bolt would read SLACK_SIGNING_SECRET from the environment.
        signing_secret=signing_secret or "",
        request_verification_enabled=signing_secret is not None,
        authorize=authorize,
        process_before_response=False,
    )
