"""Webhooks v3 of the PagerDuty emulator: subscriptions and their secrets, signed deliveries
and redeliveries (retries and drops: redelivery.py), and the acknowledge / resolve "from the
phone" that send them (NOTES.md "Webhooks v3" in shared/reference/pagerduty/)."""

from __future__ import annotations

import copy
import json
import secrets
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

import httpx

from bot.pagerduty.signature import SIGNATURE_HEADER, sign
from bot.sandbox.pagerduty.account import Account
from bot.sandbox.pagerduty.model import (
    JSON,
    Page,
    User,
    WebhookDelivery,
    WebhookSubscription,
    iso,
    iso_ms,
    new_event_id,
    new_id,
)
from bot.sandbox.pagerduty.redelivery import Pending, Redelivery, resource_of

# NOTES.md "Webhooks v3": PagerDuty waits 5 s for a 2xx.
WEBHOOK_TIMEOUT_S = 5.0


class Webhooks(Account, Redelivery):
    """Webhooks v3, mixed into :class:`~bot.sandbox.pagerduty.PagerDutyEmulator`."""

    def _fresh(self) -> None:
        super()._fresh()
        self._fresh_redelivery()

    def _now(self) -> datetime:
        return self.clock.now()

    def _attempt(self, sub: WebhookSubscription, pending: Pending) -> WebhookDelivery:
        """One (re)delivery of ``pending``, signed with the subscription's secrets of now."""
        return self.send_webhook(
            sub.url,
            pending.event_type,
            {},
            secret=list(sub.secrets),
            subscription_id=sub.id,
            webhook_id=pending.webhook_id,
            body=pending.body,
        )

    # ------------------------------------------------------------------ subscriptions
    def add_webhook_subscription(
        self,
        url: str,
        *,
        secret: str | None = None,
        events: Iterable[str] | None = None,
        id: str | None = None,
    ) -> WebhookSubscription:
        """Webhooks v3 to ``url``, signed with ``secret`` (generated when not given, as
        PagerDuty hands it out once on creation)."""
        sub = WebhookSubscription(
            id or new_id(),
            url,
            [secret or secrets.token_urlsafe(48)],
            None if events is None else list(events),
        )
        with self._lock:
            self.subscriptions[sub.id] = sub
        return sub

    def rotate_secret(self, subscription_id: str, new_secret: str | None = None) -> str:
        """Start a rotation: deliveries carry a signature under the old and the new secret
        until :meth:`finish_rotation`."""
        with self._lock:
            sub = self.subscriptions[subscription_id]
            sub.secrets = [sub.secrets[-1], new_secret or secrets.token_urlsafe(48)]
            return sub.secrets[-1]

    def finish_rotation(self, subscription_id: str) -> None:
        with self._lock:
            sub = self.subscriptions[subscription_id]
            sub.secrets = sub.secrets[-1:]

    # ------------------------------------------------------------------ deliveries
    def incident_data(self, page: Page) -> JSON:
        """``event.data`` of an incident.* webhook (NOTES.md "Webhooks v3"). The incident's
        ``incident_key`` is the dedup key of the alert that opened it."""
        with self._lock:
            service = self.services[page.service_id]
            policy = self.escalation_policies[service.escalation_policy_id]
            return {
                "id": page.id,
                "type": "incident",
                "self": self._self("incidents", page.id),
                "html_url": self._html("incidents", page.id),
                "number": page.number,
                "status": page.status,
                "incident_key": page.dedup_key,
                "created_at": iso(page.created_at),
                "title": page.summary,
                "service": self._ref("services", "service", service.id, service.name),
                "assignees": [
                    self._ref("users", "user", u, self.users[u].name) for u in page.assignees
                ],
                "escalation_policy": self._ref(
                    "escalation_policies", "escalation_policy", policy.id, policy.name
                ),
                "teams": [],
                "priority": None,
                "urgency": "high",
                "conference_bridge": None,
                "resolve_reason": None,
            }

    def _user_by_email_or_id(self, who: str) -> User:
        with self._lock:
            for user in self.users.values():
                if who in (user.id, user.email) or who.lower() == user.email.lower():
                    return user
        raise KeyError(f"no user {who}")

    def envelope(
        self, event_type: str, data: JSON, agent: str | None = None, *, event_id: str | None = None
    ) -> JSON:
        """The Webhooks v3 body: exactly one event (NOTES.md "Webhooks v3")."""
        agent_ref = None
        if agent is not None:
            user = self._user_by_email_or_id(agent)
            agent_ref = self._ref("users", "user", user.id, user.name)
        return {
            "event": {
                "id": event_id or new_event_id(),
                "event_type": event_type,
                "resource_type": event_type.split(".", 1)[0],
                "occurred_at": iso_ms(self.clock.now()),
                "agent": agent_ref,
                "client": None,
                "data": data,
            }
        }

    def send_webhook(
        self,
        url: str,
        event_type: str,
        incident: Page | str | JSON,
        agent_email: str | None = None,
        *,
        secret: str | Sequence[str],
        subscription_id: str = "PSUBEMU",
        webhook_id: str | None = None,
        body: bytes | None = None,
    ) -> WebhookDelivery:
        """POST one signed Webhooks v3 delivery to ``url`` and record what it answered.

        ``incident``: a page, a page id or a ready ``data`` object. ``body`` (with the same
        ``webhook_id``) re-sends an earlier delivery unchanged, as PagerDuty's retries do.
        """
        if body is None:
            if isinstance(incident, str):
                incident = self.page(incident)
            data = self.incident_data(incident) if isinstance(incident, Page) else incident
            body = json.dumps(self.envelope(event_type, data, agent_email)).encode()
        event = json.loads(body)["event"]
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(body, [secret] if isinstance(secret, str) else secret),
            "X-Webhook-Id": webhook_id or str(uuid.uuid4()),
            "X-Webhook-Subscription": subscription_id,
        }
        with self._lock:
            attempt = 1 + sum(
                1 for d in self._deliveries if d.webhook_id == headers["X-Webhook-Id"]
            )
        delivery = WebhookDelivery(
            webhook_id=headers["X-Webhook-Id"],
            subscription_id=subscription_id,
            url=url,
            event_type=event["event_type"],
            event_id=event["id"],
            body=body.decode(),
            headers=headers,
            at=iso_ms(self.clock.now()),
            attempt=attempt,
        )
        try:
            with httpx.Client(timeout=WEBHOOK_TIMEOUT_S) as client:
                response = client.post(url, content=body, headers=headers)
            delivery.status, delivery.response = response.status_code, response.text[:2000]
        except httpx.TimeoutException:
            delivery.error = "timeout"
        except httpx.HTTPError as exc:
            delivery.error = f"{type(exc).__name__}: {exc}"
        with self._lock:
            self._deliveries.append(delivery)
        return copy.deepcopy(delivery)

    def notify(
        self, event_type: str, incident: Page | str | JSON, agent_email: str | None = None
    ) -> list[WebhookDelivery]:
        """Send ``event_type`` to every subscription that wants it: the deliveries made now
        (none for a subscription still retrying an earlier webhook of the same incident:
        this one waits behind it, and :meth:`deliver_due` sends both in order)."""
        self._reenable(self.clock.now())
        with self._lock:
            subs = [copy.deepcopy(s) for s in self.subscriptions.values() if s.wants(event_type)]
        if isinstance(incident, str):
            incident = self.page(incident)
        data = self.incident_data(incident) if isinstance(incident, Page) else incident
        body = json.dumps(self.envelope(event_type, data, agent_email)).encode()
        sent: list[WebhookDelivery] = []
        for sub in subs:
            sent += self._queue_and_send(sub, resource_of(body), event_type, body)
        return sent

    def redeliver(self, webhook_id: str) -> WebhookDelivery:
        """Send an earlier delivery again: same body, same ``X-Webhook-Id``, signed with the
        subscription's secrets of now (a retry, NOTES.md "Webhooks v3" Delivery)."""
        with self._lock:
            earlier = next(
                (d for d in reversed(self._deliveries) if d.webhook_id == webhook_id), None
            )
            if earlier is None:
                raise KeyError(f"no delivery {webhook_id}")
            sub = self.subscriptions.get(earlier.subscription_id)
            if sub is None:
                raise KeyError(f"subscription {earlier.subscription_id} is gone")
            secret = list(sub.secrets)
        return self.send_webhook(
            earlier.url,
            earlier.event_type,
            {},
            secret=secret,
            subscription_id=earlier.subscription_id,
            webhook_id=webhook_id,
            body=earlier.body.encode(),
        )

    def acknowledge_from_phone(self, page_id: str, who: str) -> list[WebhookDelivery]:
        """``who`` (email or user id) acknowledges the page in PagerDuty's app: the page is
        acknowledged and ``incident.acknowledged`` goes to the subscribers. A page that is
        not triggered any more changes nothing and sends nothing."""
        return self._from_phone(page_id, who, "acknowledged")

    def resolve_from_phone(self, page_id: str, who: str) -> list[WebhookDelivery]:
        return self._from_phone(page_id, who, "resolved")

    def _from_phone(self, page_id: str, who: str, status: str) -> list[WebhookDelivery]:
        user = self._user_by_email_or_id(who)
        with self._lock:
            page = self._page(page_id)
            if not page.open or page.status == status:
                return []
            page.status, page.updated_at = status, self.clock.now()
            if status == "acknowledged":
                page.acknowledged_by = user.id
            else:
                page.resolved_by = user.id
            page.events.append(
                {"at": iso(page.updated_at), "event_action": f"{status} in the app", "by": user.id}
            )
            snapshot = copy.deepcopy(page)
        return self.notify(f"incident.{status}", snapshot, user.email)
