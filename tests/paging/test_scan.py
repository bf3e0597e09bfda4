"""The paging scan with replicas: scans racing on one database decide each page and each
transition once (unique dedup keys, conditional updates), on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlmodel import select

from bot.domain.plan_file import plan_from_data
from bot.paging.scan import ACKNOWLEDGE, TRIGGER, PagingScan
from bot.paging.tables import PageRow
from bot.storage import incidents as repo
from bot.storage.db import Database
from bot.storage.models import JobRow
from tests.paging.test_plan_and_settings import with_paging

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
PLAN = plan_from_data(with_paging())  # system_crash sev1/sev2 page on open


def add_incident(db: Database, number: int, severity: str = "sev1") -> None:
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO incident (id, type, title, severity, status, source, opened_at,"
                " details, event_count, generation, updated_at) VALUES (:id, 'system_crash',"
                " 'Payments API down', :sev, 'open', 'native', :at, '{}', 1, 0, :at)"
            ),
            {"id": number, "sev": severity, "at": NOW},
        )
        repo.insert_steps(conn, number)


def race(scans: list[PagingScan], now: datetime, rounds: int = 5) -> None:
    start = threading.Barrier(len(scans))

    def run(scan: PagingScan) -> None:
        start.wait()
        for _ in range(rounds):
            scan.scan(now)

    threads = [threading.Thread(target=run, args=(s,)) for s in scans]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)


def kinds(db: Database) -> list[tuple[str, str]]:
    with db.session() as session:
        rows = session.exec(select(JobRow).where(JobRow.kind.startswith("paging."))).all()  # type: ignore[attr-defined]
        return sorted((r.kind, r.dedup_key) for r in rows)


def test_replicas_decide_each_page_and_each_transition_once(db: Database) -> None:
    add_incident(db, 1)
    add_incident(db, 2, severity="sev3")  # not paged on open
    scans = [PagingScan(db, PLAN, lambda: None) for _ in range(3)]
    race(scans, NOW + timedelta(seconds=5))
    with db.session() as session:
        pages = session.exec(select(PageRow)).all()
        assert [(p.incident_id, p.dedup_key, p.status, p.version) for p in pages] == [
            (1, "oor-bot/OOR-1", "triggered", 1)
        ]
    with db.engine.begin() as conn:  # step 1 done after the page was triggered
        conn.execute(
            text(
                "UPDATE incident_step SET state = 'done', completed_at = :at,"
                " completed_by = 'U01ALICE' WHERE incident_id = 1 AND step = 'respond'"
            ),
            {"at": NOW + timedelta(minutes=1)},
        )
    race(scans, NOW + timedelta(minutes=2))
    assert [k for k, _ in kinds(db) if k in (TRIGGER, ACKNOWLEDGE)] == [ACKNOWLEDGE, TRIGGER]
    assert ("paging.on_call", "paging.on_call:1") in kinds(db)
    assert len([k for k, _ in kinds(db) if k == "paging.on_call"]) == 2  # one per incident


def test_nothing_is_paged_for_incidents_opened_before_the_window(db: Database) -> None:
    """A bot that starts paging does not page every incident still open."""
    add_incident(db, 1)
    PagingScan(db, PLAN, lambda: None).scan(NOW + timedelta(hours=2))
    assert kinds(db) == []
