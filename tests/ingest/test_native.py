"""The native webhook body: every field rule, the error shape and the served schema."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from bot.domain.events import EventStatus
from bot.domain.types import OorType, Severity
from bot.ingest.errors import IngestError
from bot.ingest.native import EXAMPLE, NativeDetails, NativeEvent, native_json_schema, parse_native


def body(**changes: Any) -> bytes:
    """EXAMPLE with top-level changes; ``details__x=...`` changes a details field."""
    data = copy.deepcopy(EXAMPLE)
    for key, value in changes.items():
        target, name = (data["details"], key[9:]) if key.startswith("details__") else (data, key)
        if value is _DROP:
            target.pop(name, None)
        else:
            target[name] = value
    return json.dumps(data).encode()


_DROP = object()


def rejected(raw: bytes) -> IngestError:
    with pytest.raises(IngestError) as info:
        parse_native(raw)
    return info.value


def test_good_event_round_trips() -> None:
    event = parse_native(body())
    assert event.source == "native"
    assert event.dedup_key == "pay-gw-20240501-0001"
    assert event.type is OorType.PAYMENT_FAILURE
    assert event.severity is Severity.SEV2
    assert event.title == EXAMPLE["title"]
    assert event.origin == "payment-gateway"
    assert event.group_key == "alipay-channel-errors"
    assert event.url == EXAMPLE["url"]
    assert event.status is EventStatus.FIRING
    # +08:00 in, aware UTC out.
    assert event.occurred_at == datetime(2024, 5, 1, 2, 15, tzinfo=UTC)
    assert event.occurred_at is not None and event.occurred_at.tzinfo is UTC
    assert event.details.amount == Decimal("1234.50")
    assert isinstance(event.details.amount, Decimal)
    assert event.details.currency == "CNY"
    assert event.details.affected_transactions == 42
    assert event.details.payment_method == "alipay"
    assert event.details.merchant_id == "M10086"
    assert event.details.error_code == "CHANNEL_BLOCKED"
    assert event.details.extras == {"region": "cn-east-1", "error_rate": 0.31}
    assert event.payload == EXAMPLE


def test_minimal_event() -> None:
    event = parse_native(b'{"id": "1", "type": "system_crash", "title": "DB down"}')
    assert event.severity is None and event.occurred_at is None and event.url is None
    assert event.details.amount is None and event.details.extras == {}


def test_optional_fields_accept_null() -> None:
    raw = b'{"id": "1", "type": "system_crash", "title": "x", "severity": null, "details": null}'
    assert parse_native(raw).details.amount is None


def test_url_is_kept_as_sent() -> None:
    assert parse_native(body(url="https://example.com")).url == "https://example.com"


@pytest.mark.parametrize("amount", ["0", "0.5", "12.50", "1234.5678", "000123.40"])
def test_amount_accepted(amount: str) -> None:
    assert parse_native(body(details__amount=amount)).details.amount == Decimal(amount)


@pytest.mark.parametrize(
    ("raw", "status", "message_part"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"", 400, "not valid JSON"),
        (b"[1, 2]", 400, "not an array"),
        (b'"text"', 400, "not a string"),
        (b'{"id": "a", "id": "b"}', 400, "twice"),
        (b"\xff\xfe{", 400, "UTF-8"),
        (b"[" * 100_000, 400, "not valid JSON"),
    ],
)
def test_unparsable_body_is_400(raw: bytes, status: int, message_part: str) -> None:
    err = rejected(raw)
    assert err.status == status and err.field is None
    assert message_part in err.message
    assert err.to_json()["error"] == "invalid_json"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"type": "meltdown"}, "type"),
        ({"type": _DROP}, "type"),
        ({"id": _DROP}, "id"),
        ({"id": ""}, "id"),
        ({"id": "   "}, "id"),
        ({"id": 17}, "id"),
        ({"id": "x" * 201}, "id"),
        ({"title": "x" * 201}, "title"),
        ({"title": "  "}, "title"),
        ({"title": _DROP}, "title"),
        ({"severity": "SEV1"}, "severity"),
        ({"severity": "sev5"}, "severity"),
        ({"description": "x" * 3001}, "description"),
        ({"source": "x" * 101}, "source"),
        ({"group_key": "x" * 201}, "group_key"),
        ({"occurred_at": "2024-05-01T10:15:00"}, "occurred_at"),  # naive
        ({"occurred_at": "2024-05-01"}, "occurred_at"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"occurred_at": 1714529700}, "occurred_at"),
        ({"url": "javascript:alert(1)"}, "url"),
        ({"url": "ftp://example.com/x"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"titel": "typo"}, "titel"),
        ({"details": []}, "details"),
        ({"details__amount": 12.5}, "details.amount"),
        ({"details__amount": 12}, "details.amount"),
        ({"details__amount": "12,5"}, "details.amount"),
        ({"details__amount": "1,234.50"}, "details.amount"),
        ({"details__amount": "-1.00"}, "details.amount"),
        ({"details__amount": "1e3"}, "details.amount"),
        ({"details__amount": "NaN"}, "details.amount"),
        ({"details__amount": "Infinity"}, "details.amount"),
        ({"details__amount": " 12.50"}, "details.amount"),
        ({"details__amount": "12.50\n"}, "details.amount"),
        ({"details__amount": "1.23456"}, "details.amount"),
        ({"details__amount": "١٢"}, "details.amount"),  # Arabic-Indic digits
        ({"details__amount": ""}, "details.amount"),
        ({"details__currency": "rmb"}, "details.currency"),
        ({"details__currency": "CNYY"}, "details.currency"),
        ({"details__currency": _DROP}, "details.currency"),  # amount given
        ({"details__affected_transactions": -1}, "details.affected_transactions"),
        ({"details__affected_transactions": "5"}, "details.affected_transactions"),
        ({"details__affected_transactions": 5.0}, "details.affected_transactions"),
        ({"details__affected_transactions": True}, "details.affected_transactions"),
        ({"details__extras": {str(i): i for i in range(51)}}, "details.extras"),
        ({"details__extras": ["a"]}, "details.extras"),
        ({"details__ammount": "1.00"}, "details.ammount"),
    ],
)
def test_schema_violation_is_422_naming_the_field(changes: dict[str, Any], field: str) -> None:
    err = rejected(body(**changes))
    assert err.status == 422
    assert err.field == field
    out = err.to_json()
    assert out["error"] == "invalid_event" and out["field"] == field
    assert out["message"].startswith(f"{field}: ")
    assert out["errors"][0]["field"] == field


def test_amount_as_number_says_to_send_a_string() -> None:
    err = rejected(body(details__amount=1234.5))
    assert "string" in err.message and "cents" in err.message


def test_currency_alone_is_fine_but_amount_needs_it() -> None:
    assert parse_native(body(details__amount=_DROP)).details.currency == "CNY"
    assert "amount" in rejected(body(details__currency=_DROP)).message


def test_unknown_field_gets_a_hint() -> None:
    err = rejected(body(titel="Alipay down"))
    assert "unknown field" in err.message and "'title'" in err.message


def test_all_errors_are_listed() -> None:
    err = rejected(body(type="x", severity="y", details__amount=1))
    assert [e["field"] for e in err.to_json()["errors"]] == ["type", "severity", "details.amount"]
    assert "2 more errors" in err.message


def test_error_does_not_echo_input() -> None:
    err = rejected(body(details__currency="secret-ish-value"))
    assert "secret-ish-value" not in json.dumps(err.to_json())


def test_schema_shape() -> None:
    schema = native_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] and schema["description"]
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"id", "type", "title"}
    assert set(schema["properties"]) == set(NativeEvent.model_fields)
    details = schema["$defs"]["NativeDetails"]
    assert set(details["properties"]) == set(NativeDetails.model_fields)
    assert details["additionalProperties"] is False
    assert details["dependentRequired"] == {"amount": ["currency"]}
    for props in (schema["properties"], details["properties"]):
        for name, prop in props.items():
            assert prop.get("description"), f"{name} has no description"
    amount = details["properties"]["amount"]["anyOf"][0]
    assert amount["type"] == "string" and "pattern" in amount
    json.dumps(schema)  # serialisable as served


def test_schema_example_is_valid() -> None:
    (example,) = native_json_schema()["examples"]
    parse_native(json.dumps(example).encode())


def test_schema_is_valid_draft_2020_12() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = native_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    validator.validate(EXAMPLE)
    assert not validator.is_valid({**EXAMPLE, "titel": "x"})
    assert not validator.is_valid({**EXAMPLE, "details": {"amount": "1.00"}})


# -- values no database stores, and values nobody can read (issue 10) ----------------------
NOW = datetime(2026, 11, 25, 4, 30, tzinfo=UTC)


def raw_with(old: str, new: str) -> bytes:
    """EXAMPLE's JSON text with ``old`` replaced: for what ``json.dumps`` cannot write."""
    text = json.dumps(EXAMPLE)
    assert old in text
    return text.replace(old, new, 1).encode()


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (raw_with('"error_rate": 0.31', '"error_rate": 1e400'), "details.extras.error_rate"),
        (raw_with('"error_rate": 0.31', '"error_rate": -1e400'), "details.extras.error_rate"),
        (raw_with('"error_rate": 0.31', '"error_rate": NaN'), "details.extras.error_rate"),
        (raw_with('"error_rate": 0.31', '"error_rate": Infinity'), "details.extras.error_rate"),
        (
            raw_with('"affected_transactions": 42', '"affected_transactions": 1e400'),
            "details.affected_transactions",
        ),
        (raw_with('"severity": "sev2"', '"severity": [1, -Infinity]'), "severity[1]"),
    ],
)
def test_numbers_that_are_not_finite_are_422_naming_the_field(raw: bytes, field: str) -> None:
    err = rejected(raw)
    assert err.status == 422 and err.field == field
    assert "finite" in err.message


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (raw_with('"Alipay payments', '"Alipay\\u0000 payments'), "title"),
        (raw_with('"cn-east-1"', '"cn-east-1\\u0000"'), "details.extras.region"),
        (raw_with('"region"', '"reg\\u0000ion"'), "details.extras.reg\\u0000ion"),
        (raw_with('"M10086"', '"M\\ud800"'), "details.merchant_id"),
        (raw_with('"id": "pay', '"id": "\\u0000pay'), "id"),
    ],
)
def test_nul_and_lone_surrogates_are_422_naming_the_field(raw: bytes, field: str) -> None:
    # PostgreSQL's text and JSON cannot hold U+0000 (it was a 503 there, and reached Slack
    # from SQLite); a lone surrogate is not UTF-8 at all. Same answer on both databases.
    err = rejected(raw)
    assert err.status == 422 and err.field == field
    assert "cannot be stored" in err.message


@pytest.mark.parametrize(
    "occurred_at",
    [
        "9999-12-31T23:59:59Z",  # the board's local-time conversion overflowed: no board ever
        "0001-01-01T00:00:00+14:00",  # year 0 in UTC: was a 500
        "0001-01-01T00:00:00Z",
        "1999-12-31T23:59:59Z",
        "2026-11-26T04:30:01Z",  # more than a day after NOW
    ],
)
def test_occurred_at_outside_the_accepted_range_is_422(occurred_at: str) -> None:
    with pytest.raises(IngestError) as info:
        parse_native(body(occurred_at=occurred_at), now=NOW)
    assert info.value.status == 422 and info.value.field == "occurred_at"
    assert "2000-01-01" in info.value.message or "calendar" in info.value.message


@pytest.mark.parametrize(
    "occurred_at", ["2000-01-01T00:00:00Z", "2026-11-26T04:30:00Z", "2026-11-26T12:30:00+08:00"]
)
def test_occurred_at_inside_the_range_is_accepted(occurred_at: str) -> None:
    assert parse_native(body(occurred_at=occurred_at), now=NOW).occurred_at is not None


def test_without_a_clock_only_the_lower_bound_of_occurred_at_applies() -> None:
    assert parse_native(body(occurred_at="2090-01-01T00:00:00Z")).occurred_at is not None
    assert rejected(body(occurred_at="1970-01-01T00:00:00Z")).field == "occurred_at"


@pytest.mark.parametrize(
    "title",
    [
        "\u202e",  # right-to-left override
        "\u200b\u200b",  # zero width spaces
        "\u200d",  # zero width joiner
        "\u2066\u2069",  # isolates
        " \u200b \u202e \u2066 ",
        "\u3164\u2800\ufeff",  # Hangul filler, Braille blank, BOM
    ],
)
def test_a_title_with_nothing_visible_is_blank(title: str) -> None:
    err = rejected(body(title=title))
    assert err.status == 422 and err.field == "title"
    assert "blank" in err.message


@pytest.mark.parametrize("title", ["\u200bA", "👩\u200d💻 down", "\u202eafilA"])
def test_a_title_with_something_visible_is_kept(title: str) -> None:
    assert parse_native(body(title=title)).title == title
