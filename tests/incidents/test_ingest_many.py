"""Group commit in the ingest transaction (``IngestService.ingest_many``), on SQLite and
PostgreSQL: several deliveries in one transaction answer and store exactly what they
would one by one, a bad delivery loses nobody else's events, and batches that share
groups queue on each other instead of deadlocking."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select
from structlog.testing import capture_logs

from bot.domain.events import EventStatus, OorEvent, PaymentDetails
from bot.domain.plan import Plan
from bot.domain.types import OorType, Severity
from bot.incidents import ingest as ingest_module
from bot.incidents.ingest import Delivery, IngestResult, IngestService, Outcome
from bot.storage.db import Database
from bot.storage.models import EventRow, IncidentRow, JobRow, StepRow, TimelineRow

NOW = datetime(2026, 11, 25, 4, 30, tzinfo=UTC)


def _event(key: str, group: str | None = None, **changes: object) -> OorEvent:
    event = OorEvent(
        source="native",
        dedup_key=key,
        type=OorType.PAYMENT_FAILURE,
        title=f"Alipay channel blocked ({key})",
        details=PaymentDetails(payment_method="alipay"),
        group_key=group,
    )
    return replace(event, **changes)  # type: ignore[arg-type]


def _deliveries(run: str) -> list[Delivery]:
    """A storm's mix: a new group, events joining it and an open one, a severity raise,
    a recovery, the same event twice in two deliveries, and a two-event delivery. Keys and
    groups carry ``run``, so two runs on one database don't meet."""
    at = [NOW + timedelta(milliseconds=i) for i in range(8)]

    def e(key: str, group: str | None = None, **changes: object) -> OorEvent:
        return _event(f"{run}{key}", f"{run}{group}" if group else None, **changes)

    return [
        Delivery([e("a-1", "alipay")], at[0]),
        Delivery([e("a-2", "alipay")], at[1]),
        Delivery([e("w-2", "wechat")], at[2]),
        Delivery([e("a-3", "alipay", severity=Severity.SEV1)], at[3]),
        Delivery([e("a-2", "alipay")], at[4]),  # a sender's retry: a duplicate
        Delivery([e("w-3", "wechat"), e("n-1", "new-group")], at[5]),
        Delivery([e("w-r", "wechat", status=EventStatus.RESOLVED)], at[6]),
        Delivery([e("solo")], at[7]),
    ]


def _stored(
    db: Database, run: str
) -> tuple[list[tuple[str, str]], list[tuple[str, ...]], list[str]]:
    """What a run left: its events with their outcomes, its incidents (group, severity,
    events counted, pending tally) and its jobs' kinds, without ids."""
    with db.session() as session:
        events = session.exec(select(EventRow).order_by(col(EventRow.dedup_key))).all()
        incidents = session.exec(select(IncidentRow).order_by(col(IncidentRow.group_key))).all()
        jobs = session.exec(select(JobRow).order_by(col(JobRow.kind))).all()
        numbers = {
            i.id for i in incidents if (i.group_key or i.title).startswith(run) or run in i.title
        }
    return (
        [(e.dedup_key.removeprefix(run), e.outcome) for e in events if e.dedup_key.startswith(run)],
        [
            (
                str(i.group_key).removeprefix(run),
                i.severity,
                str(i.event_count),
                str(i.pending_events),
            )
            for i in incidents
            if i.id in numbers
        ],
        [j.kind for j in jobs if j.incident_id in numbers],
    )


def test_one_transaction_answers_and_stores_what_one_by_one_would(db: Database, plan: Plan) -> None:
    service = IngestService(db, plan)
    for run in ("one-", "all-"):
        service.ingest([_event(f"{run}w-1", f"{run}wechat")], now=NOW - timedelta(minutes=1))
    alone = [service.ingest(d.events, now=d.received_at) for d in _deliveries("one-")]
    together = service.ingest_many(_deliveries("all-"))

    assert [r.outcome for r in together if isinstance(r, IngestResult)] == [
        r.outcome for r in alone
    ] == [
        Outcome.OPENED, Outcome.GROUPED, Outcome.GROUPED, Outcome.GROUPED,
        Outcome.DUPLICATE, Outcome.OPENED, Outcome.RECOVERED, Outcome.OPENED,
    ]  # fmt: skip
    one, every = _stored(db, "one-"), _stored(db, "all-")
    assert every[0] == one[0] and every[1] == one[1]
    # The coalesced jobs are enqueued once per incident either way (their dedup keys).
    assert every[2] == one[2]


def test_a_delivery_that_fails_costs_the_others_nothing(
    db: Database, plan: Plan, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = IngestService(db, plan)
    real = ingest_module.new_incident_values

    def poisoned(plan: Plan, event: OorEvent, now: datetime) -> dict[str, object]:
        if event.dedup_key == "poison":
            raise ValueError("this event cannot be stored")
        return real(plan, event, now)

    monkeypatch.setattr(ingest_module, "new_incident_values", poisoned)
    deliveries = [
        Delivery([_event("a-1", "alipay")], NOW),
        Delivery([_event("poison")], NOW),
        Delivery([_event("a-2", "alipay")], NOW),
    ]
    with capture_logs() as logs:
        results = service.ingest_many(deliveries)
    assert isinstance(results[1], ValueError)
    assert [r.outcome for r in (results[0], results[2]) if isinstance(r, IngestResult)] == [
        Outcome.OPENED,
        Outcome.GROUPED,
    ]
    keys = [key for key, _ in _stored(db, "")[0]]
    assert keys == ["a-1", "a-2"]  # nothing of the poisoned delivery, all of the others
    assert [entry["event"] for entry in logs] == ["group_commit_split"]


def test_batches_sharing_groups_in_opposite_orders_do_not_deadlock(
    db: Database, plan: Plan
) -> None:
    service = IngestService(db, plan)
    groups = [f"g{i}" for i in range(6)]
    for group in groups:
        service.ingest([_event(f"{group}-open", group)], now=NOW)
    errors: list[BaseException] = []
    results: list[IngestResult | Exception] = []
    start = threading.Barrier(2)

    def storm(name: str, order: list[str]) -> None:
        try:
            start.wait()
            for round_ in range(15):
                batch = [Delivery([_event(f"{name}-{round_}-{g}", g)], NOW) for g in order]
                results.extend(service.ingest_many(batch))
        except BaseException as exc:  # reported below
            errors.append(exc)

    with capture_logs() as logs:
        threads = [
            threading.Thread(target=storm, args=("up", groups)),
            threading.Thread(target=storm, args=("down", groups[::-1])),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert [r for r in results if not isinstance(r, IngestResult)] == []
    assert {r.outcome for r in results if isinstance(r, IngestResult)} == {Outcome.GROUPED}
    # No batch had to be split: the up-front locks in key order kept them apart.
    assert [entry for entry in logs if entry["event"] == "group_commit_split"] == []
    with db.session() as session:
        counts = [i.event_count for i in session.exec(select(IncidentRow)).all()]
    assert sorted(counts) == [31] * 6  # its opening event and 15 rounds of two


def test_a_batch_of_new_incidents_opens_each_once_with_its_steps_timeline_and_channel_job(
    db: Database, plan: Plan
) -> None:
    service = IngestService(db, plan)
    deliveries = [Delivery([_event(f"new-{i}", f"grp-{i}")], NOW) for i in range(20)]
    deliveries += [
        Delivery([_event("new-3", "grp-3")], NOW),  # a retry of one of them: a duplicate
        Delivery([_event("lone"), _event("lone")], NOW),  # no group, the same event twice
        Delivery([_event("grp-5-b", "grp-5")], NOW),  # joins the incident opened above
    ]
    results = service.ingest_many(deliveries)
    answers = [r for r in results if isinstance(r, IngestResult)]
    assert len(answers) == len(deliveries)
    assert [a.outcome for a in answers[:20]] == [Outcome.OPENED] * 20
    assert answers[20] == IngestResult(answers[3].incident_number, Outcome.DUPLICATE)
    assert answers[21].outcome is Outcome.OPENED
    assert answers[22] == IngestResult(answers[5].incident_number, Outcome.GROUPED)
    numbers = {a.incident_number for a in answers[:20]} | {answers[21].incident_number}
    assert len(numbers) == 21
    with db.session() as session:
        incidents = session.exec(select(IncidentRow)).all()
        events = session.exec(select(EventRow)).all()
        jobs = session.exec(select(JobRow).where(col(JobRow.kind) == "create_channel")).all()
        steps = session.exec(select(StepRow)).all()
        opened = session.exec(select(TimelineRow).where(col(TimelineRow.kind) == "opened")).all()
    assert {i.id for i in incidents} == numbers
    assert sorted(j.incident_id for j in jobs) == sorted(numbers)
    assert sorted(e.incident_id for e in opened) == sorted(numbers)
    assert len(steps) == 6 * 21
    by_key = {e.dedup_key: (e.outcome, e.incident_id) for e in events}
    assert len(events) == 22  # each event once
    assert by_key["new-3"] == ("opened", answers[3].incident_number)
    assert by_key["grp-5-b"] == ("grouped", answers[5].incident_number)
    assert by_key["lone"] == ("opened", answers[21].incident_number)
