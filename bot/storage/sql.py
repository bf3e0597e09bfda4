"""SQL Core building blocks shared by the hot write paths (ingest, the outbox).

``INSERT ... ON CONFLICT DO NOTHING`` lets the database's unique indexes decide whether a
row is new in one statement, instead of a SELECT, a SAVEPOINT and an INSERT that may fail.
SQLite (3.24+) and PostgreSQL spell it the same way, but SQLAlchemy builds it per dialect.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.elements import ColumnElement, TextClause
from sqlmodel import Session

# The write paths run on a Core connection (ingest) or inside an ORM session (everything
# that enqueues jobs next to its own ORM changes); both execute Core statements.
Bind: TypeAlias = Connection | Session


def dialect_name(bind: Bind) -> str:
    if isinstance(bind, Session):
        return bind.get_bind().dialect.name
    return bind.dialect.name


def insert_ignoring_conflicts(
    dialect: str,
    table: Table,
    *,
    unique: Sequence[str],
    where: ColumnElement[bool] | TextClause | None = None,
) -> Insert:
    """``INSERT INTO table ... ON CONFLICT (unique) [WHERE where] DO NOTHING``.

    ``where`` names a partial unique index by its predicate; it must be the index's own
    predicate (literal values, no parameters) for PostgreSQL to infer the index.
    """
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(
            index_elements=list(unique), index_where=where
        )
    return sqlite.insert(table).on_conflict_do_nothing(
        index_elements=list(unique), index_where=where
    )
