"""Group commit: webhook requests that arrive together are stored in one transaction.

Under a storm most of a webhook's cost is the transaction around it (begin, lock the
group's incident, the coalesced jobs, commit), not the event. Requests that arrive while
a transaction is running wait for it and are then stored together, so that cost is paid
once per batch. Nothing waits on purpose: a request that finds no transaction running
starts one at once, so a quiet system answers as fast as before, and batches grow only as
fast as requests queue up behind the running ones.

Every request is still answered only after its own events are committed, and keeps its
own idempotency (:meth:`IngestService.ingest_many` stores each event under its unique
key; if a shared transaction fails, each delivery is tried again alone).

Bounds: at most ``batches`` transactions at once (threads of their own, so acks of other
kinds never wait for a storm's storage), at most ``max_events`` events in one, and at most
``max_waiting`` requests waiting; beyond that a request is refused with :class:`Busy`
(503 and ``Retry-After``: the sender keeps the event and retries) rather than queued
without end.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from bot.incidents.ingest_results import Delivery, IngestResult

StoreMany = Callable[[list[Delivery]], list[IngestResult | Exception]]


class Busy(Exception):
    """Too many requests are waiting to be stored: refuse, the sender retries."""


@dataclass
class _Waiting:
    delivery: Delivery
    answer: asyncio.Future[IngestResult]


class GroupCommit:
    def __init__(
        self,
        store_many: StoreMany,
        *,
        batches: int = 2,
        max_events: int = 500,
        max_waiting: int = 2000,
    ) -> None:
        self._store_many = store_many
        self._batches = batches
        self._max_events = max_events
        self._max_waiting = max_waiting
        self._waiting: deque[_Waiting] = deque()
        self._running = 0
        self._tasks: set[asyncio.Task[None]] = set()  # held so the loop doesn't drop them
        # Its own threads: a batch never waits behind Slack work for a thread.
        self._threads = ThreadPoolExecutor(batches, thread_name_prefix="group-commit")

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    async def store(self, delivery: Delivery) -> IngestResult:
        """``delivery`` stored (committed) together with whatever else is waiting."""
        if len(self._waiting) >= self._max_waiting:
            raise Busy(f"{len(self._waiting)} deliveries are waiting to be stored")
        answer: asyncio.Future[IngestResult] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Waiting(delivery, answer))
        self._start_batches()
        return await answer

    def close(self) -> None:
        self._threads.shutdown(wait=True)

    def _start_batches(self) -> None:
        while self._waiting and self._running < self._batches:
            batch = self._take_batch()
            if not batch:
                continue
            self._running += 1
            task = asyncio.get_running_loop().create_task(self._run(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _take_batch(self) -> list[_Waiting]:
        batch: list[_Waiting] = []
        events = 0
        while self._waiting:
            size = len(self._waiting[0].delivery.events)
            if batch and events + size > self._max_events:
                break
            item = self._waiting.popleft()
            if item.answer.done():  # its request was cancelled (client gone): skip it
                continue
            batch.append(item)
            events += size
        return batch

    async def _run(self, batch: list[_Waiting]) -> None:
        try:
            deliveries = [item.delivery for item in batch]
            loop = asyncio.get_running_loop()
            try:
                results = await loop.run_in_executor(self._threads, self._store_many, deliveries)
            except Exception as exc:  # the store itself broke: every request hears it
                results = [exc] * len(batch)
            for item, result in zip(batch, results, strict=True):
                if item.answer.done():
                    continue  # cancelled meanwhile; its events are stored all the same
                if isinstance(result, Exception):
                    item.answer.set_exception(result)
                else:
                    item.answer.set_result(result)
        finally:
            self._running -= 1
            self._start_batches()
