"""The impact of an incident, from its recorded facts (step 2) and the notifications sent.

Amounts are totalled per currency and never mixed: ``CNY 98,000.00`` and ``USD 12.50`` are
two lines, not one number. Values stay strings in the facts (``"98000.00"``) so no JSON
client turns an amount into a float.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.postmortems.text import inline

UNKNOWN_CURRENCY = "(currency not recorded)"


def _decimal(raw: Any) -> Decimal | None:
    if raw in (None, ""):
        return None
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def amounts_by_currency(entries: Iterable[tuple[Any, Any]]) -> dict[str, str]:
    """``[(amount, currency), …]`` → ``{"CNY": "98000.00", …}`` totalled per currency,
    currencies in order of first appearance; unparsable amounts are left out."""
    totals: dict[str, Decimal] = {}
    for raw_amount, raw_currency in entries:
        amount = _decimal(raw_amount)
        if amount is None:
            continue
        currency = str(raw_currency).strip().upper() if raw_currency else UNKNOWN_CURRENCY
        totals[currency] = totals.get(currency, Decimal(0)) + amount
    return {currency: str(total) for currency, total in totals.items()}


def _amount_entries(details: Mapping[str, Any]) -> list[tuple[Any, Any]]:
    """The recorded amount, plus per-currency amounts a sender put in ``extras.amounts``
    (``[{"amount": "12.50", "currency": "USD"}, …]``) when one event spans currencies."""
    entries: list[tuple[Any, Any]] = []
    if details.get("amount") not in (None, ""):
        entries.append((details.get("amount"), details.get("currency")))
    extras = details.get("extras")
    more = extras.get("amounts") if isinstance(extras, Mapping) else None
    if isinstance(more, list):
        entries += [
            (item.get("amount"), item.get("currency")) for item in more if isinstance(item, Mapping)
        ]
    return entries


def _split(raw: Any) -> list[str]:
    if raw in (None, ""):
        return []
    values = raw if isinstance(raw, list) else str(raw).replace("\n", ",").split(",")
    return [str(v).strip() for v in values if str(v).strip()]


def _count(raw: Any) -> int | None:
    try:
        return int(raw) if raw not in (None, "") else None
    except (TypeError, ValueError):
        return None


def impact_facts(
    details: Mapping[str, Any], event_count: int, notifications_sent: int
) -> dict[str, Any]:
    """JSON-ready impact figures (``None``/empty when not recorded)."""
    return {
        "affected_transactions": _count(details.get("affected_transactions")),
        "amounts": amounts_by_currency(_amount_entries(details)),
        "merchants": _split(details.get("merchant_id")),
        "affected_users": str(details["affected_users"]).strip()
        if details.get("affected_users")
        else None,
        "payment_method": str(details["payment_method"]) if details.get("payment_method") else None,
        "error_code": str(details["error_code"]) if details.get("error_code") else None,
        "transaction_ids": len(_split(details.get("transaction_ids"))),
        "events": event_count,
        "customer_notifications_sent": notifications_sent,
    }


def impact_rows(impact: Mapping[str, Any]) -> list[dict[str, str]]:
    """Label/value rows for the document; ``—`` for what was not recorded."""

    def shown(value: Any) -> str:
        return "—" if value in (None, "", [], {}) else str(value)

    amounts = impact.get("amounts") or {}
    rows = [
        ("Affected transactions", shown(_thousands(impact.get("affected_transactions")))),
        (
            "Amount affected",
            "; ".join(f"{c} {Decimal(v):,.2f}" for c, v in amounts.items()) or "—",
        ),
        ("Merchants", shown(", ".join(impact.get("merchants") or []))),
        ("Affected users", shown(impact.get("affected_users"))),
        ("Payment method", shown(impact.get("payment_method"))),
        ("Error code", shown(impact.get("error_code"))),
        ("Transaction ids recorded", shown(impact.get("transaction_ids") or None)),
        ("Monitoring events", shown(impact.get("events"))),
        ("Customer notifications sent", str(impact.get("customer_notifications_sent") or 0)),
    ]
    return [{"label": label, "value": inline(value)} for label, value in rows]


def _thousands(value: int | None) -> str | None:
    return f"{value:,}" if value is not None else None
