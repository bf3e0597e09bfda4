"""The bound on listener work (bot/slack/work_queue.py through bot/slack/replies.py): when
every place is taken the ack is still immediate and says "busy"; nothing admitted is lost
or done twice, and a place freed is taken again."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

from bot.slack.replies import BUSY, InChannel, Replies, ViaResponseUrl
from bot.slack.views import SlackMessage
from bot.slack.work_queue import WorkQueue

COMMAND_URL = "https://hooks.slack.test/commands/{n}"


class Slack:
    """Acks, response_url posts and Web API calls, in the order they happen."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def ack_for(self, n: int) -> Any:
        async def ack(**body: Any) -> None:
            self.events.append(("ack", n, body.get("text")))

        return ack

    async def post(self, url: str, body: bytes) -> bool:
        self.events.append(("respond", url, json.loads(body)["text"]))
        return True

    async def aclose(self) -> None:
        self.events.append(("closed", None))

    def call(self, method: str, **args: Any) -> dict[str, Any]:
        self.events.append((method, args["channel"], args["text"]))
        return {}


class Gate:
    """Work that waits until let through, and counts how often each piece ran."""

    def __init__(self) -> None:
        self.open = threading.Event()
        self.ran: list[int] = []
        self._lock = threading.Lock()

    def work(self, n: int) -> Any:
        def run() -> SlackMessage:
            self.open.wait(10)
            with self._lock:
                self.ran.append(n)
            return SlackMessage(text=f"done {n}")

        return run


def _replies(slack: Slack, threads: int = 1, waiting: int = 1) -> Replies:
    queue = WorkQueue(threads=threads, waiting=waiting)
    return Replies(slack, None, queue=queue, response_urls=slack)  # type: ignore[arg-type]


async def _until(predicate: Any) -> None:
    for _ in range(1000):
        if predicate():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition not reached")


def test_when_full_a_command_is_acked_at_once_with_busy_and_its_work_never_runs() -> None:
    slack, gate = Slack(), Gate()

    async def main() -> None:
        replies = _replies(slack, threads=1, waiting=1)

        def command(n: int) -> Any:
            to = ViaResponseUrl(COMMAND_URL.format(n=n), in_ack=True)
            return replies.acknowledge_then(slack.ack_for(n), gate.work(n), to, "oor_command")

        admitted = [asyncio.create_task(command(n)) for n in (1, 2)]
        await _until(lambda: len(slack.events) == 2)  # both acked, their work held
        await command(3)  # returns while the others still wait: nothing queued behind them
        assert slack.events[-1] == ("ack", 3, BUSY.text)
        gate.open.set()
        await asyncio.gather(*admitted)
        await command(4)  # the places are free again

    asyncio.run(main())
    assert sorted(gate.ran) == [1, 2, 4]  # each admitted piece once; 3 never
    replies_sent = sorted(e for e in slack.events if e[0] == "respond")
    assert replies_sent == [("respond", COMMAND_URL.format(n=n), f"done {n}") for n in (1, 2, 4)]
    assert ("respond", COMMAND_URL.format(n=3), BUSY.text) not in slack.events  # in the ack


def test_when_full_a_button_or_a_form_is_acked_then_told_busy_where_it_can_be() -> None:
    slack, gate = Slack(), Gate()

    async def main() -> None:
        replies = _replies(slack, threads=1, waiting=0)
        held = asyncio.create_task(
            replies.acknowledge_then(
                slack.ack_for(1), gate.work(1), ViaResponseUrl(COMMAND_URL.format(n=1))
            )
        )
        await _until(lambda: len(slack.events) == 1)
        # A button: its ack cannot carry text, so "busy" goes to its response_url.
        await replies.acknowledge_then(
            slack.ack_for(2), gate.work(2), ViaResponseUrl(COMMAND_URL.format(n=2))
        )
        # After a form: ephemeral in the channel.
        await replies.acknowledge_then(slack.ack_for(3), gate.work(3), InChannel("C0GEN", "U1"))
        gate.open.set()
        await held

    asyncio.run(main())
    assert gate.ran == [1]
    assert slack.events == [
        ("ack", 1, None),
        ("ack", 2, None),
        ("respond", COMMAND_URL.format(n=2), BUSY.text),
        ("ack", 3, None),
        ("chat.postEphemeral", "C0GEN", BUSY.text),
        ("respond", COMMAND_URL.format(n=1), "done 1"),
    ]


def test_a_stop_waits_for_admitted_work_and_its_reply_before_closing() -> None:
    slack, gate = Slack(), Gate()

    async def main() -> None:
        replies = _replies(slack, threads=2, waiting=2)
        tasks = [
            asyncio.create_task(
                replies.acknowledge_then(
                    slack.ack_for(n), gate.work(n), ViaResponseUrl(COMMAND_URL.format(n=n), True)
                )
            )
            for n in (1, 2, 3)
        ]
        await _until(lambda: len(slack.events) == 3)
        closing = asyncio.create_task(replies.aclose(timeout=10))
        await asyncio.sleep(0.05)
        assert not closing.done()  # the work is still held at the gate
        gate.open.set()
        await closing
        assert all(task.done() for task in tasks)

    asyncio.run(main())
    assert sorted(gate.ran) == [1, 2, 3]
    assert slack.events[-1] == ("closed", None)
    assert len([e for e in slack.events if e[0] == "respond"]) == 3


def test_a_work_queue_refuses_past_its_bound_and_takes_again_once_a_place_is_free() -> None:
    queue = WorkQueue(threads=2, waiting=1)
    assert [queue.reserve() for _ in range(4)] == [True, True, True, False]
    queue.release()
    assert queue.reserve() is True
    assert queue.held == 3
