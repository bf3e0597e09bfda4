"""Dialect-aware SQL expressions the digest aggregates with (PostgreSQL and SQLite).

Everything is aggregated in the database; Python only sees a handful of rows per figure.
The exception is percentiles on SQLite, which has no ``percentile_cont``: there the one
column of durations is read sorted and interpolated the same way (:func:`percentile_cont`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Float, Integer, Numeric, case, cast, extract, func
from sqlalchemy.sql.elements import ColumnElement

# SQLite sums amounts as integers of 1/10000 of the currency unit: exact (no binary
# floating point in money) for amounts with up to four decimals, which every ISO 4217
# currency fits.
_SQLITE_AMOUNT_SCALE = 10_000
_DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"
_INTEGER_PATTERN = r"^[0-9]+$"


def epoch(value: Any, dialect: str) -> ColumnElement[float]:
    """Seconds since 1970 of a UTC timestamp column (millisecond precision on SQLite)."""
    if dialect == "postgresql":
        return cast(extract("epoch", value), Float)
    # SQLite stores naive UTC text; julianday() parses it. Rounding to the millisecond
    # removes the float noise of the Julian day number, so exact comparisons hold.
    return func.round((func.julianday(value) - 2440587.5) * 86400.0, 3)


def json_text(column: Any, key: str) -> ColumnElement[Any]:
    """``details->>'key'`` on PostgreSQL, ``json_extract(details, '$."key"')`` on SQLite."""
    return column[key].as_string()


def amount_sum(column: Any, dialect: str) -> ColumnElement[Any]:
    """SUM of ``details.amount`` (a decimal string) as exact decimals; see :func:`to_decimal`."""
    text = json_text(column, "amount")
    if dialect == "postgresql":
        # A malformed amount must not fail the whole digest: it counts as no amount.
        return func.sum(case((text.op("~")(_DECIMAL_PATTERN), cast(text, Numeric)), else_=None))
    scaled = func.round(cast(text, Float) * _SQLITE_AMOUNT_SCALE)
    return func.sum(cast(scaled, Integer))


def to_decimal(value: Any, dialect: str) -> Decimal:
    if value is None:
        return Decimal(0)
    if dialect == "postgresql":
        return Decimal(value)
    return (Decimal(int(value)) / _SQLITE_AMOUNT_SCALE).normalize()


def int_sum(column: Any, key: str, dialect: str) -> ColumnElement[Any]:
    """SUM of an integer in the JSON column (``details.affected_transactions``)."""
    text = json_text(column, key)
    if dialect == "postgresql":
        return func.sum(case((text.op("~")(_INTEGER_PATTERN), cast(text, BigInteger)), else_=None))
    return func.sum(cast(text, Integer))


def count_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.sum(case((condition, 1), else_=0))


def percentile_cont(sorted_values: Sequence[float], fraction: float) -> float | None:
    """PostgreSQL's ``percentile_cont`` (linear interpolation) over ascending values."""
    if not sorted_values:
        return None
    position = fraction * (len(sorted_values) - 1)
    low, high = math.floor(position), math.ceil(position)
    below, above = float(sorted_values[low]), float(sorted_values[high])
    return below + (above - below) * (position - low)
