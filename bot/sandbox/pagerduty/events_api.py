"""The Events API v2 of the PagerDuty emulator: ``POST /v2/enqueue``, its validation and the
dedup semantics that open, acknowledge and resolve pages (NOTES.md "Events API v2",
fields_events_v2_enqueue.txt in shared/reference/pagerduty/)."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.sandbox.pagerduty.account import Account
from bot.sandbox.pagerduty.api_types import Answer, Invalid
from bot.sandbox.pagerduty.model import EVENT_ACTIONS, JSON, SEVERITIES, Page, Service, iso, new_id

# NOTES.md "Events API v2".
MAX_EVENT_BYTES = 512 * 1024
MAX_SUMMARY = 1024
MAX_DEDUP_KEY = 255


def _events_error(errors: Sequence[str], status: str = "invalid event") -> Answer:
    """NOTES.md "Events API v2": 400 ``{"status", "message", "errors"}``."""
    return Answer(400, {"status": status, "message": "Event object is invalid", "errors": errors})


class EventsApi(Account):
    """The Events API v2, mixed into :class:`~bot.sandbox.pagerduty.PagerDutyEmulator`."""

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
        except Invalid as exc:
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
            raise Invalid(*errors)
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
