"""The REST API v2 reads of the PagerDuty emulator: ``GET /oncalls``, ``/users/{id}`` and
``/schedules/{id}`` with their query parameters and JSON shapes (NOTES.md "REST v2 essentials"
and fields_oncalls.txt, fields_user.txt, fields_schedule.txt in shared/reference/pagerduty/)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from bot.sandbox.pagerduty import schedules as sched
from bot.sandbox.pagerduty.account import Account
from bot.sandbox.pagerduty.api_types import (
    CODE_INVALID_INPUT,
    CODE_NOT_FOUND,
    Answer,
    Invalid,
    Query,
    rest_error,
    zone,
)
from bot.sandbox.pagerduty.model import JSON, EscalationPolicy, User, iso

# fields_oncalls.txt: limit/offset pagination (PagerDuty's default page and largest page).
DEFAULT_LIMIT, MAX_LIMIT = 25, 100


def _parse_time(value: str, name: str, tz: tzinfo) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise Invalid(f"{name} is not an ISO 8601 date-time") from exc
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)).astimezone(UTC)


def _parse_bool(value: str | None, name: str) -> bool:
    if value is None or value == "":
        return False
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise Invalid(f"{name} must be true or false")


def _parse_int(value: str | None, name: str, default: int, low: int, high: int) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError as exc:
        raise Invalid(f"{name} must be an integer") from exc
    if not low <= number <= high:
        raise Invalid(f"{name} must be between {low} and {high}")
    return number


class RestApi(Account):
    """The REST API v2 reads, mixed into :class:`~bot.sandbox.pagerduty.PagerDutyEmulator`."""

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
            tz = zone(query.one("time_zone") or self.time_zone)
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
        except Invalid as exc:
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
            raise Invalid("until must not be before since")
        if until - since > sched.MAX_RANGE:
            raise Invalid(f"since and until are at most {sched.MAX_RANGE.days} days apart")
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
        tz = zone(query.one("time_zone") or schedule.time_zone)
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
            raise Invalid("until must be after since")
        if until - since > sched.MAX_RANGE:
            raise Invalid(f"since and until are at most {sched.MAX_RANGE.days} days apart")
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
