"""Deciding what to tell the pager, from what is stored: the paging flows' reconciliation.

Every few seconds (and on demand) the scan compares each incident with its pages and
records a decision wherever they differ, each decision a new ``version`` of the page row
committed with the outbox job that carries it out:

- an incident of a type and severity the plan pages on open, opened within
  :data:`OPEN_WINDOW`, without its page: a page is created (``triggered``);
- a step deadline missed twice (an escalation reminder fired) and ``on_escalation``: an
  escalation page, once per incident;
- step 1 done after the page was triggered (``/oor ack``, the board's button, or the
  acknowledgement in PagerDuty itself): ``acknowledged``;
- step 4 done, or the incident closed: ``resolved``;
- an opening page resolved while the incident is open and unresolved again (reopened):
  ``triggered`` again.

Why a scan rather than hooks in the core's transactions: the core (the six-step service,
the reminder scan) is being reshaped, and a scan needs nothing of it but the tables it
reads. Exactly-once holds anyway: a page is created by ``INSERT ... ON CONFLICT DO
NOTHING`` on its unique dedup key, a transition is a conditional ``UPDATE`` (``WHERE
version = <read>``), and each job's dedup key names the page and version, so replicas
scanning at once decide each thing once. What a scan costs: it reads the incidents opened in
the last hour, the escalations fired in that hour and the pages not yet settled (resolved
with their incident closed are settled), all small sets however many incidents are open.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Table, select, update
from sqlmodel import Session

from bot.domain.plan import Plan
from bot.domain.types import IncidentStatus, OorType, Severity, Step, StepState
from bot.paging.port import PageReason, dedup_key_for
from bot.paging.tables import PageRow
from bot.storage import jobs
from bot.storage.db import Database
from bot.storage.models import IncidentRow, JobRow, ReminderRow, StepRow
from bot.storage.sql import dialect_name, insert_ignoring_conflicts

# Pages are decided for incidents opened this recently: a bot that starts paging for the
# first time does not page every incident that is still open.
OPEN_WINDOW = timedelta(hours=1)
ESCALATION_LEVEL = 2  # REMINDERS.c.level of an escalation (bot/reminders)

ON_CALL = "paging.on_call"
TRIGGER = "paging.trigger"
ACKNOWLEDGE = "paging.acknowledge"
RESOLVE = "paging.resolve"
JOB_FOR_STATUS = {"triggered": TRIGGER, "acknowledged": ACKNOWLEDGE, "resolved": RESOLVE}

PAGES: Table = PageRow.__table__  # type: ignore[attr-defined]
INCIDENTS: Table = IncidentRow.__table__  # type: ignore[attr-defined]
REMINDERS: Table = ReminderRow.__table__  # type: ignore[attr-defined]
STEPS: Table = StepRow.__table__  # type: ignore[attr-defined]
JOBS: Table = JobRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Decision:
    incident_id: int
    dedup_key: str
    status: str
    version: int


def job_dedup_key(dedup_key: str, version: int) -> str:
    return f"paging:{dedup_key}:v{version}"[:200]


class PagingScan:
    def __init__(
        self,
        db: Database,
        plan: Plan,
        on_enqueued: Callable[[], None],
        can_page: Callable[[OorType], bool] = lambda _: True,
    ) -> None:
        """``can_page``: whether the pager has a way to page for the type (PagerDuty: the
        routing key's variable is set); a type it cannot page is not decided for."""
        self._db = db
        self._plan = plan
        self._on_enqueued = on_enqueued
        self._can_page = can_page

    def scan(self, now: datetime) -> list[Decision]:
        """Record every decision due now; the decisions made (each with its job)."""
        decided: list[Decision] = []
        with self._db.session() as session:
            decided += self._new_pages(session, now)
            decided += self._transitions(session, now)
        if decided:
            self._on_enqueued()
        return decided

    # -- new pages ------------------------------------------------------------------------
    def _new_pages(self, session: Session, now: datetime) -> list[Decision]:
        since = now - OPEN_WINDOW
        wanted: list[tuple[int, str, PageReason]] = []
        opened = session.execute(
            select(INCIDENTS.c.id, INCIDENTS.c.type, INCIDENTS.c.severity).where(
                INCIDENTS.c.opened_at >= since,
                INCIDENTS.c.status != IncidentStatus.CLOSED.value,
            )
        ).all()
        # What earlier scans did already, read first: an INSERT that conflicts still costs
        # a write (and a sequence value on PostgreSQL) every few seconds.
        asked = set(
            session.execute(
                select(JOBS.c.dedup_key).where(
                    JOBS.c.dedup_key.in_([f"{ON_CALL}:{n}" for n, _, _ in opened])
                )
            ).scalars()
        )
        for number, oor_type, severity in opened:
            if self._plan.paging.pages_on_open(OorType(oor_type), Severity(severity)):
                wanted.append((number, oor_type, PageReason.OPENED))
            if self._plan.on_call_targets(OorType(oor_type)) and f"{ON_CALL}:{number}" not in asked:
                # Who is on call, asked once per incident (bot/paging/on_call.py).
                jobs.enqueue(
                    session,
                    ON_CALL,
                    now=now,
                    dedup_key=f"{ON_CALL}:{number}",
                    incident_id=number,
                    payload={"incident": number},
                )
        if self._plan.paging.on_escalation:
            escalated = session.execute(
                select(INCIDENTS.c.id, INCIDENTS.c.type)
                .join(ReminderRow, REMINDERS.c.incident_id == INCIDENTS.c.id)
                .where(
                    REMINDERS.c.level == ESCALATION_LEVEL,
                    REMINDERS.c.fired_at >= since,
                    INCIDENTS.c.status != IncidentStatus.CLOSED.value,
                )
                .distinct()
            ).all()
            wanted += [(n, t, PageReason.ESCALATION) for n, t in escalated]
        decided = []
        keys = {(n, r): dedup_key_for(f"OOR-{n}", r) for n, _, r in wanted}
        paged = set(
            session.execute(
                select(PAGES.c.dedup_key).where(PAGES.c.dedup_key.in_(list(keys.values())))
            ).scalars()
        )
        insert = insert_ignoring_conflicts(dialect_name(session), PAGES, unique=["dedup_key"])
        for number, oor_type, reason in wanted:
            key = keys[(number, reason)]
            if key in paged or not self._can_page(OorType(oor_type)):
                continue
            created = session.execute(
                insert.returning(PAGES.c.id).values(
                    incident_id=number,
                    dedup_key=key,
                    route=oor_type,
                    reason=reason.value,
                    status="triggered",
                    version=1,
                    sent_version=0,
                    triggered_at=now,
                    created_at=now,
                    updated_at=now,
                )
            ).scalar_one_or_none()
            if created is not None:
                decided.append(self._enqueue(session, number, key, "triggered", 1, now))
        return decided

    # -- transitions ----------------------------------------------------------------------
    def _transitions(self, session: Session, now: datetime) -> list[Decision]:
        respond, resolve = STEPS.alias("respond"), STEPS.alias("fix")
        rows = session.execute(
            select(
                PAGES.c.id,
                PAGES.c.incident_id,
                PAGES.c.dedup_key,
                PAGES.c.reason,
                PAGES.c.status,
                PAGES.c.version,
                PAGES.c.triggered_at,
                INCIDENTS.c.status,
                respond.c.state,
                respond.c.completed_at,
                resolve.c.state,
            )
            .join(IncidentRow, INCIDENTS.c.id == PAGES.c.incident_id)
            .join(
                respond,
                (respond.c.incident_id == PAGES.c.incident_id)
                & (respond.c.step == Step.RESPOND.value),
            )
            .join(
                resolve,
                (resolve.c.incident_id == PAGES.c.incident_id)
                & (resolve.c.step == Step.RESOLVE.value),
            )
            .where(
                (PAGES.c.status != "resolved") | (INCIDENTS.c.status != IncidentStatus.CLOSED.value)
            )
        ).all()
        decided = []
        for (
            page_id,
            number,
            key,
            reason,
            status,
            version,
            triggered_at,
            incident_status,
            respond_state,
            responded_at,
            resolve_state,
        ) in rows:
            fixed = resolve_state in (StepState.DONE.value, StepState.SKIPPED.value)
            closed = incident_status == IncidentStatus.CLOSED.value
            wanted = status
            if fixed or closed:
                wanted = "resolved"
            elif status == "resolved" and reason == PageReason.OPENED.value:
                wanted = "triggered"  # reopened: wake someone again
            elif (
                status == "triggered"
                and respond_state == StepState.DONE.value
                and responded_at is not None
                and responded_at >= triggered_at
            ):
                wanted = "acknowledged"
            if wanted == status:
                continue
            values = {"status": wanted, "version": version + 1, "updated_at": now}
            if wanted == "triggered":
                values["triggered_at"] = now
            moved = session.execute(
                update(PAGES)
                .where(PAGES.c.id == page_id, PAGES.c.version == version)
                .values(**values)
            )
            if moved.rowcount == 1:  # type: ignore[attr-defined]
                decided.append(self._enqueue(session, number, key, wanted, version + 1, now))
        return decided

    def _enqueue(
        self, session: Session, number: int, key: str, status: str, version: int, now: datetime
    ) -> Decision:
        jobs.enqueue(
            session,
            JOB_FOR_STATUS[status],
            now=now,
            dedup_key=job_dedup_key(key, version),
            incident_id=number,
            payload={"dedup_key": key, "version": version},
        )
        return Decision(number, key, status, version)
