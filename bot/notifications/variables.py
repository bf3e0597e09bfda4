"""What a notification template is given: the incident's facts, worded for one locale.

Everything here is *data*. Templates receive these values as variables and never compile
them, so text that came from a webhook (a title such as ``{{ 7*7 }}``, a payment method)
is printed as it is.

Customer-facing wording lives in the templates; this module only decides *which* advice
applies (:data:`ACTIONS`, by OOR type and status) and formats amounts, times, payment
methods and the support contact the way each locale writes them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.clock import in_zone, utc_offset_label
from bot.domain.incident import IncidentSnapshot
from bot.domain.plan import Plan
from bot.domain.plan_sections import Locale, SupportContact
from bot.domain.types import IncidentStatus, OorType, Severity

INVESTIGATING = "investigating"
RESOLVED = "resolved"

# What the customer should do, by type and status. The templates' macros word each key.
#   retry_later  try again later or use another payment method
#   wait_and_retry  the whole service is down (another method won't help): try again later
#   retry_now    the service is back: pay again
#   check_order  check the order is really unpaid before paying again (no double charge)
#   contact_merchant  an order that still looks unpaid after a debit: the merchant fixes it
#   no_action    nothing to do; any wrong amount is corrected automatically
ACTIONS: dict[tuple[OorType, str], str] = {
    (OorType.PAYMENT_FAILURE, INVESTIGATING): "retry_later",
    (OorType.PAYMENT_FAILURE, RESOLVED): "retry_now",
    (OorType.TRANSACTION_INTERRUPTION, INVESTIGATING): "check_order",
    (OorType.TRANSACTION_INTERRUPTION, RESOLVED): "contact_merchant",
    (OorType.AMOUNT_ERROR, INVESTIGATING): "no_action",
    (OorType.AMOUNT_ERROR, RESOLVED): "no_action",
    (OorType.SYSTEM_CRASH, INVESTIGATING): "wait_and_retry",
    (OorType.SYSTEM_CRASH, RESOLVED): "retry_now",
}

# (label, "… payments" phrase) per locale. Chinese: 微信支付 already ends in 支付.
_METHODS: dict[str, dict[Locale, tuple[str, str]]] = {
    "alipay": {Locale.ZH_CN: ("支付宝", "支付宝支付"), Locale.EN: ("Alipay", "Alipay payments")},
    "wechat_pay": {
        Locale.ZH_CN: ("微信支付", "微信支付"),
        Locale.EN: ("WeChat Pay", "WeChat Pay payments"),
    },
    "unionpay": {
        Locale.ZH_CN: ("银联", "银联支付"),
        Locale.EN: ("UnionPay", "UnionPay payments"),
    },
    "card": {Locale.ZH_CN: ("银行卡", "银行卡支付"), Locale.EN: ("card", "card payments")},
    "apple_pay": {
        Locale.ZH_CN: ("Apple Pay", "Apple Pay 支付"),
        Locale.EN: ("Apple Pay", "Apple Pay payments"),
    },
}
_TYPE_LABELS_EN = {t: t.label.lower() for t in OorType}
_CURRENCY_SYMBOLS_ZH = {"CNY": "¥", "RMB": "¥", "USD": "US$", "HKD": "HK$", "EUR": "€"}
_STATUS_LABELS = {
    Locale.ZH_CN: {INVESTIGATING: "处理中", RESOLVED: "已解决"},
    Locale.EN: {INVESTIGATING: "investigating", RESOLVED: "resolved"},
}
_BEIJING_ZONES = {"Asia/Shanghai", "Asia/Chongqing", "Asia/Harbin", "PRC"}
_ROUND_THE_CLOCK = re.compile(r"^\s*(7\s*[x×*]\s*24|24\s*[x×*/]\s*7)(\s*小时)?\s*$", re.I)
_CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")


def status_of(incident: IncidentSnapshot) -> str:
    """Customers only hear two states: we are on it, or it is fixed."""
    return INVESTIGATING if incident.status is IncidentStatus.OPEN else RESOLVED


def payment_method_words(raw: str | None, locale: Locale) -> tuple[str | None, str]:
    """(label, phrase): ``("支付宝", "支付宝支付")``; unknown methods are shown as given."""
    if not raw:
        return None, "支付" if locale is Locale.ZH_CN else "payments"
    known = _METHODS.get(raw.strip().lower())
    if known:
        return known[locale]
    raw = raw.strip()
    return raw, f"{raw} 支付" if locale is Locale.ZH_CN else f"{raw} payments"


def format_amount(amount: Decimal | None, currency: str | None, locale: Locale) -> str | None:
    """``¥1,234.50`` in Chinese, ``CNY 1,234.50`` in English (the ISO code is unambiguous
    to readers abroad, where ``¥`` may mean yen)."""
    if amount is None:
        return None
    code = (currency or "").strip().upper()
    number = f"{amount:,.2f}"
    if locale is Locale.ZH_CN and code in _CURRENCY_SYMBOLS_ZH:
        return f"{_CURRENCY_SYMBOLS_ZH[code]}{number}"
    return f"{code} {number}".strip()


def _zone_label(local: datetime, tz: ZoneInfo, locale: Locale) -> str:
    offset = utc_offset_label(local)
    if locale is Locale.ZH_CN and tz.key in _BEIJING_ZONES and offset == "UTC+8":
        return "北京时间"
    return offset


def format_time(
    value: datetime | None,
    tz: ZoneInfo,
    locale: Locale,
    *,
    short: bool,
    after: datetime | None = None,
) -> str:
    """A moment in the plan's time zone, as each language writes it.

    zh-CN: ``2026年11月25日 12:30（北京时间）`` / short ``11月25日12:30``;
    en: ``25 November 2026 at 12:30 (UTC+8)`` / short ``12:30 (UTC+8) on 25 Nov``.
    A short time on the same local day as ``after`` drops the date (SMS are short).
    """
    if value is None:
        return ""
    local = in_zone(value, tz)
    same_day_as = after is not None and in_zone(after, tz).date() == local.date()
    zone = _zone_label(local, tz, locale)
    hhmm = local.strftime("%H:%M")
    if locale is Locale.ZH_CN:
        if short:
            return hhmm if same_day_as else f"{local.month}月{local.day}日{hhmm}"
        return f"{local.year}年{local.month}月{local.day}日 {hhmm}（{zone}）"
    if short:
        return f"{hhmm} ({zone})" + ("" if same_day_as else f" on {local.day} {local:%b}")
    return f"{local.day} {local:%B} {local.year} at {hhmm} ({zone})"


def split_bilingual(text: str | None, locale: Locale) -> str | None:
    """Plan entries are often written ``中文 English`` (``客户服务中心 Customer Service``):
    keep the part in the message's language, or the whole text when it is one language."""
    if not text:
        return None
    words = text.split()
    chinese = [w for w in words if _CJK.search(w)]
    other = [w for w in words if not _CJK.search(w)]
    if not chinese or not other:
        return text.strip()
    return "".join(chinese) if locale is Locale.ZH_CN else " ".join(other)


def _hours(text: str | None, locale: Locale) -> str | None:
    if not text:
        return None
    if _ROUND_THE_CLOCK.match(text):
        return "7×24小时" if locale is Locale.ZH_CN else "24/7"
    return text.strip()


def support_for(support: SupportContact, locale: Locale) -> dict[str, str | None]:
    return {
        "name": split_bilingual(support.name, locale),
        "phone": support.phone,
        "email": support.email,
        "url": support.url,
        "hours": _hours(support.hours, locale),
    }


def brand_from_signature(signature: str | None) -> str | None:
    """``【某某支付】`` -> ``某某支付``: the sender's name, for Chinese sign-offs."""
    return signature.strip("【】 ") if signature else None


def build_variables(incident: IncidentSnapshot, plan: Plan, locale: Locale) -> dict[str, Any]:
    """Every variable a template may use (names are part of the templates' contract)."""
    tz = plan.tz
    status = status_of(incident)
    method, payments = payment_method_words(incident.payment_method, locale)
    occurred = incident.occurred_at or incident.opened_at
    currency = incident.details.get("currency")
    zh = locale is Locale.ZH_CN
    return {
        "locale": locale.value,
        "incident_key": incident.key,
        "type": incident.type.value,
        "type_label": incident.type.label_zh if zh else _TYPE_LABELS_EN[incident.type],
        "severity": incident.severity.value,
        "title": incident.title,
        "status": status,
        "status_label": _STATUS_LABELS[locale][status],
        "action": ACTIONS[(incident.type, status)],
        "payment_method": method,
        "payments": payments,
        "amount": format_amount(incident.amount, str(currency) if currency else None, locale),
        "occurred_at": format_time(occurred, tz, locale, short=False),
        "occurred_short": format_time(occurred, tz, locale, short=True),
        "resolved_at": format_time(incident.resolved_at, tz, locale, short=False) or None,
        "resolved_short": format_time(incident.resolved_at, tz, locale, short=True, after=occurred)
        or None,
        "support": support_for(plan.notifications.support, locale),
        "brand": brand_from_signature(plan.notifications.sms_signature) if zh else None,
    }


def sample_incident(
    oor_type: OorType = OorType.PAYMENT_FAILURE, *, resolved: bool = False
) -> IncidentSnapshot:
    """A realistic incident for previews (``oor-bot notify render --sample``) and goldens."""
    opened = datetime(2026, 11, 25, 4, 32, tzinfo=UTC)
    return IncidentSnapshot(
        number=42,
        type=oor_type,
        title="Alipay channel returns CHANNEL_BLOCKED",
        severity=Severity.SEV2,
        status=IncidentStatus.RESOLVED if resolved else IncidentStatus.OPEN,
        source="webhook",
        opened_at=opened,
        occurred_at=datetime(2026, 11, 25, 4, 30, tzinfo=UTC),
        details={
            "payment_method": "alipay",
            "merchant_id": "M-10086",
            "amount": "1234.50",
            "currency": "CNY",
            "affected_transactions": 57,
        },
        resolved_at=datetime(2026, 11, 25, 6, 5, tzinfo=UTC) if resolved else None,
    )
