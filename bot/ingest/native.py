"""The bot's own webhook format (``POST /webhooks/oor``) and its JSON Schema.

Validation is deliberately strict: this body becomes an incident record that people act on,
so a typo (``titel``), a float amount or a timestamp without a zone is rejected with a 422
naming the field instead of being guessed at. The model validates the dict produced by
:func:`~bot.ingest.errors.decode_json_object` in pydantic's lax mode, which for JSON-shaped
input only coerces numbers; the one integer field is therefore ``StrictInt``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    HttpUrl,
    StrictInt,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import PydanticCustomError

from bot.domain.events import EventStatus, OorEvent, PaymentDetails, occurred_at_problem
from bot.domain.outside_text import is_blank
from bot.domain.types import OorType, Severity
from bot.ingest.errors import from_validation_error
from bot.ingest.json_body import decode_json_object

# Up to 18 integer digits (fits a NUMERIC(22, 4) column) and up to 4 decimal places:
# ISO 4217 minor units go up to 4 (CLF, UYW), so 4 never loses precision a currency has.
# ``[0-9]`` not ``\d``: Python's ``\d`` also matches Arabic-Indic and other digits.
AMOUNT_MAX_DECIMALS = 4
_AMOUNT_PATTERN = r"^[0-9]{1,18}(\.[0-9]{1,4})?$"
_AMOUNT_RE = re.compile(_AMOUNT_PATTERN)
_MAX_EXTRAS = 50
# The largest value a signed 64-bit (BIGINT) column can hold.
_MAX_COUNT = 2**63 - 1
_HTTP_URL: TypeAdapter[HttpUrl] = TypeAdapter(HttpUrl)


def _amount(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise PydanticCustomError(
            "amount_not_string",
            'send it as a decimal string like "1234.50", not a JSON number: '
            "floating-point numbers lose cents",
        )
    if not isinstance(value, str):
        raise PydanticCustomError("amount_type", 'must be a decimal string like "1234.50"')
    if value.startswith("-"):
        raise PydanticCustomError("amount_negative", "must not be negative")
    if not _AMOUNT_RE.fullmatch(value):
        raise PydanticCustomError(
            "amount_format",
            'must be a plain decimal string like "1234.50": digits, optionally a "." '
            "and 1 to 4 decimals; no sign, exponent, thousands separator or spaces",
        )
    return Decimal(value)


def _rfc3339_string(value: Any) -> Any:
    # Lax pydantic would also take a Unix timestamp number; its unit (s or ms?) is a guess.
    if not isinstance(value, str):
        raise PydanticCustomError(
            "datetime_type", "must be an RFC 3339 string like 2024-05-01T10:15:00Z"
        )
    return value


def _to_utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise PydanticCustomError(
            "timezone_required",
            "needs a timezone, like 2024-05-01T10:15:00Z or "
            "2024-05-01T18:15:00+08:00: a time without one is ambiguous",
        )
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+14:00 is in year 0 in UTC
        raise PydanticCustomError("datetime_range", "is outside the calendar in UTC") from None


def _believable(value: datetime, info: ValidationInfo) -> datetime:
    # "now" is when the body was received (parse_native's argument); without it only the
    # lower bound can be checked.
    now = (info.context or {}).get("now")
    problem = occurred_at_problem(value, now or value)
    if problem is not None:
        raise PydanticCustomError("datetime_range", problem)
    return value


def _http_url(value: str) -> str:
    # Validate with pydantic's URL parser but keep the sender's exact string: HttpUrl would
    # normalise it (e.g. add a trailing "/"), and the link should stay the one they sent.
    _HTTP_URL.validate_python(value)
    return value


def _currency(value: str) -> str:
    # Format only: checking against the ISO 4217 list would reject new codes for no gain.
    if not re.fullmatch(r"[A-Z]{3}", value):
        raise PydanticCustomError(
            "currency_format", "must be an ISO 4217 code: three uppercase letters like CNY"
        )
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("blank", "must not be blank")
    return value


def _visible(value: str) -> str:
    # Zero-width and direction-control characters alone (U+200B, U+202E...) show nothing.
    if is_blank(value):
        raise PydanticCustomError("blank", "must not be blank (it has no visible characters)")
    return value


def _text(max_length: int) -> Any:
    return StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length)


# Text shown to people: stripped, bounded, and with something visible in it.
Text100 = Annotated[str, _text(100), AfterValidator(_visible)]
Text200 = Annotated[str, _text(200), AfterValidator(_visible)]
Text3000 = Annotated[str, _text(3000), AfterValidator(_visible)]


Amount = Annotated[
    Decimal,
    BeforeValidator(_amount),
    WithJsonSchema({"type": "string", "pattern": _AMOUNT_PATTERN, "examples": ["1234.50"]}),
]
EventId = Annotated[
    str, StringConstraints(min_length=1, max_length=200), AfterValidator(_not_blank)
]
OccurredAt = Annotated[
    datetime,
    BeforeValidator(_rfc3339_string),
    AfterValidator(_to_utc),
    AfterValidator(_believable),
]
Currency = Annotated[
    str,
    AfterValidator(_currency),
    WithJsonSchema({"type": "string", "pattern": "^[A-Z]{3}$", "examples": ["CNY"]}),
]
Url = Annotated[
    str,
    StringConstraints(max_length=2000),
    AfterValidator(_http_url),
    WithJsonSchema({"type": "string", "format": "uri", "maxLength": 2000}),
]


class NativeDetails(BaseModel):
    """Payment facts about the event; every field is optional."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    payment_method: Text100 | None = Field(
        default=None, description="Payment method or channel, e.g. `alipay`, `card`."
    )
    merchant_id: Text100 | None = Field(
        default=None, description="The affected merchant's id, if one merchant is concerned."
    )
    amount: Amount | None = Field(
        default=None,
        description=(
            'Amount involved, as a decimal STRING such as "1234.50" (a JSON number is '
            "rejected: floats lose cents). Non-negative, at most 18 digits before the "
            f"point and {AMOUNT_MAX_DECIMALS} after it. Requires `currency`."
        ),
    )
    currency: Currency | None = Field(
        default=None,
        description="ISO 4217 code of `amount`, three uppercase letters (`CNY`, `USD`).",
        validate_default=True,  # so the "required with amount" check runs when it is absent
    )
    affected_transactions: Annotated[StrictInt, Field(ge=0, le=_MAX_COUNT)] | None = Field(
        default=None, description="How many transactions are affected (an integer, 0 or more)."
    )
    error_code: Text100 | None = Field(
        default=None, description="Error code reported by the payment channel or system."
    )
    extras: dict[str, Any] = Field(
        default_factory=dict,
        max_length=_MAX_EXTRAS,
        description=f"Free-form facts shown with the incident (at most {_MAX_EXTRAS} keys).",
    )

    @field_validator("currency")
    @classmethod
    def _currency_with_amount(cls, value: str | None, info: ValidationInfo) -> str | None:
        # ``amount`` is declared first, so it is in ``info.data`` if it was valid.
        if value is None and info.data.get("amount") is not None:
            raise PydanticCustomError("currency_required", "is required when amount is given")
        return value


class NativeEvent(BaseModel):
    """An out-of-order (OOR) event reported to the OOR bot.

    Events with the same `group_key` join the same open incident; re-sending an event with
    the same `id` is harmless (it is recognised and not processed twice). Unknown fields
    are rejected.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, title="OOR native event")

    id: EventId = Field(
        description=(
            "The sender's unique id for this event (1-200 characters). It is the idempotency "
            "key: an event whose id was already received is acknowledged and ignored."
        )
    )
    type: OorType = Field(
        description=(
            "Kind of failure: `payment_failure`, `transaction_interruption`, `amount_error` "
            "or `system_crash`."
        )
    )
    title: Text200 = Field(
        description=(
            "One-line summary shown as the incident title (1-200 characters, some of them "
            "visible: zero-width and direction-control characters alone are blank)."
        )
    )
    severity: Severity | None = Field(
        default=None,
        description="`sev1` (worst: payments down for many customers) to `sev4`. Optional.",
    )
    description: Text3000 | None = Field(
        default=None, description="Longer explanation, up to 3000 characters."
    )
    occurred_at: OccurredAt | None = Field(
        default=None,
        description=(
            "When the problem started: an RFC 3339 date-time WITH a timezone (`Z` or an "
            "offset such as `+08:00`), from 2000-01-01 to one day after the bot receives "
            "the event. Stored in UTC."
        ),
    )
    source: Text100 | None = Field(
        default=None, description="Name of the sending system, e.g. `payment-gateway`."
    )
    url: Url | None = Field(
        default=None, description="An http(s) link to the alert, dashboard or log for this event."
    )
    group_key: Text200 | None = Field(
        default=None,
        description=(
            "Related events sending the same key join one open incident instead of opening "
            "a new one (≤ 200 chars)."
        ),
    )
    details: NativeDetails | None = Field(
        default=None, description="Payment facts about the event; every field in it is optional."
    )


EXAMPLE: dict[str, Any] = {
    "id": "pay-gw-20240501-0001",
    "type": "payment_failure",
    "title": "Alipay payments failing with CHANNEL_BLOCKED",
    "severity": "sev2",
    "description": "Since 10:15 about 30% of Alipay payments fail at the channel.",
    "occurred_at": "2024-05-01T10:15:00+08:00",
    "source": "payment-gateway",
    "url": "https://grafana.example.com/d/payments?var-channel=alipay",
    "group_key": "alipay-channel-errors",
    "details": {
        "payment_method": "alipay",
        "merchant_id": "M10086",
        "amount": "1234.50",
        "currency": "CNY",
        "affected_transactions": 42,
        "error_code": "CHANNEL_BLOCKED",
        "extras": {"region": "cn-east-1", "error_rate": 0.31},
    },
}

# Field names per parent path, for "did you mean" hints on unknown fields.
_KNOWN_FIELDS = {"": NativeEvent.model_fields.keys(), "details": NativeDetails.model_fields.keys()}


def parse_native(body: bytes, *, now: datetime | None = None) -> OorEvent:
    """Validate a ``POST /webhooks/oor`` body and turn it into an :class:`OorEvent`.

    Raises IngestError 400 when the body is not a JSON object, 422 when it breaks the schema
    or holds a value no database can store. ``now`` is when it was received: ``occurred_at``
    may be at most a day later (the webhook always passes it; without it only the lower
    bound, 2000-01-01, is checked).
    """
    data = decode_json_object(body)
    try:
        event = NativeEvent.model_validate(data, context={"now": now})
    except ValidationError as exc:
        raise from_validation_error(exc, _KNOWN_FIELDS) from None
    details = event.details or NativeDetails()
    return OorEvent(
        source="native",
        dedup_key=event.id,
        type=event.type,
        title=event.title,
        severity=event.severity,
        description=event.description,
        occurred_at=event.occurred_at,  # already converted to aware UTC
        origin=event.source,
        url=event.url,
        group_key=event.group_key,
        # The native format has no "resolved" notice (yet): every delivery reports a problem.
        status=EventStatus.FIRING,
        details=PaymentDetails(
            payment_method=details.payment_method,
            merchant_id=details.merchant_id,
            amount=details.amount,
            currency=details.currency,
            affected_transactions=details.affected_transactions,
            error_code=details.error_code,
            extras=dict(details.extras),
        ),
        payload=data,
    )


def native_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of the native body, as served at ``GET /webhooks/oor/schema``."""
    schema = NativeEvent.model_json_schema()
    details = schema.get("$defs", {}).get("NativeDetails")
    if details is not None:
        # The "currency required with amount" rule lives in a validator; state it here too.
        details["dependentRequired"] = {"amount": ["currency"]}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **schema,
        "examples": [EXAMPLE],
    }
