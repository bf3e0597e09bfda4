"""Rendered documents held in memory, rebuilt only when what they show has changed.

Why a version check rather than an event: during an outage everyone refreshes the page,
so a request must not cost a query, and an approval on any replica must reach every
replica's page. Approvals happen in the notifications feature (possibly in another
process), so no in-process hook could tell all replicas. Instead each replica asks the
database for a fingerprint of what the page shows (two aggregate reads, see
:func:`bot.statuspage.records.version_key`) at most once per ``check_interval`` (1 s),
and rebuilds only when it moved. The fingerprint also carries the local day and the
maintenance windows' phases, which time alone moves. So the cost under load is at most
one cheap query per second per replica, a fresh approval shows within about a second on
every replica, and between checks a request is a dictionary lookup. Requests arriving
while a check runs are served the previous snapshot rather than waiting for it.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import structlog

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Document:
    body: bytes
    etag: str  # quoted, strong
    media_type: str


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


@dataclass(frozen=True)
class _State:
    version: Hashable
    snapshot: Any
    documents: dict[Hashable, Document]


class VersionedCache:
    """``version()`` (blocking, cheap) decides when ``snapshot()`` (blocking) is rebuilt;
    documents are rendered from the snapshot lazily, once per snapshot and name."""

    def __init__(
        self,
        version: Callable[[], Hashable],
        snapshot: Callable[[], Any],
        *,
        check_interval: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._version = version
        self._snapshot = snapshot
        self._interval = check_interval
        self._monotonic = monotonic
        self._lock = asyncio.Lock()
        self._checked_at: float | None = None
        # One tuple, swapped whole by the checking thread, so a request never renders
        # from one snapshot into another snapshot's documents.
        self._state: _State | None = None
        self.rebuilds = 0  # for tests and the benchmark
        self.checks = 0

    async def get(self, name: Hashable, render: Callable[[Any], Document]) -> Document:
        await self._refresh()
        state = self._state
        assert state is not None  # _refresh built it or raised
        found = state.documents.get(name)
        if found is None:
            found = render(state.snapshot)
            state.documents[name] = found
        return found

    async def _refresh(self) -> None:
        due = self._checked_at is None or self._monotonic() - self._checked_at >= self._interval
        if not due:
            return
        if self._lock.locked() and self._state is not None:
            return  # another request is checking: serve what we have meanwhile
        async with self._lock:
            if self._checked_at is not None and (
                self._monotonic() - self._checked_at < self._interval
            ):
                return  # checked while this request waited for the lock
            await asyncio.to_thread(self._check)

    def _check(self) -> None:
        self.checks += 1
        try:
            version = self._version()
        except Exception as exc:
            if self._state is None:
                raise
            # The database is away: the page people read during an outage stays up,
            # showing what it knew.
            log.warning("status_page_version_check_failed", error=type(exc).__name__)
            self._checked_at = self._monotonic()
            return
        if self._state is None or version != self._state.version:
            self._state = _State(version, self._snapshot(), {})
            self.rebuilds += 1
        self._checked_at = self._monotonic()

    def invalidate(self) -> None:
        """The next request checks the version at once (tests; a local approval)."""
        self._checked_at = None
