"""Alembic environment: SQLModel metadata, batch mode on SQLite.

``bot.storage.migrate`` passes an open connection in ``config.attributes["connection"]``
(so PostgreSQL's advisory lock and the migration share it); the alembic CLI works too,
reading the URL from ``OOR_DATABASE_URL``.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import bot.storage.models  # noqa: F401  (registers the tables on the metadata)

config = context.config
target_metadata = SQLModel.metadata


def _run(connection: Connection) -> None:
    # SQLite's batch mode alters a table by copying it into a new one and dropping the old,
    # which its foreign keys refuse while other tables refer to rows of it. They are off
    # while migrating (a pragma only takes effect outside a transaction) and checked after.
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        _sqlite_pragma(connection, "PRAGMA foreign_keys=OFF")
    try:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"the migration broke foreign keys: {broken[:5]}")
        if sqlite and connection.in_transaction():
            connection.commit()  # so that the pragma below applies to this connection
    except BaseException:
        if sqlite and connection.in_transaction():
            connection.rollback()
        raise
    finally:
        if sqlite:
            _sqlite_pragma(connection, "PRAGMA foreign_keys=ON")


def _sqlite_pragma(connection: Connection, pragma: str) -> None:
    """Run ``pragma`` on the driver connection, outside SQLAlchemy's transaction."""
    connection.connection.driver_connection.execute(pragma)  # type: ignore[union-attr]


def run_migrations_online() -> None:
    connection: Connection | None = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = os.environ.get("OOR_DATABASE_URL", "sqlite:///oor-bot.db")
    engine = create_engine(url)
    with engine.connect() as conn:
        _run(conn)


def run_migrations_offline() -> None:
    context.configure(
        url=os.environ.get("OOR_DATABASE_URL", "sqlite:///oor-bot.db"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
