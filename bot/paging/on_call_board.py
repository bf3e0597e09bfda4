"""Who is on call, on the incident's board (issue 13, "shows 'on call now' on the board").

The on-call job (:mod:`bot.paging.on_call`) records what its lookup found in
``paging_on_call`` and asks for a board refresh; the board asks :func:`board_lines` of
this module at every rendering (registered with ``Wiring.add_board_lines``). Per target of
the plan: the people found, as chat people when chat knows their email, else by name; or,
when PagerDuty could not be asked, that the plan's fixed responders stand alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlmodel import select

from bot.chat.board import BoardLine
from bot.domain.incident import IncidentSnapshot
from bot.domain.plan import Plan
from bot.domain.plan_paging import OnCallTarget
from bot.domain.records import Part, Person, said
from bot.incidents.job_kinds import JobKind
from bot.paging.port import OnCallPerson
from bot.paging.tables import OnCallRow
from bot.storage import jobs
from bot.storage.db import Database

FOUND = "found"
UNREACHABLE = "unreachable"
REFUSED = "refused"
NO_TOKEN = "no-token"
OUTCOMES = (FOUND, UNREACHABLE, REFUSED, NO_TOKEN)

TITLE = "On call now"
# What the board says instead of names when PagerDuty gave none (the error is in the room).
INSTEAD = {
    UNREACHABLE: "PagerDuty unreachable — fixed responders used",
    REFUSED: "PagerDuty refused the on-call lookup — fixed responders used",
    NO_TOKEN: "no PagerDuty API token — fixed responders used",
}


def target_label(target: OnCallTarget) -> str:
    """``schedule PSCHED1``, ``escalation policy PEPOL01 (level 2)``."""
    label = f"{str(target.kind).replace('_', ' ')} {target.id}"
    return label + (f" (level {target.level})" if target.level != 1 else "")


class OnCallBoard:
    def __init__(self, db: Database, plan: Plan, on_enqueued: Callable[[], None]) -> None:
        self._db = db
        self._plan = plan
        self._on_enqueued = on_enqueued

    # -- written by the on-call job --------------------------------------------------------
    def record(
        self,
        number: int,
        outcome: str,
        *,
        now: datetime,
        found: Sequence[tuple[OnCallPerson, str | None]] = (),
        error: str | None = None,
    ) -> None:
        """Replace what the board shows for incident ``number`` and refresh the board (in
        the same transaction, so the refresh cannot be lost)."""
        assert outcome in OUTCOMES
        people = [
            {"target": str(p.target), "name": p.name, "email": p.email, "chat_id": chat_id}
            for p, chat_id in found
        ]
        with self._db.session() as session:
            row = session.exec(select(OnCallRow).where(OnCallRow.incident_id == number)).first()
            if row is None:
                row = OnCallRow(incident_id=number, outcome=outcome, updated_at=now)
            if row.outcome == FOUND and outcome == UNREACHABLE:
                return  # an answer already shown stays until a newer answer
            row.outcome, row.people, row.updated_at = outcome, people, now
            row.error = error[:300] if error else None
            session.add(row)
            session.flush()
            jobs.enqueue_coalesced(session, JobKind.REFRESH_BOARD, now=now, incident_id=number)
        self._on_enqueued()

    # -- read by the board -------------------------------------------------------------------
    def board_lines(self, incident: IncidentSnapshot) -> list[BoardLine]:
        targets = self._plan.on_call_targets(incident.type)
        if not targets:
            return []
        with self._db.session() as session:
            row = session.exec(
                select(OnCallRow).where(OnCallRow.incident_id == incident.number)
            ).first()
        if row is None:
            return []  # not asked yet: the board is refreshed when it has been
        if row.outcome != FOUND:
            return [BoardLine(TITLE, said(INSTEAD.get(row.outcome, row.outcome)))]
        parts: list[Part] = []
        for target in targets:
            if parts:
                parts.append(" · ")
            parts.append(f"{target_label(target)}: ")
            people = [p for p in row.people if p.get("target") == str(target)]
            if not people:
                parts.append("nobody")
            for i, person in enumerate(people):
                if i:
                    parts.append(", ")
                chat_id = person.get("chat_id")
                name = str(person.get("name") or person.get("email") or "?")
                if chat_id:
                    parts.append(Person(str(chat_id)))
                else:
                    parts.append(f"{name} (not found in chat)")
        return [BoardLine(TITLE, said(*parts))]


__all__ = ["OUTCOMES", "OnCallBoard", "target_label"]
