"""The threads that run listener work after the ack, with a bound on what may wait.

Every ``/oor`` command, button and form runs its work (database, Web API) in a thread
once Slack has its ack. An unbounded queue (``asyncio.to_thread``) lets a burst pile up
work the process cannot catch up with: the acks stay quick, but the replies trail by tens
of seconds and every waiting request keeps its objects alive for the collector to walk.
Here a place is reserved *before* the ack; when none is free the listener says "busy,
retry" at once instead of promising an answer it would give much later.

Used from one event loop only: the count is read and changed there, never in the threads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

# Four threads as the outbox has: enough to overlap database and Web API round trips,
# few enough that the event loop (the acks) is not starved of the GIL. 64 waiting is about
# half a second of work at the rate one process sustains.
DEFAULT_THREADS = 4
DEFAULT_WAITING = 64


class WorkQueue:
    def __init__(self, threads: int = DEFAULT_THREADS, waiting: int = DEFAULT_WAITING) -> None:
        if threads < 1 or waiting < 0:
            raise ValueError("a work queue needs a thread and a non-negative bound")
        self._threads = threads
        self.capacity = threads + waiting
        self._held = 0
        self._executor: ThreadPoolExecutor | None = None
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def held(self) -> int:
        """Places reserved: work waiting or running."""
        return self._held

    def reserve(self) -> bool:
        """Take a place for one piece of work, or say there is none (never waits)."""
        if self._held >= self.capacity:
            return False
        self._held += 1
        self._idle.clear()
        return True

    def release(self) -> None:
        """Give back a place once its work is done and answered (or was never started)."""
        self._held -= 1
        if self._held == 0:
            self._idle.set()

    async def run(self, work: Callable[[], T]) -> T:
        """Run ``work`` in one of the threads, on a place taken by :meth:`reserve` (the
        caller gives it back when it is done with the outcome)."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self._threads, thread_name_prefix="slack-work")
        return await asyncio.wrap_future(self._executor.submit(work))

    async def wait_idle(self, timeout: float) -> bool:
        """Wait until no work is held (at shutdown); False if some still was at ``timeout``."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def close(self) -> None:
        """Stop the threads once what they were given is done (nothing admitted is dropped)."""
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None
