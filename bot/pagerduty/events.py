"""PagerDuty's Events API v2: trigger, acknowledge and resolve pages (``POST /v2/enqueue``).

Rules (tests/fixtures/pagerduty/NOTES.md "Events API v2"): no auth header, the integration's
``routing_key`` in the body; ``dedup_key`` (at most 255 characters) names the alert, so a
trigger with the key of an open alert updates it instead of paging again, and acknowledge /
resolve with that key act on it (with none open they are accepted and dropped); a trigger
needs ``payload.summary`` (at most 1024 characters), ``source`` and ``severity``
(critical, error, warning, info); ``links`` carry the chat room. 202 is success.

Routing keys are secrets: they come from a callable (the plan names an environment
variable per OOR type) and are never logged or put in an outcome's message.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import httpx

from bot.domain.clock import Clock, SystemClock
from bot.domain.types import Severity
from bot.outbox.outcomes import Permanent
from bot.pagerduty.outcomes import check_answer, transport_failure
from bot.paging.port import Page, PageRef

DEFAULT_EVENTS_URL = "https://events.pagerduty.com"
ENQUEUE_PATH = "/v2/enqueue"
TARGET = "pagerduty.events"
MAX_SUMMARY = 1024
MAX_SOURCE = 255
DEFAULT_TIMEOUT_SECONDS = 10.0

# The incident's severity in PagerDuty's four words (payload.severity).
SEVERITIES = {
    Severity.SEV1: "critical",
    Severity.SEV2: "error",
    Severity.SEV3: "warning",
    Severity.SEV4: "info",
}

RoutingKeys = Callable[[str], str | None]


def trigger_body(page: Page, routing_key: str) -> dict[str, Any]:
    """The enqueue body of a trigger: the page's record, the link to its room."""
    body: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": page.dedup_key,
        "client": "OOR Bot",
        "payload": {
            "summary": page.summary[:MAX_SUMMARY],
            "source": (page.source.strip() or "oor-bot")[:MAX_SOURCE],
            "severity": SEVERITIES[Severity(page.severity)],
            "component": page.route,
            "custom_details": {"incident": page.incident_key, **dict(page.custom_details)},
        },
    }
    if page.link and page.link.startswith(("https://", "http://")):
        body["client_url"] = page.link
        body["links"] = [{"href": page.link, "text": f"{page.incident_key} incident channel"}]
    return body


class PagerDutyEvents:
    """A client of the Events API; thread-safe (one ``httpx.Client``, made on first use)."""

    def __init__(
        self,
        routing_keys: RoutingKeys,
        events_url: str = DEFAULT_EVENTS_URL,
        *,
        clock: Clock | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        transport: httpx.BaseTransport | None = None,
        while_waiting: Callable[[], AbstractContextManager[None]] = nullcontext,
    ) -> None:
        """``while_waiting`` wraps each wait on PagerDuty, as the Slack gateway's calls are
        wrapped: the outbox lends its turn to other jobs meanwhile."""
        self._routing_keys = routing_keys
        self._url = events_url.rstrip("/") + ENQUEUE_PATH
        self._clock = clock or SystemClock()
        self._client = httpx.Client(timeout=timeout, transport=transport)
        self._while_waiting = while_waiting

    def close(self) -> None:
        self._client.close()

    def _routing_key(self, route: str) -> str:
        key = self._routing_keys(route)
        if not key:
            raise Permanent(
                TARGET,
                f"no routing key for {route}: set the environment variable the plan's "
                "paging.routing_keys names for it",
            )
        return key

    def trigger(self, page: Page) -> None:
        self._send(trigger_body(page, self._routing_key(page.route)))

    def acknowledge(self, ref: PageRef) -> None:
        self._send(self._action_body("acknowledge", ref))

    def resolve(self, ref: PageRef) -> None:
        self._send(self._action_body("resolve", ref))

    def _action_body(self, action: str, ref: PageRef) -> dict[str, Any]:
        return {
            "routing_key": self._routing_key(ref.route),
            "event_action": action,
            "dedup_key": ref.dedup_key,
        }

    def _send(self, body: dict[str, Any]) -> None:
        try:
            with self._while_waiting():
                response = self._client.post(self._url, json=body)
        except httpx.HTTPError as exc:
            raise transport_failure(TARGET, exc) from None
        check_answer(TARGET, response, self._clock.now())
