"""One unit of work: a feature's rows and the incident's step change commit together.

Approving the last customer notification finishes step 5; publishing the post-mortem
finishes step 6. Each test kills the transaction that carries the step change (a
``before_commit`` hook raising, as a crash or a lost connection would) and then finds
neither the step change nor the feature's own change: before the unit of work, the
feature's transaction had already committed on its own ("approved", but step 5 pending).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import select

from bot.domain import lifecycle
from bot.domain.clock import ManualClock
from bot.domain.plan import Plan
from bot.domain.plan_sections import Locale, NotifyChannel
from bot.domain.types import CauseCategory, Step, StepState
from bot.incidents.service import IncidentService
from bot.notifications.model import DraftState
from bot.notifications.service import DraftService
from bot.notifications.templates import NotificationTemplates
from bot.postmortems.model import ReviewNotes
from bot.postmortems.service import PostmortemService
from bot.resources import TEMPLATES_DIR
from bot.storage.db import Database
from bot.storage.models import NotificationDraftRow, PostmortemRow, StepRow, TimelineRow
from tests.api import T0, open_incident

STEP_TABLE = StepRow.__table__  # type: ignore[attr-defined]


class Crash(Exception):
    """The transaction dies before it commits."""


class StepChangeKiller:
    """Kills, once armed, every transaction that flushed a step change."""

    def __init__(self) -> None:
        self.armed = False
        self.killed = 0

    def do_orm_execute(self, state: ORMExecuteState) -> None:
        # Steps are written by a Core UPDATE of their table (bot.storage.incidents).
        if state.is_update and getattr(state.statement, "table", None) is STEP_TABLE:
            state.session.info["step_changed"] = True

    def before_commit(self, session: OrmSession) -> None:
        if self.armed and session.info.pop("step_changed", False):
            self.killed += 1
            raise Crash("killed midway")

    def after_rollback(self, session: OrmSession) -> None:
        session.info.pop("step_changed", None)


@pytest.fixture
def killer() -> Iterator[StepChangeKiller]:
    hooks = StepChangeKiller()
    for name in ("do_orm_execute", "before_commit", "after_rollback"):
        event.listen(OrmSession, name, getattr(hooks, name))
    yield hooks
    for name in ("do_orm_execute", "before_commit", "after_rollback"):
        event.remove(OrmSession, name, getattr(hooks, name))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def incidents(db: Database, clock: ManualClock, plan: Plan) -> IncidentService:
    return IncidentService(db, clock, lambda: None, plan=plan)


def _resolved(db: Database, plan: Plan, incidents: IncidentService, clock: ManualClock) -> int:
    number = open_incident(db, plan, "uow", at=T0)
    clock.advance(minutes=5)
    incidents.apply(number, "U01ALICE", lambda s, t: lifecycle.acknowledge(s, "U01ALICE", t))
    incidents.apply(
        number,
        "U02BOB",
        lambda s, t: lifecycle.resolve(s, "U02BOB", t, "Rerouted", CauseCategory.NETWORK),
    )
    return number


def _step(db: Database, number: int, step: Step) -> StepState:
    with db.session() as session:
        row = session.get(StepRow, (number, step.value))
        assert row is not None
        return StepState(row.state)


def _timeline_texts(db: Database, number: int) -> list[str]:
    with db.session() as session:
        rows = session.exec(select(TimelineRow).where(TimelineRow.incident_id == number)).all()
        return [r.text for r in rows]


def test_approving_the_last_draft_and_finishing_step_5_commit_together(
    db: Database,
    plan: Plan,
    clock: ManualClock,
    incidents: IncidentService,
    killer: StepChangeKiller,
) -> None:
    number = _resolved(db, plan, incidents, clock)
    drafts = DraftService(db, clock, incidents, plan, NotificationTemplates(None, TEMPLATES_DIR))
    incident = incidents.get(number)
    assert incident is not None
    [draft] = drafts.create(incident, "U03CAROL", [(NotifyChannel.SMS, Locale.ZH_CN)]).created
    assert _step(db, number, Step.NOTIFY) is StepState.IN_PROGRESS

    killer.armed = True
    with pytest.raises(Crash):
        drafts.approve(draft.id, "U02BOB")
    assert killer.killed == 1
    # Neither the approval (the feature's row) nor step 5 done (the incident's change).
    with db.session() as session:
        row = session.get(NotificationDraftRow, draft.id)
        assert row is not None and row.state == DraftState.DRAFT.value
        assert row.approved_by is None
    assert _step(db, number, Step.NOTIFY) is StepState.IN_PROGRESS
    assert not any("approved" in t for t in _timeline_texts(db, number))

    killer.armed = False  # the click again, with nothing in the way: both, at once
    assert drafts.approve(draft.id, "U02BOB").changed
    assert _step(db, number, Step.NOTIFY) is StepState.DONE


def test_publishing_the_post_mortem_and_finishing_step_6_commit_together(
    db: Database,
    plan: Plan,
    clock: ManualClock,
    incidents: IncidentService,
    killer: StepChangeKiller,
) -> None:
    number = _resolved(db, plan, incidents, clock)
    postmortems = PostmortemService(db, plan, clock, incidents, lambda: None)
    postmortems.submit_review(number, "U01ALICE", ReviewNotes(root_cause="a route"), [])

    killer.armed = True
    with pytest.raises(Crash):
        postmortems.publish(number, 1, "U02BOB")
    assert killer.killed == 1
    with db.session() as session:
        row = session.exec(select(PostmortemRow).where(PostmortemRow.incident_id == number)).one()
        assert row.published_at is None and row.published_by is None
    assert _step(db, number, Step.REVIEW) is StepState.PENDING
    assert not any("published" in t for t in _timeline_texts(db, number))

    killer.armed = False
    assert "Step 6 is done" in str(postmortems.publish(number, 1, "U02BOB"))
    assert _step(db, number, Step.REVIEW) is StepState.DONE
