"""`PagerDutyEmulator`: an account's users, schedules, escalation policies, services, pages
and webhook subscriptions, answering the Events API v2 and part of REST API v2.

The HTTP layer (app.py) only parses requests and renders `Answer`s; every decision is made
here under one lock, so tests may drive or inspect it directly from their own thread.
Sources: shared/reference/pagerduty/NOTES.md and fields_*.txt (cited by section below).
"""

from __future__ import annotations

import copy
import json
import secrets
import threading
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx

from bot.domain.clock import Clock, SystemClock
from bot.pagerduty.signature import SIGNATURE_HEADER, sign
from bot.sandbox.pagerduty import schedules as sched
from bot.sandbox.pagerduty.faults import REST_RATE_LIMIT, FaultOutcome, PdFaults, RestRateLimit
from bot.sandbox.pagerduty.model import (
    EVENT_ACTIONS,
    JSON,
    SEVERITIES,
    Call,
    EscalationPolicy,
    Page,
    Service,
    User,
    WebhookDelivery,
    WebhookSubscription,
    iso,
    iso_ms,
    new_event_id,
    new_id,
)

# NOTES.md "Events API v2".
MAX_EVENT_BYTES = 512 * 1024
MAX_SUMMARY = 1024
MAX_DEDUP_KEY = 255
ROUTING_KEY_LENGTH = 32
# NOTES.md "Webhooks v3": PagerDuty waits 5 s for a 2xx.
WEBHOOK_TIMEOUT_S = 5.0
# fields_oncalls.txt: limit/offset pagination (PagerDuty's default page and largest page).
DEFAULT_LIMIT, MAX_LIMIT = 25, 100
# REST error codes: NOTES.md gives only the envelope, so these numbers are the emulator's.
CODE_INVALID_INPUT, CODE_AUTH, CODE_NOT_FOUND, CODE_RATE_LIMIT, CODE_INTERNAL = (
    2001,
    2006,
    2100,
    2020,
    2000,
)


@dataclass(frozen=True)
class Answer:
    status: int
    body: JSON
    headers: dict[str, str] = field(default_factory=dict)


class _Invalid(Exception):
    def __init__(self, *errors: str) -> None:
        super().__init__("; ".join(errors))
        self.errors = list(errors)


def rest_error(status: int, code: int, message: str, errors: Sequence[str] = ()) -> Answer:
    """NOTES.md "REST v2 essentials": ``{"error": {"message", "code", "errors"}}``."""
    body: JSON = {"error": {"message": message, "code": code}}
    if errors:
        body["error"]["errors"] = list(errors)
    return Answer(status, body)


def _events_error(errors: Sequence[str], status: str = "invalid event") -> Answer:
    """NOTES.md "Events API v2": 400 ``{"status", "message", "errors"}``."""
    return Answer(400, {"status": status, "message": "Event object is invalid", "errors": errors})


def _zone(name: str) -> tzinfo:
    if name in ("UTC", "Etc/UTC"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise _Invalid(f"time_zone {name!r} is not a known time zone") from exc


def _parse_time(value: str, name: str, tz: tzinfo) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise _Invalid(f"{name} is not an ISO 8601 date-time") from exc
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)).astimezone(UTC)


def _parse_bool(value: str | None, name: str) -> bool:
    if value is None or value == "":
        return False
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise _Invalid(f"{name} must be true or false")


def _parse_int(value: str | None, name: str, default: int, low: int, high: int) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError as exc:
        raise _Invalid(f"{name} must be an integer") from exc
    if not low <= number <= high:
        raise _Invalid(f"{name} must be between {low} and {high}")
    return number


def _as_time(value: datetime | str) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


class Query:
    """Query parameters of one request, with ``name[]`` lists kept in order."""

    def __init__(self, items: Iterable[tuple[str, str]]) -> None:
        self.items = list(items)

    def one(self, name: str) -> str | None:
        values = [v for k, v in self.items if k == name]
        return values[-1] if values else None

    def many(self, name: str) -> list[str]:
        return [v for k, v in self.items if k == f"{name}[]"]


class PagerDutyEmulator:
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
        self.clock: Clock = clock or SystemClock()
        self.api_tokens = {api_token}
        self.subdomain = subdomain
        self.time_zone = time_zone
        self.faults = PdFaults()
        self.rate_limit = RestRateLimit(self.clock.now, rest_rate_limit)
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

    def reset(self) -> None:
        """Forget everything: the account, pages, calls, deliveries, faults and limits."""
        with self._lock:
            self._fresh()
        self.faults.clear()
        self.rate_limit.reset()

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
        _zone(time_zone)
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

    # ------------------------------------------------------------------ inspection
    @property
    def pages(self) -> list[Page]:
        with self._lock:
            return copy.deepcopy(self._pages)

    def page(self, page_id: str) -> Page:
        with self._lock:
            return copy.deepcopy(self._page(page_id))

    def _page(self, page_id: str) -> Page:
        for page in self._pages:
            if page.id == page_id:
                return page
        raise KeyError(f"no page {page_id}")

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
                    {"id": s.id, "url": s.url, "events": s.events, "active": s.active}
                    for s in self.subscriptions.values()
                ],
                "deliveries": [d.to_json() for d in self._deliveries],
                "faults": [f.to_json() for f in self.faults.active()],
            }

    # ------------------------------------------------------------------ Events API v2
    def enqueue(self, raw: bytes) -> Answer:
        """``POST /v2/enqueue`` (NOTES.md "Events API v2", fields_events_v2_enqueue.txt)."""
        if len(raw) > MAX_EVENT_BYTES:
            return _events_error([f"Event is larger than {MAX_EVENT_BYTES} bytes"])
        try:
            body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _events_error(["Body is not valid JSON"], status="invalid request")
        if not isinstance(body, dict):
            return _events_error(["Body must be a JSON object"], status="invalid request")
        try:
            event = self._validate_event(body)
        except _Invalid as exc:
            return _events_error(exc.errors)
        with self._lock:
            service = next(
                (s for s in self.services.values() if s.integration_key == event["routing_key"]),
                None,
            )
            if service is None:
                return _events_error(["routing_key is not the key of a known integration"])
            dedup_key = event.get("dedup_key") or uuid.uuid4().hex
            outcome, page = self._apply(service, event["event_action"], dedup_key, event)
            record = {
                "at": iso(self.clock.now()),
                "event_action": event["event_action"],
                "routing_key": service.integration_key,
                "dedup_key": dedup_key,
                "outcome": outcome,
                "page_id": page.id if page else None,
                "event": copy.deepcopy(body),
            }
            self._events.append(record)
            if page is not None:
                page.events.append({k: v for k, v in record.items() if k != "page_id"})
        return Answer(
            202, {"status": "success", "message": "Event processed", "dedup_key": dedup_key}
        )

    @staticmethod
    def _validate_event(body: JSON) -> JSON:
        errors = []
        for name in ("routing_key", "event_action"):
            if not isinstance(body.get(name), str) or not body[name]:
                errors.append(f"'{name}' is missing or not a string")
        action = body.get("event_action")
        if isinstance(action, str) and action and action not in EVENT_ACTIONS:
            errors.append(f"'event_action' must be one of {', '.join(EVENT_ACTIONS)}")
        dedup_key = body.get("dedup_key")
        if dedup_key is not None and (not isinstance(dedup_key, str) or not dedup_key):
            errors.append("'dedup_key' must be a non-empty string")
        elif isinstance(dedup_key, str) and len(dedup_key) > MAX_DEDUP_KEY:
            errors.append(f"'dedup_key' is longer than {MAX_DEDUP_KEY} characters")
        if action in ("acknowledge", "resolve") and dedup_key is None:
            errors.append(f"'dedup_key' is required to {action}")
        if action == "trigger":
            errors += _payload_errors(body.get("payload"))
            errors += _list_errors(body, "links", "href")
            errors += _list_errors(body, "images", "src")
        if errors:
            raise _Invalid(*errors)
        return body

    def _apply(
        self, service: Service, action: str, dedup_key: str, event: JSON
    ) -> tuple[str, Page | None]:
        """Dedup semantics (NOTES.md "Events API v2", Semantics): the open alert of this
        routing key and dedup key takes the event; without one, a trigger opens a page and an
        acknowledge or resolve is dropped."""
        now = self.clock.now()
        page = next(
            (
                p
                for p in reversed(self._pages)
                if p.open and p.routing_key == service.integration_key and p.dedup_key == dedup_key
            ),
            None,
        )
        if action == "trigger":
            if page is not None:
                page.updated_at = now
                return "deduplicated", page
            payload = event["payload"]
            page = Page(
                id=new_id("Q"),
                number=len(self._pages) + 1,
                routing_key=service.integration_key,
                service_id=service.id,
                dedup_key=dedup_key,
                summary=payload["summary"],
                source=payload["source"],
                severity=payload["severity"],
                created_at=now,
                updated_at=now,
                custom_details=copy.deepcopy(payload.get("custom_details")),
                links=copy.deepcopy(event.get("links") or []),
                assignees=self._on_call_ids(service.escalation_policy_id, 1, now),
            )
            self._pages.append(page)
            return "created", page
        if page is None:
            return "dropped", None
        if action == "acknowledge":
            if page.status == "acknowledged":
                return "already_acknowledged", page
            page.status, page.updated_at = "acknowledged", now
            return "acknowledged", page
        page.status, page.updated_at = "resolved", now
        return "resolved", page

    def _on_call_ids(self, policy_id: str, level: int, when: datetime) -> list[str]:
        policy = self.escalation_policies[policy_id]
        if level > len(policy.levels):
            return []
        ids: list[str] = []
        for target in policy.levels[level - 1]:
            user = self.schedules[target].user_at(when) if target in self.schedules else target
            if user is not None and user not in ids:
                ids.append(user)
        return ids

    # ------------------------------------------------------------------ REST API v2
    def authenticate(self, authorization: str | None) -> str | None:
        """The token of ``Authorization: Token token=...`` if it is one of ours."""
        scheme, _, rest = (authorization or "").strip().partition(" ")
        key, _, token = rest.strip().partition("=")
        if scheme.lower() != "token" or key.strip() != "token":
            return None
        token = token.strip()
        return token if token in self.api_tokens else None

    def rest(self, endpoint: str, query: Query, path_id: str | None = None) -> Answer:
        """Answer an authenticated REST request (the app checked the token and limits)."""
        try:
            tz = _zone(query.one("time_zone") or self.time_zone)
            with self._lock:
                if endpoint == "rest.oncalls":
                    return Answer(200, self._oncalls(query, tz))
                if endpoint == "rest.users":
                    user = self.users.get(path_id or "")
                    if user is None:
                        return rest_error(404, CODE_NOT_FOUND, "Not Found")
                    return Answer(200, {"user": self._user_json(user, query.many("include"))})
                if endpoint == "rest.schedules":
                    schedule = self.schedules.get(path_id or "")
                    if schedule is None:
                        return rest_error(404, CODE_NOT_FOUND, "Not Found")
                    return Answer(200, {"schedule": self._schedule_json(schedule, query)})
        except _Invalid as exc:
            return rest_error(400, CODE_INVALID_INPUT, "Invalid Input Provided", exc.errors)
        return rest_error(404, CODE_NOT_FOUND, "Not Found")

    def _window(self, query: Query, tz: tzinfo) -> tuple[datetime, datetime]:
        now = self.clock.now().astimezone(UTC)
        since_raw, until_raw = query.one("since"), query.one("until")
        since = _parse_time(since_raw, "since", tz) if since_raw else now
        until = _parse_time(until_raw, "until", tz) if until_raw else now
        if since_raw and not until_raw and since > until:
            until = since
        if until < since:
            raise _Invalid("until must not be before since")
        if until - since > sched.MAX_RANGE:
            raise _Invalid(f"since and until are at most {sched.MAX_RANGE.days} days apart")
        return since, until

    def _oncalls(self, query: Query, tz: tzinfo) -> JSON:
        """GET /oncalls (fields_oncalls.txt). On-calls come from escalation policies: a
        schedule target gives its shifts overlapping [since, until] (whole shifts), a user
        target a permanent on-call (no schedule, start and end null)."""
        since, until = self._window(query, tz)
        limit = _parse_int(query.one("limit"), "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        offset = _parse_int(query.one("offset"), "offset", 0, 0, 10_000)
        earliest = _parse_bool(query.one("earliest"), "earliest")
        want_total = _parse_bool(query.one("total"), "total")
        includes = set(query.many("include"))
        policy_ids = set(query.many("escalation_policy_ids"))
        schedule_ids = set(query.many("schedule_ids"))
        user_ids = set(query.many("user_ids"))
        rows: list[tuple[str, int, datetime | None, str, str | None, sched.Entry | None]] = []
        for policy in sorted(self.escalation_policies.values(), key=lambda p: p.id):
            if policy_ids and policy.id not in policy_ids:
                continue
            for level, targets in enumerate(policy.levels, 1):
                for target in targets:
                    if target in self.schedules:
                        if schedule_ids and target not in schedule_ids:
                            continue
                        for shift in sched.shifts(self.schedules[target], since, until):
                            rows.append(
                                (policy.id, level, shift.start, shift.user_id, target, shift)
                            )
                    elif not schedule_ids or "null" in schedule_ids:
                        rows.append((policy.id, level, None, target, None, None))
        if user_ids:
            rows = [r for r in rows if r[3] in user_ids]
        far_past = datetime.min.replace(tzinfo=UTC)
        rows.sort(key=lambda r: (r[0], r[1], r[2] or far_past, r[3]))
        if earliest:
            seen: set[tuple[str, int, str]] = set()
            kept = []
            for row in rows:
                if (row[0], row[1], row[3]) not in seen:
                    seen.add((row[0], row[1], row[3]))
                    kept.append(row)
            rows = kept
        page = rows[offset : offset + limit]
        oncalls = []
        for policy_id, level, _, user_id, schedule_id, entry in page:
            policy = self.escalation_policies[policy_id]
            user = self.users[user_id]
            schedule = self.schedules[schedule_id] if schedule_id else None
            oncalls.append(
                {
                    "escalation_policy": (
                        self._policy_json(policy)
                        if "escalation_policies" in includes
                        else self._ref(
                            "escalation_policies", "escalation_policy", policy.id, policy.name
                        )
                    ),
                    "user": (
                        self._user_json(user)
                        if "users" in includes
                        else self._ref("users", "user", user.id, user.name)
                    ),
                    "schedule": None
                    if schedule is None
                    else (
                        self._schedule_summary(schedule)
                        if "schedules" in includes
                        else self._ref("schedules", "schedule", schedule.id, schedule.name)
                    ),
                    "escalation_level": level,
                    "start": iso(entry.start, tz) if entry else None,
                    "end": iso(entry.end, tz) if entry else None,
                }
            )
        return {
            "oncalls": oncalls,
            "limit": limit,
            "offset": offset,
            "more": offset + limit < len(rows),
            "total": len(rows) if want_total else None,
        }

    def _user_json(self, user: User, includes: Iterable[str] = ()) -> JSON:
        """fields_user.txt."""
        ref = self._ref("users", "user", user.id, user.name)
        contact = {
            "id": f"{user.id}E",
            "type": "email_contact_method",
            "summary": "Default",
            "label": "Default",
            "address": user.email,
            "self": self._self(f"users/{user.id}/contact_methods", f"{user.id}E"),
            "html_url": None,
        }
        contact_ref = {k: contact[k] for k in ("id", "summary", "self", "html_url")} | {
            "type": "email_contact_method_reference"
        }
        return ref | {
            "type": "user",
            "name": user.name,
            "email": user.email,
            "time_zone": user.time_zone,
            "color": user.color,
            "role": user.role,
            "avatar_url": f"https://{self.subdomain}.pagerduty.example/avatars/{user.id}.png",
            "description": user.description,
            "invitation_sent": False,
            "job_title": user.job_title,
            "teams": [],
            "contact_methods": [contact if "contact_methods" in set(includes) else contact_ref],
            "notification_rules": [],
        }

    def _policy_json(self, policy: EscalationPolicy) -> JSON:
        rules = []
        for level, targets in enumerate(policy.levels, 1):
            refs = [
                self._ref("schedules", "schedule", t, self.schedules[t].name)
                if t in self.schedules
                else self._ref("users", "user", t, self.users[t].name)
                for t in targets
            ]
            rules.append(
                {
                    "id": f"{policy.id}R{level}",
                    "escalation_delay_in_minutes": policy.escalation_delay_in_minutes,
                    "targets": refs,
                }
            )
        return self._ref("escalation_policies", "escalation_policy", policy.id, policy.name) | {
            "type": "escalation_policy",
            "name": policy.name,
            "escalation_rules": rules,
        }

    def _schedule_summary(self, schedule: sched.Schedule) -> JSON:
        return self._ref("schedules", "schedule", schedule.id, schedule.name) | {
            "type": "schedule",
            "name": schedule.name,
            "time_zone": schedule.time_zone,
            "description": schedule.description,
        }

    def _schedule_json(self, schedule: sched.Schedule, query: Query) -> JSON:
        """GET /schedules/{id} (fields_schedule.txt). Entries are rendered over since..until
        (each defaults to two weeks from the other; neither: from now for two weeks), cut at
        the bounds; ``overflow=true`` shows the final schedule's shifts whole."""
        tz = _zone(query.one("time_zone") or schedule.time_zone)
        two_weeks = timedelta(days=14)
        since_raw, until_raw = query.one("since"), query.one("until")
        if since_raw and until_raw:
            since = _parse_time(since_raw, "since", tz)
            until = _parse_time(until_raw, "until", tz)
        elif until_raw:
            until = _parse_time(until_raw, "until", tz)
            since = until - two_weeks
        else:
            since = _parse_time(since_raw, "since", tz) if since_raw else self.clock.now()
            until = since + two_weeks
        if until <= since:
            raise _Invalid("until must be after since")
        if until - since > sched.MAX_RANGE:
            raise _Invalid(f"since and until are at most {sched.MAX_RANGE.days} days apart")
        overflow = _parse_bool(query.one("overflow"), "overflow")

        def rendered(entries: list[sched.Entry]) -> list[JSON]:
            return [
                {
                    "user": self._ref("users", "user", e.user_id, self.users[e.user_id].name),
                    "start": iso(e.start, tz),
                    "end": iso(e.end, tz),
                }
                for e in entries
            ]

        layers = []
        for layer in schedule.layers:
            entries = sched.layer_entries(layer, since, until)
            layers.append(
                {
                    "id": layer.id,
                    "name": layer.name,
                    "start": iso(layer.start, tz),
                    "end": iso(layer.end, tz),
                    "users": [
                        {"user": self._ref("users", "user", u, self.users[u].name)}
                        for u in layer.users
                    ],
                    "restrictions": [],
                    "rotation_virtual_start": iso(layer.virtual_start, tz),
                    "rotation_turn_length_seconds": layer.rotation_turn_length_seconds,
                    "rendered_schedule_entries": rendered(entries),
                    "rendered_coverage_percentage": sched.coverage(entries, since, until),
                }
            )
        # overflow=true: the final schedule's first and last shifts are shown whole.
        final = (sched.shifts if overflow else sched.final_entries)(schedule, since, until)
        overrides = sched.override_entries(schedule, since, until)
        policies = [
            self._ref("escalation_policies", "escalation_policy", p.id, p.name)
            for p in self.escalation_policies.values()
            if any(schedule.id in level for level in p.levels)
        ]
        return self._schedule_summary(schedule) | {
            "time_zone": tz.key if isinstance(tz, ZoneInfo) else "UTC",
            "schedule_layers": layers,
            "final_schedule": {
                "name": "Final Schedule",
                "rendered_schedule_entries": rendered(final),
                "rendered_coverage_percentage": sched.coverage(final, since, until),
            },
            "overrides_subschedule": {
                "name": "Overrides",
                "rendered_schedule_entries": rendered(overrides),
                "rendered_coverage_percentage": sched.coverage(overrides, since, until),
            },
            "escalation_policies": policies,
            "users": [
                self._ref("users", "user", u, self.users[u].name) for u in schedule.user_ids()
            ],
            "teams": [],
        }

    # ------------------------------------------------------------------ Webhooks v3
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
        """Send ``event_type`` to every subscription that wants it (one delivery each)."""
        with self._lock:
            subs = [copy.deepcopy(s) for s in self.subscriptions.values() if s.wants(event_type)]
        if isinstance(incident, str):
            incident = self.page(incident)
        data = self.incident_data(incident) if isinstance(incident, Page) else incident
        body = json.dumps(self.envelope(event_type, data, agent_email)).encode()
        return [
            self.send_webhook(
                s.url, event_type, data, secret=s.secrets, subscription_id=s.id, body=body
            )
            for s in subs
        ]

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


def _payload_errors(payload: Any) -> list[str]:
    if not isinstance(payload, dict):
        return ["'payload' is required to trigger and must be an object"]
    errors = []
    for name in ("summary", "source"):
        if not isinstance(payload.get(name), str) or not payload[name].strip():
            errors.append(f"'payload.{name}' is missing or empty")
    if isinstance(payload.get("summary"), str) and len(payload["summary"]) > MAX_SUMMARY:
        errors.append(f"'payload.summary' is longer than {MAX_SUMMARY} characters")
    if payload.get("severity") not in SEVERITIES:
        errors.append(f"'payload.severity' must be one of {', '.join(SEVERITIES)}")
    timestamp = payload.get("timestamp")
    if timestamp is not None:
        try:
            datetime.fromisoformat(str(timestamp))
        except ValueError:
            errors.append("'payload.timestamp' is not an ISO 8601 date-time")
    for name in ("component", "group", "class"):
        if name in payload and not isinstance(payload[name], str):
            errors.append(f"'payload.{name}' must be a string")
    if "custom_details" in payload and not isinstance(payload["custom_details"], dict | None):
        errors.append("'payload.custom_details' must be an object")
    return errors


def _list_errors(body: JSON, name: str, required: str) -> list[str]:
    items = body.get(name)
    if items is None:
        return []
    if not isinstance(items, list):
        return [f"'{name}' must be an array"]
    errors = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get(required), str):
            errors.append(f"'{name}[{i}].{required}' is required")
    return errors
