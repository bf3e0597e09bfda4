"""A rate limit that holds for a whole job kind pauses that kind in the worker: its other
jobs stay unclaimed until the wait is over, while other kinds run; a limit that belongs to
one job (one channel's posting rate) pauses nothing else. On SQLite and PostgreSQL, with
a ManualClock. The Slack side — which 429s are a method's and which a channel's — is
checked in tests/slack/test_gateway.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.clock import ManualClock
from bot.metrics import Metrics
from bot.outbox.outcomes import RetryAfter
from bot.outbox.pauses import MAX_PAUSE, KindPauses
from bot.storage import jobs
from bot.storage.db import Database
from bot.storage.jobs import ClaimedJob
from bot.worker import OutboxWorker

START = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)


class _Rig:
    def __init__(self, db: Database, limit: RetryAfter) -> None:
        self.db = db
        self.clock = ManualClock(START)
        self.ran: list[str] = []
        self.limit: RetryAfter | None = limit

        def create(job: ClaimedJob) -> None:
            self.ran.append(f"create:{job.payload['n']}")
            if self.limit is not None:
                limit, self.limit = self.limit, None
                raise limit

        def post(job: ClaimedJob) -> None:
            self.ran.append(f"post:{job.payload['n']}")

        handlers = {"create": create, "post": post}
        self.worker = OutboxWorker(db, handlers, self.clock, Metrics())

    def enqueue(self, kind: str, n: int) -> None:
        with self.db.session() as session:
            jobs.enqueue(
                session, kind, now=self.clock.now(), dedup_key=f"{kind}-{n}", payload={"n": n}
            )


def test_a_shared_limit_leaves_the_kind_unclaimed_until_it_is_over(db: Database) -> None:
    rig = _Rig(db, RetryAfter("conversations.create", 20))
    rig.enqueue("create", 1)
    assert rig.worker.run_due_jobs() == 1  # the first meets the limit
    for n in range(2, 6):
        rig.enqueue("create", n)
    rig.enqueue("post", 1)
    assert rig.worker.run_due_jobs() == 1
    assert rig.ran == ["create:1", "post:1"]  # no channel job was tried meanwhile
    rig.clock.advance(seconds=19)
    assert rig.worker.run_due_jobs() == 0
    rig.clock.advance(seconds=1)
    assert rig.worker.run_due_jobs() == 5
    assert sorted(rig.ran[2:]) == [f"create:{n}" for n in range(1, 6)]


def test_a_limit_of_one_job_pauses_nothing_else(db: Database) -> None:
    rig = _Rig(db, RetryAfter("chat.postMessage", 20, shared=False))
    rig.enqueue("create", 1)
    assert rig.worker.run_due_jobs() == 1
    rig.enqueue("create", 2)
    assert rig.worker.run_due_jobs() == 1
    assert rig.ran == ["create:1", "create:2"]


def test_a_pause_is_capped_and_forgotten_when_over() -> None:
    pauses = KindPauses()
    pauses.pause("create", START + timedelta(hours=3), START)  # however long it asks
    pauses.pause("create", START + timedelta(seconds=5), START)  # a shorter one: kept longer
    assert pauses.paused(START) == ["create"]
    assert pauses.paused(START + MAX_PAUSE - timedelta(seconds=1)) == ["create"]
    assert pauses.paused(START + MAX_PAUSE) == []
