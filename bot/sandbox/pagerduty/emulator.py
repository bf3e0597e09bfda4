"""`PagerDutyEmulator`: an account's users, schedules, escalation policies, services, pages
and webhook subscriptions, answering the Events API v2 and part of REST API v2.

The HTTP layer (app.py) only parses requests and renders `Answer`s; every decision is made
under the account's one lock, so tests may drive or inspect it directly from their own thread.
The emulator is put together from its concerns: the account's state and set-up (account.py),
what tests may read of it (inspection.py), the Events API v2 with its dedup (events_api.py),
the REST API v2 reads (rest_api.py) and Webhooks v3 (webhooks.py); faults and the REST rate
limit (faults.py) are consulted here. Sources: shared/reference/pagerduty/NOTES.md and
fields_*.txt (cited by section in each module).
"""

from __future__ import annotations

import copy

from bot.domain.clock import Clock
from bot.sandbox.pagerduty.api_types import CODE_INTERNAL, CODE_RATE_LIMIT, Answer
from bot.sandbox.pagerduty.events_api import EventsApi
from bot.sandbox.pagerduty.faults import REST_RATE_LIMIT, FaultOutcome, PdFaults, RestRateLimit
from bot.sandbox.pagerduty.inspection import AccountInspection
from bot.sandbox.pagerduty.model import JSON
from bot.sandbox.pagerduty.rest_api import RestApi
from bot.sandbox.pagerduty.webhooks import Webhooks


class PagerDutyEmulator(AccountInspection, EventsApi, RestApi, Webhooks):
    """One emulated PagerDuty account. Times come from ``clock`` (the project's Clock)."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        api_token: str = "pd-emulator-token",
        subdomain: str = "oor-sandbox",
        time_zone: str = "UTC",
        rest_rate_limit: tuple[int, float] | None = REST_RATE_LIMIT,
    ) -> None:
        super().__init__(clock=clock, api_token=api_token, subdomain=subdomain, time_zone=time_zone)
        self.faults = PdFaults()
        self.rate_limit = RestRateLimit(self.clock.now, rest_rate_limit)

    def reset(self) -> None:
        """Forget everything: the account, pages, calls, deliveries, faults and limits."""
        with self._lock:
            self._fresh()
        self.faults.clear()
        self.rate_limit.reset()

    def snapshot(self) -> JSON:
        """Everything, as JSON (the sandbox shows it)."""
        with self._lock:
            return {
                "users": [self._user_json(u) for u in self.users.values()],
                "schedules": sorted(self.schedules),
                "escalation_policies": sorted(self.escalation_policies),
                "services": [
                    {"id": s.id, "name": s.name, "escalation_policy": s.escalation_policy_id}
                    for s in self.services.values()
                ],
                "pages": [p.to_json() for p in self._pages],
                "events": copy.deepcopy(self._events),
                "webhook_subscriptions": [
                    {
                        "id": s.id,
                        "url": s.url,
                        "events": s.events,
                        "active": s.active,
                        "consecutive_drops": s.consecutive_drops,
                        "disabled_until": s.disabled_until.isoformat()
                        if s.disabled_until
                        else None,
                    }
                    for s in self.subscriptions.values()
                ],
                "waiting_webhooks": self.waiting(),
                "deliveries": [d.to_json() for d in self._deliveries],
                "faults": [f.to_json() for f in self.faults.active()],
            }

    # ------------------------------------------------------------------ faults
    def fault_answer(self, endpoint: str, fault: FaultOutcome) -> Answer | None:
        """What a faulted request gets: 429 with PagerDuty's ``ratelimit-*`` headers on the
        REST API (NOTES.md "REST v2 essentials"), with ``Retry-After`` on the Events API
        (NOTES.md documents no header there), or the 4xx/5xx status."""
        if fault.status is None:
            return None
        if endpoint.startswith("events."):
            if fault.status == 429:
                return Answer(
                    429,
                    {"status": "throttle event", "message": "Requests are being throttled"},
                    {"Retry-After": str(fault.reset_seconds)},
                )
            return Answer(fault.status, {"status": "error", "message": "Emulated failure"})
        if fault.status == 429:
            limit = self.rate_limit.limit or REST_RATE_LIMIT
            return Answer(
                429,
                {"error": {"message": "Rate Limit Exceeded", "code": CODE_RATE_LIMIT}},
                {
                    "ratelimit-limit": str(limit[0]),
                    "ratelimit-remaining": "0",
                    "ratelimit-reset": str(fault.reset_seconds),
                },
            )
        return Answer(
            fault.status, {"error": {"message": "Emulated failure", "code": CODE_INTERNAL}}
        )
