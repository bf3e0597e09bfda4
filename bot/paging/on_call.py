"""Inviting whoever is on call now (issue 13, "On-call responders").

When an incident of a type whose plan names PagerDuty targets opens, the scan enqueues one
``paging.on_call`` job per incident. Once the room exists, the job asks
the pager who is on call for each target, finds each person in chat by email, invites them
and says in the room who is on call now. The fixed responders were invited by the room
set-up already, so the incident never waits for PagerDuty: if PagerDuty cannot be reached
the room is told once that the fixed responders stand alone for now, and the job retries
(429, 5xx and timeouts) until it can say who is on call; a refusal (a wrong token) is said
once and the job ends.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import structlog

from bot.domain.clock import Clock
from bot.domain.plan import Plan
from bot.domain.plan_paging import OnCallTarget
from bot.domain.types import IncidentStatus
from bot.incidents.service import IncidentService
from bot.outbox.outcomes import NotReady, Permanent, RetryAfter, Transient
from bot.paging.flows import RoomNotes
from bot.paging.on_call_board import FOUND, NO_TOKEN, REFUSED, UNREACHABLE, OnCallBoard
from bot.paging.port import OnCallPerson
from bot.paging.scan import ON_CALL
from bot.storage.jobs import ClaimedJob

log = structlog.get_logger(__name__)

WAIT_FOR_ROOM_SECONDS = 2.0

OnCallLookup = Callable[[Sequence[OnCallTarget]], list[OnCallPerson]]


def describe(people: Sequence[OnCallPerson], missing: Sequence[OnCallPerson]) -> str:
    """The room's line: names, emails and targets (plain text, no chat markup)."""
    if not people and not missing:
        return "On call now in PagerDuty: nobody (the schedules have no one on call now)"
    shown = [f"{p.name} ({p.email}, {p.target})" for p in people]
    text = "On call now in PagerDuty, invited: " + (", ".join(shown) or "nobody")
    if missing:
        text += "; not found in chat by email: " + ", ".join(
            f"{p.name} ({p.email})" for p in missing
        )
    return text


class OnCallInvites:
    def __init__(
        self,
        plan: Plan,
        incidents: IncidentService,
        notes: RoomNotes,
        invite: Callable[[str, list[str]], list[tuple[str, str]]],
        person_by_email: Callable[[str], str | None],
        lookup: OnCallLookup | None,
        *,
        board: OnCallBoard | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._plan = plan
        self._incidents = incidents
        self._notes = notes
        self._invite = invite
        self._person_by_email = person_by_email
        self._lookup = lookup  # None: no PagerDuty API token
        self._board = board  # what the incident's board shows (None: the board says nothing)
        self._clock = clock

    def handlers(self) -> dict[str, Callable[[ClaimedJob], None]]:
        return {ON_CALL: self.run}

    def run(self, job: ClaimedJob) -> None:
        number = int(job.payload["incident"])
        incident = self._incidents.get(number)
        if incident is None or incident.status is IncidentStatus.CLOSED:
            return  # closed before the room was ready: nobody to wake
        targets = self._plan.on_call_targets(incident.type)
        if not targets:
            return
        if incident.channel_id is None:
            raise NotReady("the incident room is not created yet", WAIT_FOR_ROOM_SECONDS)
        if self._lookup is None:
            self._say(
                job,
                number,
                "no-token",
                "PagerDuty on-call targets need OOR_PAGERDUTY_API_TOKEN: "
                "the plan's fixed responders only",
            )
            self._show(number, NO_TOKEN)
            return
        try:
            people = self._lookup(targets)
        except (RetryAfter, Transient) as exc:
            if job.attempts == 1:  # once; later attempts retry quietly
                self._say(
                    job,
                    number,
                    "unreachable",
                    f"PagerDuty cannot be reached now ({exc.error}): the plan's fixed "
                    "responders are in the room; whoever is on call is invited when it answers",
                )
                self._show(number, UNREACHABLE, error=exc.error)
            raise
        except Permanent as exc:
            self._say(
                job,
                number,
                "refused",
                f"PagerDuty refused the on-call lookup ({exc.error}): the plan's "
                "fixed responders only",
            )
            self._show(number, REFUSED, error=exc.error)
            return
        found: dict[str, str] = {}
        missing: list[OnCallPerson] = []
        shown: list[OnCallPerson] = []
        on_board: list[tuple[OnCallPerson, str | None]] = []
        for person in people:
            chat_id = found.get(person.email) or self._person_by_email(person.email)
            on_board.append((person, chat_id))
            if chat_id is None:
                missing.append(person)
                continue
            found[person.email] = chat_id
            shown.append(person)
        failures = self._invite(incident.channel_id, list(dict.fromkeys(found.values())))
        if failures:
            log.info("on_call_invite_failed", incident=number, failures=failures)
        self._say(job, number, "on-call", describe(shown, missing))
        self._show(number, FOUND, found=on_board)

    def _show(
        self,
        number: int,
        outcome: str,
        *,
        found: Sequence[tuple[OnCallPerson, str | None]] = (),
        error: str | None = None,
    ) -> None:
        if self._board is not None and self._clock is not None:
            self._board.record(number, outcome, now=self._clock.now(), found=found, error=error)

    def _say(self, job: ClaimedJob, number: int, what: str, text: str) -> None:
        self._notes.say(number, f"{job.kind}:{job.id}:{what}", text)
