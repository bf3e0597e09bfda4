"""What the bot needs from a pager, in neutral terms: page, acknowledge, resolve, and who is
on call now.

The core and the paging flows talk to a :class:`Pager`; PagerDuty implements it in
:mod:`bot.pagerduty.pager`, any other pager through the signed webhook of
:mod:`bot.paging.signed_webhook`. Like the chat port, failures are the outbox's outcomes
(:mod:`bot.outbox.outcomes`): a method returns when the pager took the event and raises
:class:`~bot.outbox.outcomes.RetryAfter`, :class:`~bot.outbox.outcomes.Transient` or
:class:`~bot.outbox.outcomes.Permanent` otherwise, never an HTTP client's error, so an outbox
job handler needs no knowledge of the pager behind it.

A page is identified by its ``dedup_key``, derived from the incident key by
:func:`dedup_key_for`: the same incident always gives the same key, so a retried job, a
second replica or a restart can only update the page already open, never open a second.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from bot.domain.plan_paging import OnCallTarget
from bot.domain.types import Severity

# PagerDuty's Events API takes at most 255 characters (fields_events_v2_enqueue.txt notes).
MAX_DEDUP_KEY = 255
DEDUP_PREFIX = "oor-bot"


class PageReason(StrEnum):
    """Why the bot pages; each reason is its own page (its own dedup key)."""

    OPENED = "opened"  # the plan pages this type and severity as soon as it opens
    ESCALATION = "escalation"  # a step deadline was missed twice


def dedup_key_for(incident_key: str, reason: PageReason = PageReason.OPENED) -> str:
    """The stable dedup key of an incident's page, e.g. ``oor-bot/OOR-42`` and
    ``oor-bot/OOR-42/escalation``: an escalation is a second page, not an update of the
    first (which may be acknowledged already)."""
    key = f"{DEDUP_PREFIX}/{incident_key}"
    if reason is not PageReason.OPENED:
        key += f"/{reason.value}"
    return key[:MAX_DEDUP_KEY]


def incident_key_of(dedup_key: str) -> str | None:
    """The incident key in one of our dedup keys; None when the key is not ours."""
    prefix, sep, rest = dedup_key.partition("/")
    if prefix != DEDUP_PREFIX or not sep or not rest:
        return None
    return rest.split("/", 1)[0]


@dataclass(frozen=True)
class PageRef:
    """An open page: its dedup key and the route (OOR type) whose integration carries it."""

    dedup_key: str
    route: str


@dataclass(frozen=True)
class Page:
    """What to page about: the incident's own record, never chat markup."""

    incident_key: str  # OOR-42
    route: str  # the OOR type, which picks the integration (routing key)
    summary: str
    severity: Severity
    source: str  # where the problem is (the monitor, the service)
    link: str | None = None  # the incident's chat room
    custom_details: Mapping[str, Any] = field(default_factory=dict)
    reason: PageReason = PageReason.OPENED

    @property
    def dedup_key(self) -> str:
        return dedup_key_for(self.incident_key, self.reason)

    @property
    def ref(self) -> PageRef:
        return PageRef(self.dedup_key, self.route)


@dataclass(frozen=True)
class OnCallPerson:
    """Someone on call now for ``target``, known to the chat platform by ``email``."""

    email: str
    name: str
    target: OnCallTarget
    level: int


class Pager(Protocol):
    """``event_id`` is stable per event (the outbox job's id): a pager that cannot
    deduplicate by page (a plain webhook) recognises a retried delivery by it."""

    def trigger(self, page: Page, *, event_id: str) -> None:
        """Page (or update the open page of the same dedup key)."""
        ...

    def acknowledge(self, ref: PageRef, *, event_id: str) -> None:
        """Someone is on it: stop notifying. No open page: nothing happens."""
        ...

    def resolve(self, ref: PageRef, *, event_id: str) -> None:
        """The problem is over: close the page. No open page: nothing happens."""
        ...

    def on_call(self, targets: Sequence[OnCallTarget]) -> list[OnCallPerson]:
        """Who is on call now for each target, each person once per target."""
        ...
