"""Alembic environment: SQLModel metadata, batch mode on SQLite.

``bot.storage.migrate`` passes an open connection in ``config.attributes["connection"]``
(so PostgreSQL's advisory lock and the migration share it); the alembic CLI works too,
reading the URL from ``OOR_DATABASE_URL``.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine
from sqlmodel import SQLModel

import bot.storage.models  # noqa: F401  (registers the tables on the metadata)

config = context.config
target_metadata = SQLModel.metadata


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
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
