"""How a job can end, in the outbox worker's terms (never a platform's).

A job handler returns normally when its side effect is done, or raises one of these.
Adapters (Slack, PagerDuty, a customer webhook) translate their own failures into them,
so the worker schedules retries without knowing who it talked to.
"""

from __future__ import annotations


class JobOutcome(Exception):
    """A job did not finish; the subclass says when to look at it again."""

    def __init__(self, target: str, error: str) -> None:
        super().__init__(f"{target}: {error}")
        self.target = target  # the method, URL or service the job talked to
        self.error = error


class RetryAfter(JobOutcome):
    """The other side asked us to wait (a rate limit); the wait is not a failed attempt.

    ``shared``: the wait holds for every job of this kind (a method's or an account's
    limit), so the worker claims none of them until it is over; False when it is this
    job's alone (one channel's posting rate)."""

    def __init__(
        self, target: str, seconds: float, error: str = "", *, shared: bool = True
    ) -> None:
        super().__init__(target, error or f"rate limited, retry after {seconds:g}s")
        self.retry_after = seconds
        self.shared = shared


class Transient(JobOutcome):
    """Try again with backoff: a timeout, a 5xx, a dropped connection."""


class Permanent(JobOutcome):
    """Retrying will not help (a missing scope, a revoked token): park it for a person."""


class NotReady(Exception):
    """The job depends on work not done yet; look again in ``delay_seconds``."""

    def __init__(self, reason: str, delay_seconds: float = 2.0) -> None:
        super().__init__(reason)
        self.delay_seconds = delay_seconds
