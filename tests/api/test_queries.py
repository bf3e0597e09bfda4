"""List filters and reads on SQLite and PostgreSQL: order, limits, and no N+1 queries."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event

from bot.api.queries import (
    MAX_INCIDENT_NUMBER,
    IncidentQuery,
    QueryError,
    get_incident,
    list_incidents,
    parse_limit,
    parse_since,
    parse_statuses,
    parse_type,
)
from bot.domain.plan import Plan
from bot.domain.types import IncidentStatus, OorType, Role, Step, StepState
from bot.storage import incidents as repo
from bot.storage.db import Database
from tests.api import T0, add_timeline, open_incident, seed_four, set_role

HOUR = timedelta(hours=1)


def _numbers(db: Database, **filters: Any) -> list[int]:
    with db.session() as session:
        return [s.number for s in list_incidents(session, IncidentQuery(**filters))]


@contextmanager
def _count_statements(db: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def test_lists_newest_first_and_filters(db: Database, plan: Plan) -> None:
    n1, n2, n3, n4 = seed_four(db, plan)
    assert _numbers(db) == [n4, n3, n2, n1]
    assert _numbers(db, statuses=(IncidentStatus.OPEN,)) == [n4, n1]
    assert _numbers(db, statuses=(IncidentStatus.OPEN, IncidentStatus.RESOLVED)) == [n4, n2, n1]
    assert _numbers(db, type=OorType.PAYMENT_FAILURE) == [n4, n1]
    assert _numbers(db, type=OorType.TRANSACTION_INTERRUPTION) == []
    # `since` is inclusive, and any zone names the same instant.
    assert _numbers(db, since=T0 + HOUR) == [n4, n3, n2]
    shanghai = (T0 + HOUR).astimezone(ZoneInfo("Asia/Shanghai"))
    assert _numbers(db, since=shanghai) == [n4, n3, n2]
    assert _numbers(db, since=T0 + HOUR + timedelta(microseconds=1)) == [n4, n3]
    assert _numbers(db, limit=2) == [n4, n3]
    combined = {
        "statuses": (IncidentStatus.OPEN,),
        "type": OorType.PAYMENT_FAILURE,
        "since": T0 + HOUR,
    }
    assert _numbers(db, **combined) == [n4]


def test_incidents_opened_at_the_same_instant_list_highest_number_first(
    db: Database, plan: Plan
) -> None:
    first = open_incident(db, plan, "x", at=T0)
    second = open_incident(db, plan, "y", at=T0)
    assert _numbers(db) == [second, first]


def test_listed_snapshots_equal_the_repository_snapshots(db: Database, plan: Plan) -> None:
    numbers = seed_four(db, plan)
    set_role(db, numbers[0], Role.COMMANDER, "U0ALICE", T0)
    with db.session() as session:
        listed = {s.number: s for s in list_incidents(session, IncidentQuery())}
        for number in numbers:
            assert listed[number] == repo.snapshot(session, number)
    assert listed[numbers[0]].step(Step.RESPOND).state is StepState.DONE
    assert listed[numbers[0]].roles == {Role.COMMANDER: "U0ALICE"}


def test_a_page_costs_the_same_few_queries_however_many_incidents(db: Database, plan: Plan) -> None:
    open_incident(db, plan, "one", at=T0)
    with _count_statements(db) as one:
        _numbers(db)
    for i in range(6):
        open_incident(db, plan, f"more-{i}", at=T0 + i * HOUR)
    with _count_statements(db) as seven:
        assert len(_numbers(db)) == 7
    assert len(seven) == len(one) <= 4, seven


def test_get_incident_returns_the_snapshot_and_the_timeline_in_order(
    db: Database, plan: Plan
) -> None:
    number = open_incident(db, plan, "a", at=T0)
    add_timeline(db, number, T0 + HOUR, "Alipay confirms the block")
    with db.session() as session:
        found = get_incident(session, number)
        assert get_incident(session, number + 1) is None
        assert get_incident(session, 0) is None
        # Beyond the integer column: no such incident (PostgreSQL must not fail on it).
        assert get_incident(session, MAX_INCIDENT_NUMBER + 1) is None
    assert found is not None
    snapshot, timeline = found
    assert snapshot.number == number
    assert [e.kind for e in timeline] == ["opened", "note"]


@pytest.mark.parametrize(
    ("parse", "text", "field"),
    [
        (parse_statuses, "open,pending", "status"),
        (parse_statuses, ",", "status"),
        (parse_type, "outage", "type"),
        (parse_since, "yesterday", "since"),
        (parse_since, "2026-11-25T08:00:00", "since"),
        (parse_since, "2026-11-25", "since"),
        (parse_since, "0001-01-01T00:00:00+14:00", "since"),  # year 0 in UTC
        (parse_since, "9999-12-31T23:59:59-14:00", "since"),  # year 10000 in UTC
        (parse_limit, "0", "limit"),
        (parse_limit, "501", "limit"),
        (parse_limit, "ten", "limit"),
    ],
)
def test_invalid_filters_name_their_field(parse: Any, text: str, field: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse(text)
    assert caught.value.field == field
    assert caught.value.to_json()["error"] == "invalid_query"


def test_valid_filters_parse() -> None:
    assert parse_statuses(" Open, resolved,open ") == (
        IncidentStatus.OPEN,
        IncidentStatus.RESOLVED,
    )
    assert parse_type("SYSTEM_CRASH") is OorType.SYSTEM_CRASH
    assert parse_since("2026-11-25T04:30:00Z") == T0
    assert parse_since("2026-11-25T12:30:00+08:00") == T0
    shanghai = ZoneInfo("Asia/Shanghai")
    assert parse_since("2026-11-25 12:30", default_tz=shanghai) == T0
    assert parse_limit("500") == 500


def test_a_query_refuses_a_naive_since_and_an_out_of_range_limit() -> None:
    with pytest.raises(QueryError, match="since"):
        IncidentQuery(since=T0.replace(tzinfo=None))
    with pytest.raises(QueryError, match="limit"):
        IncidentQuery(limit=0)
