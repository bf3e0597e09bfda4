"""Bring the schema to the newest Alembic revision, safely with several replicas.

On PostgreSQL, replicas starting together take a session-level advisory lock first, so
exactly one migrates and the others wait and then find nothing to do.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Engine

from bot.resources import MIGRATIONS_DIR
from bot.storage.db import Database

# An arbitrary constant naming "the OOR Bot schema migration" in pg_advisory_lock.
_ADVISORY_LOCK_KEY = 0x00_52_B0_7_1


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def is_up_to_date(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()


def upgrade(engine: Engine) -> None:
    cfg = alembic_config()
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _ADVISORY_LOCK_KEY})
            conn.commit()
        try:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
            conn.commit()
        finally:
            if engine.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _ADVISORY_LOCK_KEY})
                conn.commit()


def upgrade_url(url: str) -> None:
    """Migrate the database at ``url`` with an engine of its own, disposed afterwards."""
    database = Database(url)
    try:
        upgrade(database.engine)
    finally:
        database.dispose()
