"""The migrations on SQLite (batch mode) and PostgreSQL: they build the models' schema, and
0004 / 0005 / 0008 / 0009 fill their new columns from what an existing database already
holds; 0010 rewrites stored timeline texts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel, select

from bot.domain.clock import ManualClock
from bot.domain.plan import Plan
from bot.domain.records import Person, said

# The paging feature's tables are models too: compared below whatever else this test
# process imported (run alone, the comparison once missed them).
from bot.paging import tables as _paging_tables  # noqa: F401
from bot.reminders.scan import ReminderScanner
from bot.storage.db import Database
from bot.storage.migrate import alembic_config, current_revision, head_revision, upgrade
from bot.storage.models import IncidentRow, InstallationRow
from bot.storage.timeline import timeline_of


@pytest.fixture
def empty(empty_database_url: str) -> Iterator[Database]:
    database = Database(empty_database_url)
    yield database
    database.dispose()


def migrate_to(db: Database, revision: str, *, down: bool = False) -> None:
    cfg = alembic_config()
    with db.engine.connect() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)
        conn.commit()


def at(day: int, hour: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


def stored(db: Database, value: datetime) -> object:
    """A datetime as the database takes it raw (SQLite: naive UTC text)."""
    return value.replace(tzinfo=None) if db.engine.dialect.name == "sqlite" else value


def add_incident(db: Database, number: int, opened: datetime, generation: int = 0) -> None:
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO incident (id, type, title, severity, status, source, opened_at,"
                " details, event_count, generation, updated_at) VALUES (:id, 'payment_failure',"
                " 'x', 'sev2', 'open', 'native', :at, '{}', 1, :generation, :at)"
            ),
            {"id": number, "at": stored(db, opened), "generation": generation},
        )


def add_entry(db: Database, number: int, at_: datetime, kind: str, entry: str) -> None:
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO timeline_entry (incident_id, at, actor, kind, text, data)"
                " VALUES (:n, :at, 'U01ALICE', :kind, :text, '{}')"
            ),
            {"n": number, "at": stored(db, at_), "kind": kind, "text": entry},
        )


def test_the_migrations_build_the_models_schema(empty: Database) -> None:
    upgrade(empty.engine)
    assert current_revision(empty.engine) == head_revision() == "0013"
    with empty.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []


def test_reopened_at_is_filled_from_the_timeline(empty: Database) -> None:
    migrate_to(empty, "0003")
    add_incident(empty, 1, at(2), generation=2)  # reopened twice: the later one counts
    add_entry(empty, 1, at(3), "status", "reopened the incident (step 4 … pending again)")
    add_entry(empty, 1, at(4), "status", "closed the incident")
    add_entry(empty, 1, at(5), "status", "reopened the incident (step 4 … pending again)")
    add_entry(empty, 1, at(6), "note", "reopened the valve")  # a note, not a reopening
    add_incident(empty, 2, at(2))  # never reopened
    add_entry(empty, 2, at(3), "note", "reopened? no")
    upgrade(empty.engine)
    with empty.session() as session:
        rows = {r.id: r.reopened_at for r in session.exec(select(IncidentRow)).all()}
    assert rows == {1: at(5), 2: None}
    assert rows[1] is not None and rows[1].tzinfo is UTC


def test_an_existing_database_is_dated_by_its_oldest_record(empty: Database) -> None:
    migrate_to(empty, "0004")
    add_incident(empty, 1, at(9))
    add_incident(empty, 2, at(4, 7))
    with empty.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO digest_run (week, claimed_at, claimed_by, late)"
                " VALUES ('2026-W45', :at, 'x', false)"
            ),
            {"at": stored(empty, at(10))},
        )
    upgrade(empty.engine)
    with empty.session() as session:
        [row] = session.exec(select(InstallationRow)).all()
    assert (row.id, row.installed_at) == (1, at(4, 7))


def test_a_new_database_has_no_installation_until_the_bot_starts(empty: Database) -> None:
    upgrade(empty.engine)
    with empty.session() as session:
        assert session.exec(select(InstallationRow)).all() == []


def test_downgrade_and_upgrade_again_with_rows_referring_to_the_incident(
    empty: Database,
) -> None:
    upgrade(empty.engine)
    add_incident(empty, 1, at(2), generation=1)
    add_entry(empty, 1, at(3), "status", "reopened the incident")
    migrate_to(empty, "0003", down=True)
    assert current_revision(empty.engine) == "0003"
    upgrade(empty.engine)
    with empty.session() as session:
        [incident] = session.exec(select(IncidentRow)).all()
        [installation] = session.exec(select(InstallationRow)).all()
    assert incident.reopened_at == at(3) and installation.installed_at == at(2)
    if empty.engine.dialect.name == "sqlite":  # off while migrating, on again afterwards
        with empty.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_one_waiting_draft_per_channel_and_language(empty: Database) -> None:
    upgrade(empty.engine)
    add_incident(empty, 1, at(2))

    def draft(channel: str, locale: str, state: str) -> None:
        with empty.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO notification_draft (incident_id, channel, locale, body, state,"
                    " drafted_by, drafted_at) VALUES (1, :channel, :locale, 'x', :state,"
                    " 'U01ALICE', :at)"
                ),
                {"channel": channel, "locale": locale, "state": state, "at": stored(empty, at(2))},
            )

    draft("sms", "zh-CN", "discarded")
    draft("sms", "zh-CN", "approved")
    draft("sms", "zh-CN", "draft")  # decided ones do not count
    draft("sms", "en", "draft")
    with pytest.raises(IntegrityError):
        draft("sms", "zh-CN", "draft")


def test_the_alert_url_holds_a_long_link_and_a_downgrade_cuts_it(empty: Database) -> None:
    # PostgreSQL refused a generatorURL over 2,000 characters; SQLite stored it.
    long_url = "http://prometheus.example:9090/graph?g0.expr=" + "x" * 2400
    migrate_to(empty, "0006")
    add_incident(empty, 1, at(2))
    migrate_to(empty, "0007")
    with empty.engine.begin() as conn:
        conn.execute(text("UPDATE incident SET url = :url WHERE id = 1"), {"url": long_url})
    with empty.engine.connect() as conn:  # raw SQL: later revisions add model columns
        assert conn.execute(text("SELECT url FROM incident WHERE id = 1")).scalar_one() == long_url
    migrate_to(empty, "0006", down=True)
    with empty.engine.connect() as conn:
        stored = conn.execute(text("SELECT url FROM incident WHERE id = 1")).scalar_one()
    assert stored == long_url[:2000]


def test_open_incidents_get_their_opening_as_next_due_until_the_first_scan(
    empty: Database, plan: Plan
) -> None:
    """0009 cannot compute the time without the plan: the opening is a safe lower bound,
    and the first scan stores the exact time."""
    migrate_to(empty, "0006")
    add_incident(empty, 1, at(25, 4))  # payment_failure sev2, respond within 10m
    add_incident(empty, 2, at(25, 4))
    with empty.engine.begin() as conn:
        conn.execute(text("UPDATE incident SET status = 'closed' WHERE id = 2"))
    upgrade(empty.engine)
    with empty.session() as session:
        rows = {r.id: r.next_due_at for r in session.exec(select(IncidentRow)).all()}
    assert rows == {1: at(25, 4), 2: None}
    clock = ManualClock(at(25, 4) + timedelta(minutes=1))
    assert ReminderScanner(empty, plan, clock).scan() == []
    with empty.session() as session:
        row = session.get(IncidentRow, 1)
        assert row is not None and row.next_due_at == at(25, 4) + timedelta(minutes=10)


def add_event(db: Database, number: int | None, key: str, outcome: str, at_: datetime) -> None:
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO event (source, dedup_key, incident_id, outcome, status, received_at,"
                " payload) VALUES ('native', :key, :n, :outcome, 'firing', :at, '{}')"
            ),
            {"key": key, "n": number, "outcome": outcome, "at": stored(db, at_)},
        )


def test_the_latest_monitoring_event_is_filled_from_the_stored_events(empty: Database) -> None:
    migrate_to(empty, "0006")
    add_incident(empty, 1, at(2))
    add_event(empty, 1, "a", "opened", at(2))
    add_event(empty, 1, "b", "grouped", at(3))
    add_event(empty, 1, "c", "recovered", at(4))
    add_incident(empty, 2, at(5))  # only its opening event
    add_event(empty, 2, "d", "opened", at(5))
    add_event(empty, None, "e", "ignored", at(6))
    upgrade(empty.engine)
    with empty.session() as session:
        rows = {r.id: r for r in session.exec(select(IncidentRow)).all()}
    assert {n: r.last_event_at for n, r in rows.items()} == {1: at(4), 2: None}
    # Every event so far was announced on its own: nothing is left for a summary.
    assert {(r.pending_events, r.pending_recovered, r.pending_since) for r in rows.values()} == {
        (0, 0, None)
    }
    migrate_to(empty, "0006", down=True)
    upgrade(empty.engine)
    assert current_revision(empty.engine) == head_revision()


def add_raw_entry(db: Database, number: int, kind: str, entry: str, data: str) -> None:
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO timeline_entry (incident_id, at, actor, kind, text, data)"
                " VALUES (:n, :at, 'U01ALICE', :kind, :text, :data)"
            ),
            {"n": number, "at": stored(db, at(2)), "kind": kind, "text": entry, "data": data},
        )


def test_0010_turns_stored_mentions_into_people_and_keeps_every_row(empty: Database) -> None:
    """Rows written before records held Slack markup; after 0010 no surface can show it
    (the post-mortem showed ``made &lt;@U000000002> the tech lead``)."""
    migrate_to(empty, "0009")
    add_incident(empty, 1, at(1))
    add_raw_entry(
        empty, 1, "role", "made <@U000000002> the tech lead (was <@U01ALICE>)",
        '{"mentions": ["U000000002", "U01ALICE"]}',
    )  # fmt: skip
    add_raw_entry(empty, 1, "action", "added action item 1: fix it (owner <@U01BOB|bob>)", "{}")
    add_raw_entry(empty, 1, "step", "acknowledged the incident", '{"mentions": []}')
    add_raw_entry(empty, 1, "opened", "Incident opened: <b>x</b> 1 < 2", '{"event_id": "e1"}')

    migrate_to(empty, "0010")

    with empty.session() as session:
        entries = timeline_of(session, 1)
    assert [e.text for e in entries] == [
        "made U000000002 the tech lead (was U01ALICE)",
        "added action item 1: fix it (owner U01BOB)",
        "acknowledged the incident",
        "Incident opened: <b>x</b> 1 < 2",
    ]
    assert entries[0].said == said(
        "made ", Person("U000000002"), " the tech lead (was ", Person("U01ALICE"), ")"
    )
    assert entries[1].said.people() == ("U01BOB",)
    assert [e.facts for e in entries] == [{}, {}, {}, {"event_id": "e1"}]
    assert entries[0].said.plain({"U000000002": "Bob Li"}).startswith("made Bob Li the")

    migrate_to(empty, "0009", down=True)
    with empty.engine.connect() as conn:
        texts = conn.execute(text("SELECT text FROM timeline_entry ORDER BY id")).scalars().all()
    assert texts[0] == "made <@U000000002> the tech lead (was <@U01ALICE>)"
    assert texts[1] == "added action item 1: fix it (owner <@U01BOB>)"
    assert texts[3] == "Incident opened: <b>x</b> 1 < 2"
