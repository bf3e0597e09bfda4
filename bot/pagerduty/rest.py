"""PagerDuty's REST API v2, the one read the bot needs: who is on call now.

Rules (tests/fixtures/pagerduty/NOTES.md "REST v2 essentials", fields_oncalls.txt):
``Authorization: Token token=<key>`` and ``Accept: application/vnd.pagerduty+json;version=2``;
``GET /oncalls`` filtered by ``schedule_ids[]`` or ``escalation_policy_ids[]`` (the filters
combine, so schedules and policies are asked separately), over now (``since``/``until``
default to the current time); ``include[]=users`` puts each user's email in the answer (else
``GET /users/{id}``); lists are paginated by ``offset``/``limit`` with ``more``. A policy
target counts only its ``escalation_level`` (level 1 unless the plan says otherwise); a
schedule target counts whoever the schedule has on call, at any level of any policy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import httpx
import structlog

from bot.domain.clock import Clock, SystemClock
from bot.domain.plan_paging import OnCallTarget
from bot.outbox.outcomes import Transient
from bot.pagerduty.outcomes import check_answer, transport_failure
from bot.paging.port import OnCallPerson

log = structlog.get_logger(__name__)

DEFAULT_API_URL = "https://api.pagerduty.com"
ACCEPT = "application/vnd.pagerduty+json;version=2"
PAGE_LIMIT = 100  # the largest page /oncalls gives
# A team's on-call answer is a page or two; past this something is wrong (a loop).
MAX_PAGES = 20
DEFAULT_TIMEOUT_SECONDS = 10.0

_FILTERS = {"schedule": "schedule_ids[]", "escalation_policy": "escalation_policy_ids[]"}


class PagerDutyRest:
    """A REST client holding the API token; thread-safe."""

    def __init__(
        self,
        token: str,
        api_url: str = DEFAULT_API_URL,
        *,
        clock: Clock | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        transport: httpx.BaseTransport | None = None,
        while_waiting: Callable[[], AbstractContextManager[None]] = nullcontext,
    ) -> None:
        if not token:
            raise ValueError("a PagerDuty API token is needed")
        self._clock = clock or SystemClock()
        self._while_waiting = while_waiting
        self._client = httpx.Client(
            base_url=api_url.rstrip("/"),
            timeout=timeout,
            transport=transport,
            headers={"Authorization": f"Token token={token}", "Accept": ACCEPT},
        )

    def close(self) -> None:
        self._client.close()

    def on_call(self, targets: Sequence[OnCallTarget]) -> list[OnCallPerson]:
        people: list[OnCallPerson] = []
        emails: dict[str, str] = {}  # user id -> email, for users the answer left without one
        for kind, param in _FILTERS.items():
            of_kind = [t for t in dict.fromkeys(targets) if t.kind == kind]
            if not of_kind:
                continue
            rows = self._oncalls([(param, i) for i in dict.fromkeys(t.id for t in of_kind)])
            for target in of_kind:
                seen: set[str] = set()
                for row in rows:
                    user = row.get("user") or {}
                    user_id = str(user.get("id") or "")
                    level = row.get("escalation_level")
                    if not user_id or user_id in seen or not _serves(row, target):
                        continue
                    seen.add(user_id)
                    email = user.get("email") or emails.get(user_id) or self._email(user_id)
                    if not email:
                        log.warning("pagerduty_on_call_without_email", user=user_id)
                        continue
                    emails[user_id] = email
                    name = str(user.get("name") or user.get("summary") or email)
                    people.append(
                        OnCallPerson(email, name, target, level if isinstance(level, int) else 1)
                    )
        return people

    def _oncalls(self, filters: list[tuple[str, str]]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        offset = 0
        for _ in range(MAX_PAGES):
            extra = [("include[]", "users"), ("limit", str(PAGE_LIMIT)), ("offset", str(offset))]
            body = self._get("/oncalls", [*filters, *extra])
            page = body.get("oncalls")
            if not isinstance(page, list):
                raise Transient("pagerduty.oncalls", "an answer without oncalls")
            rows += [r for r in page if isinstance(r, dict)]
            if not body.get("more") or not page:
                return rows
            offset += len(page)
        raise Transient("pagerduty.oncalls", f"more than {MAX_PAGES} pages of on-calls")

    def user_email(self, user_id: str) -> str:
        """A user's email (``GET /users/{id}``); "" when PagerDuty has none."""
        return self._email(user_id)

    def _email(self, user_id: str) -> str:
        """The user's email ("" when PagerDuty has none: nobody to find in chat)."""
        user = self._get(f"/users/{user_id}", []).get("user") or {}
        email = user.get("email")
        return email if isinstance(email, str) else ""

    def _get(
        self, path: str, params: list[tuple[str, str | int | float | bool | None]]
    ) -> dict[str, Any]:
        target = "pagerduty." + path.strip("/").split("/")[0]  # never the id: a stable name
        try:
            with self._while_waiting():
                response = self._client.get(path, params=params)
        except httpx.HTTPError as exc:
            raise transport_failure(target, exc) from None
        check_answer(target, response, self._clock.now())
        try:
            body = response.json()
        except ValueError:
            raise Transient(target, "an answer that is not JSON") from None
        if not isinstance(body, dict):
            raise Transient(target, "an answer that is not a JSON object")
        return body


def _serves(row: dict[str, Any], target: OnCallTarget) -> bool:
    """Whether an on-call row belongs to ``target``."""
    if target.kind == "schedule":
        schedule = row.get("schedule") or {}
        return bool(schedule.get("id") == target.id)
    policy = row.get("escalation_policy") or {}
    return bool(policy.get("id") == target.id and row.get("escalation_level") == target.level)
