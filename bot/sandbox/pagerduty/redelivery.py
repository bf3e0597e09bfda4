"""How the emulated PagerDuty keeps delivering Webhooks v3, per
shared/reference/pagerduty/NOTES.md, "Webhooks v3 (outbound from PagerDuty to the bot)",
the "Delivery" point:

- a delivery counts as received on a 2xx within 5 s;
- a timeout, a 5xx, a 429 or a connection failure is retried, for up to 48 hours, in order
  per subscription and resource (an incident's later webhook waits behind its earlier one);
- any other 4xx drops the webhook (no retry);
- three drops in a row disable the subscription for 24 hours.

The notes give no retry intervals: here the n-th retry waits 30 s x 2^(n-1), at most an
hour (an assumption). Retries are sent by :meth:`Redelivery.deliver_due`, which nothing
calls by itself: tests call it on their clock, the sandbox on a tick.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.sandbox.pagerduty.model import WebhookDelivery, WebhookSubscription

RETRY_FOR = timedelta(hours=48)
DISABLE_AFTER_DROPS = 3
DISABLED_FOR = timedelta(hours=24)
FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=1)

DELIVERED, RETRY, DROPPED = "delivered", "retry", "dropped"


def outcome_of(delivery: WebhookDelivery) -> str:
    """What PagerDuty makes of an attempt's answer (NOTES.md, "Delivery")."""
    if delivery.delivered:
        return DELIVERED
    if delivery.status is None or delivery.status == 429 or delivery.status >= 500:
        return RETRY  # timeout, connection refused, DNS, overload
    return DROPPED


def retry_wait(attempts: int) -> timedelta:
    """After ``attempts`` failed attempts (an assumption: the notes give no intervals)."""
    return min(FIRST_RETRY * 2 ** min(attempts - 1, 16), LONGEST_WAIT)  # no overflow


@dataclass
class Pending:
    """A webhook not yet received: re-sent with the same body and ``X-Webhook-Id``."""

    webhook_id: str
    event_type: str
    body: bytes
    first_at: datetime
    next_at: datetime
    attempts: int = 0


Key = tuple[str, str]  # (subscription id, resource id)


class Redelivery:
    """Per subscription and resource, the webhooks waiting for (re)delivery, oldest first.
    Mixed into the emulator's :class:`~bot.sandbox.pagerduty.webhooks.Webhooks`."""

    _lock: threading.RLock
    subscriptions: dict[str, WebhookSubscription]

    def _fresh_redelivery(self) -> None:
        self._queues: dict[Key, deque[Pending]] = {}
        # One sender at a time: deliveries of one subscription and resource stay in order
        # whichever thread (a test, the sandbox's tick, a button) sends.
        self._sending = threading.RLock()

    def _now(self) -> datetime:
        raise NotImplementedError

    def _attempt(self, sub: WebhookSubscription, pending: Pending) -> WebhookDelivery:
        raise NotImplementedError

    # ------------------------------------------------------------------ state
    def _reenable(self, now: datetime) -> None:
        with self._lock:
            for sub in self.subscriptions.values():
                if sub.disabled_until is not None and sub.disabled_until <= now:
                    sub.active, sub.disabled_until, sub.consecutive_drops = True, None, 0

    def waiting(self) -> list[dict[str, object]]:
        """The webhooks waiting for a retry (the sandbox and tests show them)."""
        with self._lock:
            return [
                {
                    "subscription": sub_id,
                    "resource": resource,
                    "webhook_id": p.webhook_id,
                    "event_type": p.event_type,
                    "attempts": p.attempts,
                    "next_at": p.next_at.isoformat(),
                }
                for (sub_id, resource), queue in self._queues.items()
                for p in queue
            ]

    # ------------------------------------------------------------------ sending
    def _queue_and_send(
        self, sub: WebhookSubscription, resource: str, event_type: str, body: bytes
    ) -> list[WebhookDelivery]:
        """A new webhook for ``sub``: sent now unless earlier ones of the same resource
        are still waiting (then it waits behind them)."""
        now = self._now()
        pending = Pending(str(uuid.uuid4()), event_type, body, now, now)
        with self._sending:
            with self._lock:
                queue = self._queues.setdefault((sub.id, resource), deque())
                queue.append(pending)
                behind = len(queue) > 1
            if behind:
                return []
            return self._send_head((sub.id, resource), now)

    def deliver_due(self) -> list[WebhookDelivery]:
        """Retry every waiting webhook whose time has come, in order; a subscription
        disabled for 24 hours is enabled again once they are over."""
        now = self._now()
        self._reenable(now)
        sent: list[WebhookDelivery] = []
        with self._sending:
            with self._lock:
                keys = list(self._queues)
            for key in keys:
                sent += self._send_head(key, now)
        return sent

    def _send_head(self, key: Key, now: datetime) -> list[WebhookDelivery]:
        """Send the queue's head while it is due and gets through (then the next one)."""
        sent: list[WebhookDelivery] = []
        while True:
            with self._lock:
                queue = self._queues.get(key)
                sub = self.subscriptions.get(key[0])
                if not queue or sub is None or not sub.active:
                    if queue is not None and not queue:
                        del self._queues[key]
                    return sent
                head = queue[0]
                if head.next_at > now:
                    return sent
            delivery = self._attempt(sub, head)
            sent.append(delivery)
            if not self._settle(key, head, delivery, now):
                return sent

    def _settle(self, key: Key, head: Pending, delivery: WebhookDelivery, now: datetime) -> bool:
        """Record the attempt's outcome; True when the queue may go on to the next one."""
        outcome = outcome_of(delivery)
        with self._lock:
            sub = self.subscriptions.get(key[0])
            queue = self._queues.get(key)
            head.attempts += 1
            if outcome == RETRY and now - head.first_at < RETRY_FOR:
                head.next_at = now + retry_wait(head.attempts)
                return False
            if queue and queue[0] is head:
                queue.popleft()
            if sub is None:
                return True
            if outcome == DELIVERED:
                sub.consecutive_drops = 0
                return True
            # Dropped: a 4xx, or 48 hours of failures.
            sub.consecutive_drops += 1
            if sub.consecutive_drops >= DISABLE_AFTER_DROPS:
                sub.active, sub.disabled_until = False, now + DISABLED_FOR
                # What waited for it is not sent when it comes back (an assumption).
                for other in [k for k in self._queues if k[0] == sub.id]:
                    del self._queues[other]
                return False
            return True


def resource_of(body: bytes) -> str:
    """The resource a webhook is about: its ``event.data.id`` (the incident)."""
    data = json.loads(body).get("event", {}).get("data") or {}
    return str(data.get("id") or "")


__all__ = ["Redelivery", "outcome_of", "resource_of", "retry_wait"]
