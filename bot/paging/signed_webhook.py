"""A pager that is not PagerDuty (a voice or SMS gateway, an in-house duty system): the same
trigger / acknowledge / resolve events POSTed as JSON, signed per Standard Webhooks.

Headers (https://www.standardwebhooks.com/, signed with the ``standardwebhooks`` library
the bot already verifies its own webhooks with): ``webhook-id`` (stable per event: the
outbox job's, so a retried delivery carries the same id and the receiver recognises it),
``webhook-timestamp`` (seconds, the time of this attempt) and ``webhook-signature``
(``v1,<base64 HMAC-SHA256 of "id.timestamp.body">`` under the ``whsec_`` secret). The body
is the same on every attempt. The outbox retries until the receiver answers 2xx (429
after ``Retry-After``, 5xx and timeouts with backoff), and parks a job the receiver refuses
with another 4xx; recorded as done, a job is never sent again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook

from bot.domain.clock import Clock, SystemClock
from bot.domain.plan_paging import OnCallTarget
from bot.outbox.outcomes import Permanent
from bot.pagerduty.outcomes import check_answer, transport_failure
from bot.paging.port import OnCallPerson, Page, PageRef

TARGET = "pager.webhook"
DEFAULT_TIMEOUT_SECONDS = 10.0
# The version of the JSON below; a receiver may refuse what it does not know.
SCHEMA_VERSION = 1


def event_body(action: str, event_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    return {"version": SCHEMA_VERSION, "id": event_id, "type": action, **fields}


def page_fields(page: Page) -> dict[str, Any]:
    return {
        "dedup_key": page.dedup_key,
        "incident_id": page.incident_key,
        "route": page.route,
        "reason": page.reason.value,
        "summary": page.summary,
        "severity": page.severity.value,
        "source": page.source,
        "link": page.link,
        "custom_details": dict(page.custom_details),
    }


class SignedWebhookPager:
    """:class:`bot.paging.port.Pager` over a signed JSON webhook."""

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        clock: Clock | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        transport: httpx.BaseTransport | None = None,
        while_waiting: Callable[[], AbstractContextManager[None]] = nullcontext,
    ) -> None:
        self._url = url
        self._signer = Webhook(secret)
        self._clock = clock or SystemClock()
        self._client = httpx.Client(timeout=timeout, transport=transport)
        self._while_waiting = while_waiting

    def close(self) -> None:
        self._client.close()

    def trigger(self, page: Page, *, event_id: str) -> None:
        self._post(event_body("trigger", event_id, page_fields(page)))

    def acknowledge(self, ref: PageRef, *, event_id: str) -> None:
        self._post(event_body("acknowledge", event_id, _ref_fields(ref)))

    def resolve(self, ref: PageRef, *, event_id: str) -> None:
        self._post(event_body("resolve", event_id, _ref_fields(ref)))

    def on_call(self, targets: Sequence[OnCallTarget]) -> list[OnCallPerson]:
        if not targets:
            return []
        # The plan's on-call targets are PagerDuty's; a webhook cannot say who is on call.
        raise Permanent(TARGET, "on-call targets need PagerDuty (OOR_PAGERDUTY_API_TOKEN)")

    def headers(self, event_id: str, body: bytes) -> dict[str, str]:
        """The Standard Webhooks headers of one attempt."""
        now = self._clock.now()
        return {
            "content-type": "application/json",
            "webhook-id": event_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": self._signer.sign(event_id, now, body),
        }

    def _post(self, event: dict[str, Any]) -> None:
        body = httpx.Request("POST", self._url, json=event).content
        try:
            with self._while_waiting():
                response = self._client.post(
                    self._url, content=body, headers=self.headers(event["id"], body)
                )
        except httpx.HTTPError as exc:
            raise transport_failure(TARGET, exc) from None
        check_answer(TARGET, response, self._clock.now())


def _ref_fields(ref: PageRef) -> dict[str, Any]:
    return {"dedup_key": ref.dedup_key, "route": ref.route}
