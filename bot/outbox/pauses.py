"""Job kinds the outbox leaves alone for a while, because the other side said to wait.

A rate limit such as Slack's 20 ``conversations.create`` a minute applies to every job
that makes the call, not only to the one that met it. Without a pause, an alert storm's
thousands of channel jobs would each be claimed, run up to the call, refused and put back,
again and again until the minute is over: work that does nothing, paid for by the webhooks
arriving meanwhile. So a :class:`~bot.outbox.outcomes.RetryAfter` that is ``shared``
pauses its job kind in this process until the wait is over; the jobs stay in the table,
unclaimed, and every replica learns the limit for itself at the cost of one refused call.
A wait that belongs to one job (one channel's posting rate) pauses nothing else.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

# However long the other side asks for, look again after this: a replica's pause is
# process-local and a mistaken one must not hold a kind for long.
MAX_PAUSE = timedelta(minutes=5)


class KindPauses:
    def __init__(self) -> None:
        self._lock = threading.Lock()  # outbox threads finish jobs concurrently
        self._until: dict[str, datetime] = {}

    def pause(self, kind: str, until: datetime, now: datetime) -> None:
        until = min(until, now + MAX_PAUSE)
        with self._lock:
            if until > self._until.get(kind, now):
                self._until[kind] = until

    def paused(self, now: datetime) -> list[str]:
        """The kinds not to claim at ``now`` (expired pauses are forgotten)."""
        with self._lock:
            for kind in [k for k, until in self._until.items() if until <= now]:
                del self._until[kind]
            return sorted(self._until)
