"""Every digest figure on the hand-computed fixture weeks, on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.digest.figures import (
    Compliance,
    Digest,
    Durations,
    OwnerItems,
    compute_digest,
    compute_week,
)
from bot.digest.schedule import IsoWeek
from bot.storage.db import Database
from tests.digest.fixture_week import W47_END, W47_START, digest_plan, seed_fixture_weeks


@pytest.fixture
def digest(db: Database) -> tuple[Digest, dict[str, int]]:
    ids = seed_fixture_weeks(db)
    with db.session() as session:
        return compute_digest(session, digest_plan(), IsoWeek(2026, 47)), ids


def test_week_bounds_follow_the_plan_time_zone(digest: tuple[Digest, dict[str, int]]) -> None:
    current = digest[0].current
    assert (current.week, current.start, current.end) == ("2026-W47", W47_START, W47_END)
    assert digest[0].previous.week == "2026-W46"


def test_opened_by_type_and_severity(digest: tuple[Digest, dict[str, int]]) -> None:
    current, previous = digest[0].current, digest[0].previous
    assert current.opened == {
        ("payment_failure", "sev1"): 1,
        ("payment_failure", "sev2"): 1,
        ("system_crash", "sev1"): 1,
        ("amount_error", "sev3"): 1,
        ("transaction_interruption", "sev2"): 1,
    }
    assert current.opened_total == 5
    assert current.opened_by_type() == {
        "payment_failure": 2,
        "transaction_interruption": 1,
        "amount_error": 1,
        "system_crash": 1,
    }
    assert current.opened_by_severity() == {"sev1": 2, "sev2": 2, "sev3": 1, "sev4": 0}
    assert previous.opened == {("payment_failure", "sev2"): 2, ("system_crash", "sev2"): 1}
    assert previous.opened_total == 3


def test_mtta_and_mttr_medians_and_p90(digest: tuple[Digest, dict[str, int]]) -> None:
    current, previous = digest[0].current, digest[0].previous
    # Acknowledged in W47: 240, 300, 720, 1200 s; p90 = 720 + 0.7 * 480.
    assert _tuple(current.mtta) == (4, 510.0, pytest.approx(1056.0))
    # Resolved in W47: 1800, 5400, 10800 and P1's 50400 s; p90 = 10800 + 0.7 * 39600.
    assert _tuple(current.mttr) == (4, 8100.0, pytest.approx(38520.0))
    assert _tuple(previous.mtta) == (3, 600.0, pytest.approx(1560.0))
    assert _tuple(previous.mttr) == (2, 5400.0, pytest.approx(6840.0))


def _tuple(durations: Durations) -> tuple[int, float | None, float | None]:
    return durations.count, durations.median, durations.p90


def test_step_deadline_compliance(digest: tuple[Digest, dict[str, int]]) -> None:
    current, previous = digest[0].current, digest[0].previous
    assert current.compliance == {
        "respond": Compliance(2, 4),  # I1, I4 on time; I2, I3 late; I5 skipped
        "resolve": Compliance(2, 4),  # I1, I5 on time; I2 late; I3 overdue; I4 not yet due
        "review": Compliance(1, 3),  # I2 on time; I1 and P1 overdue
    }
    assert current.compliance_total == Compliance(5, 11)
    assert previous.compliance == {
        "respond": Compliance(2, 3),
        "resolve": Compliance(2, 3),  # P1 missed at its due time, in W46
        "review": Compliance(1, 1),
    }


def test_money_impact(digest: tuple[Digest, dict[str, int]]) -> None:
    current, previous = digest[0].current, digest[0].previous
    assert current.affected_transactions == 25
    assert current.amounts == {"CNY": Decimal("1244.50"), "USD": Decimal("200.24")}
    assert previous.affected_transactions == 21
    assert previous.amounts == {"CNY": Decimal("500"), "USD": Decimal("20.00")}


def test_open_incidents_and_overdue_postmortems(digest: tuple[Digest, dict[str, int]]) -> None:
    (found, ids) = digest
    current, previous = found.current, found.previous
    assert current.open_incidents == 2
    assert [line.number for line in current.open_list] == [ids["I3"], ids["I4"]]
    assert current.postmortems_overdue == 3
    overdue = [line.number for line in current.postmortems_overdue_list]
    assert overdue == [ids["P2"], ids["P1"], ids["I1"]]
    assert previous.open_incidents == 1 and previous.open_list[0].number == ids["P1"]
    assert previous.postmortems_overdue == 1


def test_open_action_items_by_owner(digest: tuple[Digest, dict[str, int]]) -> None:
    current, previous = digest[0].current, digest[0].previous
    assert current.action_items == {"U01ALICE": OwnerItems(2, 1), "": OwnerItems(1, 0)}
    assert (current.action_items_open, current.action_items_overdue) == (3, 1)
    assert previous.action_items == {"U02BOB": OwnerItems(1, 1), "": OwnerItems(1, 0)}


def test_chart_series(digest: tuple[Digest, dict[str, int]]) -> None:
    current = digest[0].current
    # Local (UTC+8) days, Monday first.
    assert current.per_day == {
        "payment_failure": [1, 1, 0, 0, 0, 0, 0],
        "transaction_interruption": [0, 0, 1, 0, 0, 0, 0],
        "amount_error": [0, 0, 0, 0, 0, 0, 1],
        "system_crash": [0, 0, 0, 0, 1, 0, 0],
    }
    assert current.resolve_buckets == [0, 0, 1, 1, 1, 0, 1, 0]


def test_an_empty_week_has_zeros_and_no_percentiles(db: Database) -> None:
    with db.session() as session:
        week = compute_week(session, digest_plan(), IsoWeek(2026, 1))
    assert week.opened_total == 0 and week.amounts == {} and week.affected_transactions == 0
    assert week.mtta == Durations(0, None, None) and week.mttr == Durations(0, None, None)
    assert week.compliance_total == Compliance(0, 0) and week.compliance_total.share is None
    assert week.action_items == {} and week.open_list == []
