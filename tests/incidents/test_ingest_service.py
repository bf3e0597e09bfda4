"""The ingest transaction on SQLite and PostgreSQL: idempotency and grouping in the database."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime

from sqlmodel import col, select

from bot.domain.events import EventStatus, OorEvent, PaymentDetails
from bot.domain.plan import Plan
from bot.domain.types import OorType, Severity, Step, StepState
from bot.incidents.ingest import IngestResult, IngestService, Outcome
from bot.incidents.job_kinds import JobKind
from bot.storage import incidents as repo
from bot.storage.db import Database
from bot.storage.models import EventRow, IncidentRow, JobRow, TimelineRow

NOW = datetime(2026, 11, 25, 4, 30, tzinfo=UTC)


def _event(key: str = "evt-1", **changes: object) -> OorEvent:
    event = OorEvent(
        source="native",
        dedup_key=key,
        type=OorType.PAYMENT_FAILURE,
        title="Alipay channel blocked",
        details=PaymentDetails(payment_method="alipay"),
    )
    return replace(event, **changes)  # type: ignore[arg-type]


def _count(db: Database, model: type) -> int:
    with db.session() as session:
        return len(session.exec(select(model)).all())


def test_a_new_event_opens_an_incident_with_six_pending_steps_and_a_channel_job(
    db: Database, plan: Plan
) -> None:
    result = IngestService(db, plan).ingest([_event()], now=NOW)
    assert result.outcome is Outcome.OPENED and result.incident_number is not None
    with db.session() as session:
        incident = repo.snapshot(session, result.incident_number)
        jobs = session.exec(select(JobRow)).all()
    assert incident is not None
    assert incident.severity == plan.for_type(OorType.PAYMENT_FAILURE).severity
    assert [s.step for s in incident.steps] == list(Step)
    assert {s.state for s in incident.steps} == {StepState.PENDING}
    assert incident.opened_at == NOW
    assert [j.kind for j in jobs] == [JobKind.CREATE_CHANNEL]


def test_the_same_event_twice_is_a_duplicate(db: Database, plan: Plan) -> None:
    service = IngestService(db, plan)
    first = service.ingest([_event()], now=NOW)
    second = service.ingest([_event()], now=NOW)
    assert second.outcome is Outcome.DUPLICATE
    assert second.incident_number == first.incident_number
    assert _count(db, IncidentRow) == 1 and _count(db, EventRow) == 1


def test_concurrent_deliveries_of_one_event_store_it_once(db: Database, plan: Plan) -> None:
    service = IngestService(db, plan)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: service.ingest([_event()], now=NOW), range(16)))
    outcomes = sorted(r.outcome.value for r in results)
    assert outcomes == ["duplicate"] * 15 + ["opened"]
    assert _count(db, IncidentRow) == 1 and _count(db, JobRow) == 1


def test_concurrent_events_of_one_group_open_one_incident(db: Database, plan: Plan) -> None:
    service = IngestService(db, plan)
    events = [_event(f"evt-{i}", group_key="alipay") for i in range(12)]
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda e: service.ingest([e], now=NOW), events))
    assert sorted(r.outcome.value for r in results) == ["grouped"] * 11 + ["opened"]
    assert len({r.incident_number for r in results}) == 1
    assert _count(db, IncidentRow) == 1
    with db.session() as session:
        incident = session.exec(select(IncidentRow)).one()
    assert incident.event_count == 12


def test_grouping_raises_severity_and_writes_the_timeline(db: Database, plan: Plan) -> None:
    service = IngestService(db, plan)
    service.ingest([_event("a", group_key="g", severity=Severity.SEV3)], now=NOW)
    result = service.ingest([_event("b", group_key="g", severity=Severity.SEV1)], now=NOW)
    assert result.outcome is Outcome.GROUPED
    with db.session() as session:
        incident = session.exec(select(IncidentRow)).one()
        kinds = [t.kind for t in session.exec(select(TimelineRow)).all()]
        notices = session.exec(select(JobRow).where(JobRow.kind == JobKind.POST_NOTICE)).all()
    assert incident.severity == "sev1"
    assert kinds == ["opened", "grouped"]
    assert len(notices) == 1 and "SEV3 → SEV1" in notices[0].payload["text"]


def test_grouped_events_each_get_a_notice_and_share_one_waiting_board_refresh(
    db: Database, plan: Plan
) -> None:
    service = IngestService(db, plan)
    for i in range(6):
        service.ingest([_event(f"evt-{i}", group_key="g")], now=NOW)
    with db.session() as session:
        kinds = [j.kind for j in session.exec(select(JobRow).order_by(col(JobRow.id))).all()]
    assert kinds.count(JobKind.POST_NOTICE) == 5
    assert kinds.count(JobKind.REFRESH_BOARD) == 1
    assert kinds.count(JobKind.CREATE_CHANNEL) == 1


def test_concurrent_redeliveries_of_a_grouped_event_add_nothing(db: Database, plan: Plan) -> None:
    service = IngestService(db, plan)
    service.ingest([_event("a", group_key="g")], now=NOW)
    again = _event("b", group_key="g", severity=Severity.SEV1)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: service.ingest([again], now=NOW), range(16)))
    assert sorted(r.outcome.value for r in results) == ["duplicate"] * 15 + ["grouped"]
    assert len({r.incident_number for r in results}) == 1
    with db.session() as session:
        incident = session.exec(select(IncidentRow)).one()
        kinds = [t.kind for t in session.exec(select(TimelineRow)).all()]
        notices = session.exec(select(JobRow).where(JobRow.kind == JobKind.POST_NOTICE)).all()
    assert (incident.event_count, incident.severity) == (2, "sev1")
    assert kinds == ["opened", "grouped"] and len(notices) == 1
    assert _count(db, EventRow) == 2


def test_a_recovery_joins_the_open_incident_of_its_group(db: Database, plan: Plan) -> None:
    service = IngestService(db, plan)
    opened = service.ingest([_event("a", group_key="g")], now=NOW)
    recovered = _event("a-ok", group_key="g", status=EventStatus.RESOLVED)
    result = service.ingest([recovered], now=NOW)
    assert result == IngestResult(opened.incident_number, Outcome.RECOVERED)
    assert service.ingest([recovered], now=NOW).outcome is Outcome.DUPLICATE
    with db.session() as session:
        incident = session.exec(select(IncidentRow)).one()
        events = session.exec(select(EventRow).order_by(col(EventRow.id))).all()
        notices = session.exec(select(JobRow).where(JobRow.kind == JobKind.POST_NOTICE)).all()
    assert incident.status == "open" and incident.event_count == 1
    assert [(e.outcome, e.incident_id) for e in events] == [
        ("opened", opened.incident_number),
        ("recovered", opened.incident_number),
    ]
    assert [n.payload["kind"] for n in notices] == ["recovered"]


def test_a_closed_incident_no_longer_groups(db: Database, plan: Plan) -> None:
    service = IngestService(db, plan)
    first = service.ingest([_event("a", group_key="g")], now=NOW)
    with db.session() as session:
        row = session.get(IncidentRow, first.incident_number)
        assert row is not None
        row.status = "closed"
        session.add(row)
    second = service.ingest([_event("b", group_key="g")], now=NOW)
    assert second.outcome is Outcome.OPENED
    assert second.incident_number != first.incident_number


def test_recovery_without_an_open_incident_is_ignored_but_recorded(
    db: Database, plan: Plan
) -> None:
    result = IngestService(db, plan).ingest(
        [_event("r", group_key="nothing-open", status=EventStatus.RESOLVED)], now=NOW
    )
    assert result.outcome is Outcome.IGNORED and result.incident_number is None
    assert _count(db, EventRow) == 1 and _count(db, IncidentRow) == 0
