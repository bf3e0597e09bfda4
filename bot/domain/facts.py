"""Step 2, record the problem (记录问题): the facts, and how raw input becomes them.

The same validation serves the ``/oor record key=value`` text form and the modal, so a
value rejected in one is rejected in the other with the same message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.events import OCCURRED_AT_EARLIEST

# Field name -> label, in the order forms show them.
FACT_FIELDS: dict[str, str] = {
    "occurred_at": "Time of occurrence (plan time zone, YYYY-MM-DD HH:MM)",
    "affected_users": "Affected users",
    "merchant_id": "Merchant",
    "payment_method": "Payment method",
    "amount": "Amount",
    "currency": "Currency (ISO 4217, e.g. CNY)",
    "affected_transactions": "Affected transactions",
    "transaction_ids": "Transaction ids (comma or newline separated)",
    "error_code": "Error code",
}
# Aliases people type in ``/oor record key=value``.
FACT_ALIASES = {
    "time": "occurred_at",
    "at": "occurred_at",
    "users": "affected_users",
    "user": "affected_users",
    "merchant": "merchant_id",
    "method": "payment_method",
    "count": "affected_transactions",
    "transactions": "affected_transactions",
    "txns": "transaction_ids",
    "tx": "transaction_ids",
    "code": "error_code",
}
_AMOUNT = re.compile(r"^\d{1,18}(\.\d{1,4})?$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_TIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S")


class FactErrors(Exception):
    """Field name -> message, for every invalid field at once."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class RecordedFacts:
    """Only the fields given; ``None`` means "not given", not "cleared"."""

    occurred_at: datetime | None = None
    affected_users: str | None = None
    merchant_id: str | None = None
    payment_method: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    affected_transactions: int | None = None
    transaction_ids: tuple[str, ...] = field(default_factory=tuple)
    error_code: str | None = None

    def as_details(self) -> dict[str, Any]:
        """The given facts as incident ``details`` entries (JSON-friendly)."""
        out: dict[str, Any] = {}
        for name in FACT_FIELDS:
            value = getattr(self, name)
            if name == "occurred_at" or value in (None, ()):
                continue
            if isinstance(value, Decimal):
                value = str(value)
            elif isinstance(value, tuple):
                value = list(value)
            out[name] = value
        return out

    def is_empty(self) -> bool:
        return self.occurred_at is None and not self.as_details()


def parse_key_values(text: str) -> dict[str, str]:
    """``amount=12.50 currency=CNY merchant="Shop 1"`` -> raw values by canonical field.

    Raises :class:`FactErrors` for unknown keys or words without ``=``.
    """
    errors: dict[str, str] = {}
    raw: dict[str, str] = {}
    for match in re.finditer(r'(\S+?)=("([^"]*)"|\S*)|(\S+)', text):
        if match.group(4):
            errors[match.group(4)] = "expected key=value"
            continue
        key = match.group(1).lower()
        key = FACT_ALIASES.get(key, key)
        value = match.group(3) if match.group(3) is not None else match.group(2)
        if key not in FACT_FIELDS:
            errors[key] = f"unknown field; use one of {', '.join(FACT_FIELDS)}"
            continue
        raw[key] = value
    if errors:
        raise FactErrors(errors)
    return raw


def validate_facts(raw: dict[str, str | None], tz: ZoneInfo) -> RecordedFacts:
    """Check raw strings (from text or a modal) and build :class:`RecordedFacts`."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name, text in raw.items():
        text = (text or "").strip()
        if not text:
            continue
        try:
            values[name] = _convert(name, text, tz)
        except ValueError as exc:
            errors[name] = str(exc)
    if "amount" in values and "currency" not in values:
        errors.setdefault("currency", "give the currency with the amount, e.g. CNY")
    if errors:
        raise FactErrors(errors)
    return RecordedFacts(**values)


def _convert(name: str, text: str, tz: ZoneInfo) -> Any:
    if name == "occurred_at":
        for fmt in _TIME_FORMATS:
            try:
                moment = datetime.strptime(text, fmt).replace(tzinfo=tz)
            except ValueError:
                continue
            # The webhooks' lower bound; the upper one keeps it storable in UTC.
            if not OCCURRED_AT_EARLIEST.year <= moment.year < 9999:
                raise ValueError(f"not a plausible time; from {OCCURRED_AT_EARLIEST:%Y-%m-%d}")
            return moment
        raise ValueError(f"not a time; write it as YYYY-MM-DD HH:MM ({tz.key})")
    if name == "amount":
        cleaned = text.replace(",", "")
        if not _AMOUNT.match(cleaned):
            raise ValueError("not a decimal amount, e.g. 1234.50")
        try:
            return Decimal(cleaned)
        except InvalidOperation:
            raise ValueError("not a decimal amount, e.g. 1234.50") from None
    if name == "currency":
        if not _CURRENCY.match(text.upper()):
            raise ValueError("not an ISO 4217 currency code, e.g. CNY or USD")
        return text.upper()
    if name == "affected_transactions":
        if not text.isdecimal():  # isdigit() lets "²" through, which int() rejects
            raise ValueError("not a whole number")
        return int(text)
    if name == "transaction_ids":
        ids = tuple(t for t in re.split(r"[\s,]+", text) if t)
        if len(ids) > 200:
            raise ValueError("at most 200 transaction ids; attach the rest as a file")
        return ids
    if len(text) > 200:
        raise ValueError("at most 200 characters")
    return text
