"""`Account`: the state of one emulated PagerDuty account (users, schedules, escalation
policies, services, webhook subscriptions, pages, events, calls, deliveries) under one lock,
the reference objects that point into it, and its set-up.

The API mixins (events_api.py, rest_api.py, webhooks.py) and the inspection (inspection.py)
build on it; `PagerDutyEmulator` (emulator.py) puts them together.
"""

from __future__ import annotations

import copy
import secrets
import threading
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from bot.domain.clock import Clock, SystemClock
from bot.sandbox.pagerduty import schedules as sched
from bot.sandbox.pagerduty.api_types import zone
from bot.sandbox.pagerduty.model import (
    JSON,
    Call,
    EscalationPolicy,
    Page,
    Service,
    User,
    WebhookDelivery,
    WebhookSubscription,
)

ROUTING_KEY_LENGTH = 32


def _as_time(value: datetime | str) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


class Account:
    """One account's state. Times come from ``clock`` (the project's Clock)."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        api_token: str = "pd-emulator-token",
        subdomain: str = "oor-sandbox",
        time_zone: str = "UTC",
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self.api_tokens = {api_token}
        self.subdomain = subdomain
        self.time_zone = time_zone
        self._lock = threading.RLock()
        self._base_url = ""
        self._fresh()

    def _fresh(self) -> None:
        self.users: dict[str, User] = {}
        self.schedules: dict[str, sched.Schedule] = {}
        self.escalation_policies: dict[str, EscalationPolicy] = {}
        self.services: dict[str, Service] = {}
        self.subscriptions: dict[str, WebhookSubscription] = {}
        self._pages: list[Page] = []
        self._events: list[JSON] = []
        self._calls: list[Call] = []
        self._deliveries: list[WebhookDelivery] = []

    # ------------------------------------------------------------------ URLs
    @property
    def base_url(self) -> str:
        """Root URL the emulator is served at (ends with "/"): both the REST API's and the
        Events API's base (``{base_url}v2/enqueue``)."""
        with self._lock:
            return self._base_url

    @base_url.setter
    def base_url(self, value: str) -> None:
        with self._lock:
            self._base_url = value if not value or value.endswith("/") else value + "/"

    def note_base_url(self, value: str) -> None:
        with self._lock:
            if not self._base_url:
                self.base_url = value

    def _self(self, kind: str, id_: str) -> str:
        return f"{self._base_url}{kind}/{id_}"

    def _html(self, kind: str, id_: str) -> str:
        return f"https://{self.subdomain}.pagerduty.example/{kind}/{id_}"

    def _ref(self, kind: str, type_: str, id_: str, summary: str) -> JSON:
        """A reference object (NOTES.md "REST v2 essentials": id, type, summary, self,
        html_url)."""
        return {
            "id": id_,
            "type": f"{type_}_reference",
            "summary": summary,
            "self": self._self(kind, id_),
            "html_url": self._html(kind, id_),
        }

    # ------------------------------------------------------------------ set-up
    def add_user(
        self, id: str, name: str, email: str, *, time_zone: str = "UTC", **extra: Any
    ) -> User:
        with self._lock:
            if id in self.users:
                raise ValueError(f"user {id} exists")
            if any(u.email.lower() == email.lower() for u in self.users.values()):
                raise ValueError(f"a user has the email {email}")
            user = User(id, name, email, time_zone, **extra)
            self.users[id] = user
            return user

    def add_schedule(
        self,
        id: str,
        name: str,
        *,
        layers: Iterable[sched.Layer | JSON] = (),
        entries: Iterable[sched.Entry | tuple[Any, Any, str] | JSON] = (),
        time_zone: str = "UTC",
        description: str = "",
    ) -> sched.Schedule:
        """Rotation ``layers`` (later ones cover earlier ones) and fixed ``entries`` (start,
        end, user id) that cover every layer, like overrides. Times: aware datetimes or ISO
        8601 strings."""
        built_layers = []
        for i, layer in enumerate(layers, 1):
            if isinstance(layer, dict):
                raw = dict(layer)
                for key in ("start", "end", "rotation_virtual_start"):
                    if raw.get(key) is not None:
                        raw[key] = _as_time(raw[key])
                layer = sched.Layer(**raw)
            layer.id = layer.id or f"{id}L{i}"
            layer.name = layer.name or f"Layer {i}"
            built_layers.append(layer)
        built_entries = []
        for entry in entries:
            if isinstance(entry, dict):
                start, end, user = entry["start"], entry["end"], entry["user_id"]
            elif isinstance(entry, tuple):
                start, end, user = entry
            else:
                start, end, user = entry.start, entry.end, entry.user_id
            start, end = sched.aware(_as_time(start)), sched.aware(_as_time(end))
            if end <= start:
                raise ValueError("an entry must end after it starts")
            built_entries.append(sched.Entry(user, start, end))
        zone(time_zone)
        schedule = sched.Schedule(id, name, time_zone, description, built_layers, built_entries)
        with self._lock:
            if id in self.schedules:
                raise ValueError(f"schedule {id} exists")
            unknown = set(schedule.user_ids()) - set(self.users)
            if unknown:
                raise ValueError(f"unknown users {sorted(unknown)}")
            self.schedules[id] = schedule
        return schedule

    def add_escalation_policy(
        self, id: str, name: str, levels: Sequence[Sequence[str]], *, delay_minutes: int = 30
    ) -> EscalationPolicy:
        """``levels``: for each escalation level (1, 2, ...) its targets, schedule or user
        ids."""
        with self._lock:
            if id in self.escalation_policies:
                raise ValueError(f"escalation policy {id} exists")
            for target in (t for level in levels for t in level):
                if target not in self.schedules and target not in self.users:
                    raise ValueError(f"unknown escalation target {target}")
            policy = EscalationPolicy(id, name, [list(level) for level in levels], delay_minutes)
            self.escalation_policies[id] = policy
            return policy

    def add_service(
        self, id: str, name: str, escalation_policy_id: str, integration_key: str | None = None
    ) -> Service:
        """A service with one Events API v2 integration; its key is the ``routing_key``."""
        key = integration_key or secrets.token_hex(ROUTING_KEY_LENGTH // 2)
        if len(key) != ROUTING_KEY_LENGTH:
            raise ValueError(f"an integration key has {ROUTING_KEY_LENGTH} characters")
        with self._lock:
            if id in self.services:
                raise ValueError(f"service {id} exists")
            if escalation_policy_id not in self.escalation_policies:
                raise ValueError(f"unknown escalation policy {escalation_policy_id}")
            if any(s.integration_key == key for s in self.services.values()):
                raise ValueError("integration key in use")
            service = Service(id, name, escalation_policy_id, key)
            self.services[id] = service
            return service

    # ------------------------------------------------------------------ pages
    def page(self, page_id: str) -> Page:
        with self._lock:
            return copy.deepcopy(self._page(page_id))

    def _page(self, page_id: str) -> Page:
        for page in self._pages:
            if page.id == page_id:
                return page
        raise KeyError(f"no page {page_id}")
