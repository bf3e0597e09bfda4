"""What a test (or the sandbox page) may read of an emulated PagerDuty account: copies,
under the account's lock, never the live state."""

from __future__ import annotations

import copy

from bot.sandbox.pagerduty.account import Account
from bot.sandbox.pagerduty.model import JSON, Call, Page, WebhookDelivery


class AccountInspection(Account):
    """Read-only views of the account, mixed into
    :class:`~bot.sandbox.pagerduty.PagerDutyEmulator`."""

    @property
    def pages(self) -> list[Page]:
        with self._lock:
            return copy.deepcopy(self._pages)

    def pages_for(self, dedup_key: str) -> list[Page]:
        """Every page opened with ``dedup_key`` (a resolved one and the next, ...)."""
        return [p for p in self.pages if p.dedup_key == dedup_key]

    @property
    def events(self) -> list[JSON]:
        """Every accepted Events API event with what it did (``outcome``)."""
        with self._lock:
            return copy.deepcopy(self._events)

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def calls_to(self, endpoint: str) -> list[Call]:
        return [c for c in self.calls if c.endpoint == endpoint]

    @property
    def deliveries(self) -> list[WebhookDelivery]:
        with self._lock:
            return copy.deepcopy(self._deliveries)

    def record_call(self, call: Call) -> None:
        with self._lock:
            self._calls.append(call)
