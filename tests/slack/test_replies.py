"""The one sequence every listener runs (bot/slack/replies.py): Slack's ack first, then the
work in a thread, then the reply; a refusal is shown as it is, a failure is reported."""

from __future__ import annotations

import asyncio
import json
import threading
from types import SimpleNamespace
from typing import Any

from bot.domain.lifecycle import CommandRefused
from bot.slack.replies import FAILED, InChannel, InIncident, Replies, ViaResponseUrl
from bot.slack.views import SlackMessage


class Recorder:
    """Stands in for Slack: records the ack, the response_url reply and Web API calls."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    async def ack(self, **body: Any) -> None:
        self.events.append(("ack", body))

    async def post(self, url: str, body: bytes) -> bool:
        """Stands in for the response_url client (tests/slack/test_response_urls.py has
        the real one against a real endpoint)."""
        self.events.append(("respond", json.loads(body)["text"]))
        return True

    async def aclose(self) -> None:
        pass

    def call(self, method: str, **args: Any) -> dict[str, Any]:
        self.events.append((method, (args["channel"], args["user"], args["text"])))
        return {}


class Incidents:
    def incident_by_number(self, number: int) -> Any:
        if number != 42:
            raise CommandRefused(f"There is no incident OOR-{number}.")
        return SimpleNamespace(channel_id="C0INC42")


def _replies(slack: Recorder) -> Replies:
    return Replies(slack, Incidents(), response_urls=slack)  # type: ignore[arg-type]


def test_the_ack_comes_before_the_work_which_runs_off_the_event_loop() -> None:
    slack = Recorder()
    loop_thread: list[int] = []

    def work() -> SlackMessage:
        slack.events.append(("work", threading.get_ident() != loop_thread[0]))
        return SlackMessage(text="done")

    async def main() -> None:
        loop_thread.append(threading.get_ident())
        await _replies(slack).acknowledge_then(
            slack.ack, work, ViaResponseUrl("https://hooks.slack.test/1")
        )

    asyncio.run(main())
    assert slack.events == [("ack", {}), ("work", True), ("respond", "done")]


def test_a_refusal_is_shown_and_a_failure_reported_never_dropped() -> None:
    slack = Recorder()

    def refused() -> SlackMessage:
        raise CommandRefused("Only OOR-42's responders can change it.")

    def broken() -> SlackMessage:
        raise RuntimeError("database down")

    async def main() -> None:
        replies = _replies(slack)
        await replies.acknowledge_then(
            slack.ack, refused, ViaResponseUrl("https://hooks.slack.test/1")
        )
        await replies.acknowledge_then(slack.ack, broken, InChannel("C0GEN", "U1"))

    asyncio.run(main())
    assert slack.events == [
        ("ack", {}),
        ("respond", "Only OOR-42's responders can change it."),
        ("ack", {}),
        ("chat.postEphemeral", ("C0GEN", "U1", FAILED.text)),
    ]


def test_after_a_form_the_reply_goes_to_the_incidents_channel_if_it_still_has_one() -> None:
    slack = Recorder()

    async def main() -> None:
        replies = _replies(slack)
        await replies.acknowledge_then(
            slack.ack, lambda: SlackMessage(text="recorded"), InIncident(42, "U1")
        )
        await replies.acknowledge_then(
            slack.ack, lambda: SlackMessage(text="lost"), InIncident(7, "U1")
        )
        await replies.acknowledge_then(slack.ack, lambda: None, InIncident(42, "U1"))

    asyncio.run(main())
    assert slack.events == [
        ("ack", {}),
        ("chat.postEphemeral", ("C0INC42", "U1", "recorded")),
        ("ack", {}),  # OOR-7 is gone: nowhere to answer
        ("ack", {}),  # nothing to say
    ]
