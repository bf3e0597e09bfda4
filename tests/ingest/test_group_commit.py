"""Group commit (``bot/ingest/group_commit.py``): requests that arrive while a transaction
runs are stored together in the next one, each request hears its own answer, and the
waiting line is bounded. The store is a stand-in here; ``tests/incidents/
test_ingest_many.py`` covers the transaction itself on both databases."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime

import pytest

from bot.domain.events import OorEvent
from bot.domain.types import OorType
from bot.incidents.ingest_results import Delivery, IngestResult, Outcome
from bot.ingest.group_commit import Busy, GroupCommit

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


def _delivery(key: str, events: int = 1) -> Delivery:
    return Delivery(
        [
            OorEvent(source="native", dedup_key=f"{key}.{i}", type=OorType.SYSTEM_CRASH, title=key)
            for i in range(events)
        ],
        NOW,
    )


class _Store:
    """Records each batch; the first one is held until released, as a slow commit is."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.release = threading.Event()
        self.first_started = threading.Event()
        self.fail: set[str] = set()

    def __call__(self, deliveries: list[Delivery]) -> list[IngestResult | Exception]:
        self.batches.append([d.events[0].title for d in deliveries])
        if len(self.batches) == 1:
            self.first_started.set()
            self.release.wait(5)
        return [
            ValueError(d.events[0].title)
            if d.events[0].title in self.fail
            else IngestResult(len(self.batches) * 100 + i, Outcome.GROUPED)
            for i, d in enumerate(deliveries)
        ]


async def _when_first_started(store: _Store) -> None:
    await asyncio.to_thread(store.first_started.wait, 5)


def test_requests_waiting_behind_a_transaction_share_the_next_one() -> None:
    store = _Store()
    group = GroupCommit(store, batches=1)

    async def scenario() -> list[IngestResult | BaseException]:
        first = asyncio.ensure_future(group.store(_delivery("first")))
        await _when_first_started(store)
        rest = [asyncio.ensure_future(group.store(_delivery(f"r{i}"))) for i in range(5)]
        await asyncio.sleep(0)  # let them queue
        store.release.set()
        return await asyncio.gather(first, *rest, return_exceptions=True)

    answers = asyncio.run(scenario())
    group.close()
    assert store.batches == [["first"], ["r0", "r1", "r2", "r3", "r4"]]
    # Each request got the answer for its own delivery, not its neighbour's.
    assert answers == [IngestResult(100, Outcome.GROUPED)] + [
        IngestResult(200 + i, Outcome.GROUPED) for i in range(5)
    ]


def test_a_quiet_request_is_stored_at_once_alone() -> None:
    store = _Store()
    store.release.set()
    group = GroupCommit(store)
    answer = asyncio.run(group.store(_delivery("only")))
    group.close()
    assert store.batches == [["only"]] and answer == IngestResult(100, Outcome.GROUPED)


def test_a_batch_holds_at_most_max_events() -> None:
    store = _Store()
    group = GroupCommit(store, batches=1, max_events=10)

    async def scenario() -> None:
        first = asyncio.ensure_future(group.store(_delivery("first")))
        await _when_first_started(store)
        rest = [asyncio.ensure_future(group.store(_delivery(f"r{i}", events=4))) for i in range(5)]
        await asyncio.sleep(0)
        store.release.set()
        await asyncio.gather(first, *rest)

    asyncio.run(scenario())
    group.close()
    # 4 + 4 fit in 10, a third would not; an oversized delivery still goes (alone).
    assert store.batches == [["first"], ["r0", "r1"], ["r2", "r3"], ["r4"]]


def test_a_failed_delivery_is_told_only_to_its_own_request() -> None:
    store = _Store()
    store.fail = {"bad"}
    group = GroupCommit(store, batches=1)

    async def scenario() -> list[IngestResult | BaseException]:
        first = asyncio.ensure_future(group.store(_delivery("first")))
        await _when_first_started(store)
        rest = [asyncio.ensure_future(group.store(_delivery(k))) for k in ("ok", "bad", "ok2")]
        await asyncio.sleep(0)
        store.release.set()
        return await asyncio.gather(first, *rest, return_exceptions=True)

    answers = asyncio.run(scenario())
    group.close()
    assert isinstance(answers[2], ValueError)
    assert answers[1] == IngestResult(200, Outcome.GROUPED)
    assert answers[3] == IngestResult(202, Outcome.GROUPED)


def test_beyond_max_waiting_a_request_is_refused_busy_and_the_waiting_are_kept() -> None:
    store = _Store()
    group = GroupCommit(store, batches=1, max_waiting=3)

    async def scenario() -> tuple[list[IngestResult | BaseException], BaseException | None]:
        first = asyncio.ensure_future(group.store(_delivery("first")))
        await _when_first_started(store)
        waiting = [asyncio.ensure_future(group.store(_delivery(f"w{i}"))) for i in range(3)]
        await asyncio.sleep(0)
        refused: BaseException | None = None
        try:
            await group.store(_delivery("one too many"))
        except Busy as exc:
            refused = exc
        store.release.set()
        return await asyncio.gather(first, *waiting, return_exceptions=True), refused

    answers, refused = asyncio.run(scenario())
    group.close()
    assert isinstance(refused, Busy)
    assert all(isinstance(a, IngestResult) for a in answers)
    assert ["one too many"] not in store.batches and store.batches[1] == ["w0", "w1", "w2"]


def test_a_cancelled_request_is_left_out_of_the_next_batch() -> None:
    store = _Store()
    group = GroupCommit(store, batches=1)

    async def scenario() -> None:
        first = asyncio.ensure_future(group.store(_delivery("first")))
        await _when_first_started(store)
        gone = asyncio.ensure_future(group.store(_delivery("gone")))
        kept = asyncio.ensure_future(group.store(_delivery("kept")))
        await asyncio.sleep(0)
        gone.cancel()
        store.release.set()
        await asyncio.gather(first, kept)
        with pytest.raises(asyncio.CancelledError):
            await gone

    asyncio.run(scenario())
    group.close()
    assert store.batches == [["first"], ["kept"]]
