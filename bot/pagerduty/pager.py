"""PagerDuty as the bot's pager: :class:`bot.paging.port.Pager` on the Events API (pages)
and the REST API (who is on call)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.plan_paging import OnCallTarget
from bot.outbox.outcomes import Permanent
from bot.pagerduty.events import PagerDutyEvents
from bot.pagerduty.rest import PagerDutyRest
from bot.paging.port import OnCallPerson, Page, PageRef


class PagerDutyPager:
    """``rest`` is None without an API token: pages still go out, on-call lookups are
    refused (Permanent), and the flows fall back to the plan's fixed responders."""

    def __init__(self, events: PagerDutyEvents, rest: PagerDutyRest | None) -> None:
        self._events = events
        self._rest = rest

    def close(self) -> None:
        self._events.close()
        if self._rest is not None:
            self._rest.close()

    # PagerDuty deduplicates by dedup_key itself: the event id is not needed.
    def trigger(self, page: Page, *, event_id: str) -> None:
        self._events.trigger(page)

    def acknowledge(self, ref: PageRef, *, event_id: str) -> None:
        self._events.acknowledge(ref)

    def resolve(self, ref: PageRef, *, event_id: str) -> None:
        self._events.resolve(ref)

    def on_call(self, targets: Sequence[OnCallTarget]) -> list[OnCallPerson]:
        if not targets:
            return []
        if self._rest is None:
            raise Permanent("pagerduty.oncalls", "OOR_PAGERDUTY_API_TOKEN is not set")
        return self._rest.on_call(targets)
