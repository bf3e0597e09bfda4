"""The ingest transaction on SQLite and PostgreSQL: idempotency and grouping in the database."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import event as sqlalchemy_event
from sqlmodel import col, select

from bot.domain.event_tally import BOARD_REFRESH_DELAY, SUMMARY_WINDOW
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


def test_a_severity_raise_is_said_at_once_and_written_to_the_timeline(
    db: Database, plan: Plan
) -> None:
    service = IngestService(db, plan)
    service.ingest([_event("a", group_key="g", severity=Severity.SEV3)], now=NOW)
    result = service.ingest([_event("b", group_key="g", severity=Severity.SEV1)], now=NOW)
    assert result.outcome is Outcome.GROUPED
    with db.session() as session:
        incident = session.exec(select(IncidentRow)).one()
        kinds = [t.kind for t in session.exec(select(TimelineRow)).all()]
        notices = session.exec(select(JobRow).where(JobRow.kind == JobKind.POST_NOTICE)).all()
        summaries = session.exec(
            select(JobRow).where(JobRow.kind == JobKind.SUMMARIZE_EVENTS)
        ).all()
    assert incident.severity == "sev1" and incident.event_count == 2
    assert kinds == ["opened", "severity"]
    assert len(notices) == 1
    assert notices[0].payload["text"] == (
        "Severity raised SEV3 → SEV1 by a related event: Alipay channel blocked"
    )
    # Said at once, so not told again in a summary.
    assert incident.pending_events == 0 and summaries == []


def test_grouped_events_are_counted_for_one_delayed_summary_and_one_board_refresh(
    db: Database, plan: Plan
) -> None:
    service = IngestService(db, plan)
    service.ingest([_event("evt-0", group_key="g")], now=NOW)
    for i in range(1, 6):
        later = NOW + timedelta(seconds=i)
        service.ingest([_event(f"evt-{i}", group_key="g", title=f"Alipay {i}")], now=later)
    with db.session() as session:
        rows = session.exec(select(JobRow).order_by(col(JobRow.id))).all()
        incident = session.exec(select(IncidentRow)).one()
        kinds = [t.kind for t in session.exec(select(TimelineRow)).all()]
    assert sorted(j.kind for j in rows) == sorted(
        [JobKind.CREATE_CHANNEL, JobKind.SUMMARIZE_EVENTS, JobKind.REFRESH_BOARD_EVENTS]
    )
    (summary,) = [j for j in rows if j.kind == JobKind.SUMMARIZE_EVENTS]
    (board,) = [j for j in rows if j.kind == JobKind.REFRESH_BOARD_EVENTS]
    # Due a window after the first grouped event: everything meanwhile joins the tally.
    assert summary.run_after == NOW + timedelta(seconds=1) + SUMMARY_WINDOW
    assert board.run_after == NOW + timedelta(seconds=1) + BOARD_REFRESH_DELAY
    assert kinds == ["opened"]  # no timeline line per event
    assert (incident.event_count, incident.pending_events, incident.pending_recovered) == (6, 5, 0)
    assert incident.pending_since == NOW + timedelta(seconds=1)
    assert incident.last_event_at == NOW + timedelta(seconds=5)
    assert incident.last_event_title == "Alipay 5"


def test_a_notification_of_many_alerts_is_one_lock_and_one_set_of_jobs(
    db: Database, plan: Plan
) -> None:
    service = IngestService(db, plan)
    statements: list[str] = []

    def record(_conn: object, _cursor: object, sql: str, *_: object) -> None:
        statements.append(sql)

    events = [_event(f"evt-{i}", group_key="g") for i in range(50)]
    sqlalchemy_event.listen(db.engine, "before_cursor_execute", record)
    try:
        result = service.ingest(events, now=NOW)
    finally:
        sqlalchemy_event.remove(db.engine, "before_cursor_execute", record)
    assert result.outcome is Outcome.OPENED
    with db.session() as session:
        incident = session.exec(select(IncidentRow)).one()
        kinds = sorted(j.kind for j in session.exec(select(JobRow)).all())
    assert (incident.event_count, incident.pending_events) == (50, 49)
    assert kinds == sorted(
        [JobKind.CREATE_CHANNEL, JobKind.SUMMARIZE_EVENTS, JobKind.REFRESH_BOARD_EVENTS]
    )
    # The 49 grouped alerts: one multi-row insert, one count, one set of jobs.
    assert sum("FOR UPDATE" in s for s in statements) <= 1
    assert sum(s.lstrip().upper().startswith("INSERT INTO JOB") for s in statements) == 2
    assert sum(s.lstrip().upper().startswith("INSERT INTO EVENT") for s in statements) == 2
    assert len(statements) <= 12


def test_a_delivery_keeps_its_order_and_stores_each_alert_once(db: Database, plan: Plan) -> None:
    service = IngestService(db, plan)
    service.ingest([_event("a", group_key="g", severity=Severity.SEV3)], now=NOW)
    delivery = [
        _event("b", group_key="g", title="quiet 1"),
        _event("b", group_key="g", title="quiet 1, again in the same delivery"),
        _event("c", group_key="g", title="raises", severity=Severity.SEV1),
        _event("d", group_key="g", title="quiet 2", severity=Severity.SEV2),  # below SEV1 now
        _event("a", group_key="g", title="the opening one, resent"),
    ]
    assert service.ingest(delivery, now=NOW).outcome is Outcome.GROUPED
    with db.session() as session:
        incident = session.exec(select(IncidentRow)).one()
        kinds = [t.kind for t in session.exec(select(TimelineRow).order_by(col(TimelineRow.id)))]
        stored = session.exec(select(EventRow.dedup_key).order_by(col(EventRow.id))).all()
    assert stored == ["a", "b", "c", "d"]
    assert (incident.event_count, incident.severity) == (4, "sev1")
    # "quiet 1" was pending when the raise came, so the summary covers all three.
    assert (incident.pending_events, incident.last_event_title) == (3, "quiet 2")
    assert kinds == ["opened", "severity"]
    again = service.ingest(delivery, now=NOW)
    assert again == IngestResult(incident.id, Outcome.DUPLICATE)
    with db.session() as session:
        assert session.exec(select(IncidentRow.event_count)).one() == 4


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
    assert kinds == ["opened", "severity"] and len(notices) == 1
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
    assert incident.last_event_title == "Recovered: Alipay channel blocked"


def test_the_first_recovery_of_a_window_is_said_at_once_the_others_in_its_summary(
    db: Database, plan: Plan
) -> None:
    service = IngestService(db, plan)
    service.ingest([_event("a", group_key="g")], now=NOW)
    window = SUMMARY_WINDOW.total_seconds()
    start = datetime.fromtimestamp((NOW.timestamp() // window + 1) * window, UTC)
    for i in range(4):  # four recoveries in one window
        recovery = _event(f"ok-{i}", group_key="g", status=EventStatus.RESOLVED)
        service.ingest([recovery], now=start + timedelta(seconds=i))
    later = _event("ok-late", group_key="g", status=EventStatus.RESOLVED)
    service.ingest([later], now=start + SUMMARY_WINDOW)  # the next window
    with db.session() as session:
        incident = session.exec(select(IncidentRow)).one()
        notices = session.exec(select(JobRow).where(JobRow.kind == JobKind.POST_NOTICE)).all()
        kinds = [t.kind for t in session.exec(select(TimelineRow).order_by(col(TimelineRow.id)))]
    assert [n.payload["text"] for n in notices] == [
        "Monitor reports recovered: Alipay channel blocked"
    ] * 2
    assert kinds == ["opened", "recovered", "recovered"]
    # The other three are pending, the recovery said at once in the next window too
    # (a tally was pending, so the summary covers every event since the last one).
    assert (incident.pending_events, incident.pending_recovered) == (4, 4)
    assert incident.event_count == 1  # recoveries are not more alerts


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
