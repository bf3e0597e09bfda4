"""Bolt (async) in HTTP mode: request signatures, acks within 3 s, the ``/oor`` command.

Listeners acknowledge first and run slow work afterwards (Bolt's
``process_before_response=False``), so Slack gets its answer even when the database or
the Web API is slow.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

HELP_TEXT = "\n".join(
    [
        "*OOR Bot* — the payments emergency plan (应急预案) in Slack. Commands:",
        "• `/oor help` — this list",
        "• `/oor ack` — 1. rapid response 快速响应: take the incident",
        "• `/oor record` — 2. record the problem 记录问题: time, merchant, method, amount",
        "• `/oor investigate <finding>` — 3. investigate 排查问题: add a finding",
        "• `/oor resolve <summary>` — 4. resolve 解决问题: record the fix",
        "• `/oor notify` — 5. notify customers 通知客户",
        "• `/oor review` — 6. review 总结经验: the post-mortem",
        "Incidents open on their own when a payment monitor or Alertmanager reports an OOR "
        "event; each gets its own channel with the plan's responders and a pinned status board.",
    ]
)


def build_bolt_app(*, token: str, signing_secret: str, api_url: str) -> AsyncApp:
    client = AsyncWebClient(token=token, base_url=api_url)
    bolt = AsyncApp(
        client=client,
        signing_secret=signing_secret,
        # Ack first, work after: listeners keep running once Slack has its answer.
        # (The async app calls auth.test lazily, on the first request, so building an
        # app never needs Slack to be up.)
        process_before_response=False,
    )

    @bolt.command("/oor")
    async def oor_command(ack: AsyncAck, command: dict[str, Any]) -> None:
        words = str(command.get("text") or "").split()
        word = words[0].lower() if words else "help"
        if word == "help":
            await ack(text=HELP_TEXT, response_type="ephemeral")
            return
        await ack(
            text=f"`{word}` is not available yet in this version.\n\n{HELP_TEXT}",
            response_type="ephemeral",
        )

    return bolt
