"""Step 2's recorded facts: ``key=value`` parsing and the validation shared with the form."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from bot.domain.facts import FactErrors, RecordedFacts, parse_key_values, validate_facts

SHANGHAI = ZoneInfo("Asia/Shanghai")


# -- parse_key_values ------------------------------------------------------------------------
def test_keys_are_canonicalised_through_aliases_and_case() -> None:
    raw = parse_key_values("Amount=1200.50 CURRENCY=cny merchant=M-10086 count=57 txns=a,b code=E1")
    assert raw == {
        "amount": "1200.50",
        "currency": "cny",
        "merchant_id": "M-10086",
        "affected_transactions": "57",
        "transaction_ids": "a,b",
        "error_code": "E1",
    }


def test_quoted_values_keep_their_spaces() -> None:
    raw = parse_key_values('merchant="Shop 1  Xuhui" time="2026-11-23 09:40" method=alipay')
    assert raw == {
        "merchant_id": "Shop 1  Xuhui",
        "occurred_at": "2026-11-23 09:40",
        "payment_method": "alipay",
    }


def test_a_value_may_contain_equals_signs_and_may_be_empty() -> None:
    assert parse_key_values("code=A=B users=") == {"error_code": "A=B", "affected_users": ""}


def test_empty_text_gives_nothing() -> None:
    assert parse_key_values("   ") == {}


def test_unknown_keys_and_bare_words_are_all_reported_at_once() -> None:
    with pytest.raises(FactErrors) as caught:
        parse_key_values("amount=1 colour=red oops currency=CNY")
    assert set(caught.value.errors) == {"colour", "oops"}
    assert "unknown field" in caught.value.errors["colour"]
    assert "merchant_id" in caught.value.errors["colour"]  # tells the valid names
    assert caught.value.errors["oops"] == "expected key=value"


# -- validate_facts --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1200.50", Decimal("1200.50")),
        ("1,234,567.8901", Decimal("1234567.8901")),
        ("0", Decimal("0")),
        (" 42 ", Decimal("42")),
    ],
)
def test_amounts_are_exact_decimals(text: str, expected: Decimal) -> None:
    facts = validate_facts({"amount": text, "currency": "CNY"}, SHANGHAI)
    assert facts.amount == expected and isinstance(facts.amount, Decimal)
    assert str(facts.amount) == str(expected)  # no float rounding, scale kept


@pytest.mark.parametrize("text", ["-5", "1.23456", "12.", "1e3", "NaN", "¥12", "12 CNY", "abc"])
def test_bad_amounts_are_refused(text: str) -> None:
    with pytest.raises(FactErrors) as caught:
        validate_facts({"amount": text, "currency": "CNY"}, SHANGHAI)
    assert set(caught.value.errors) == {"amount"}


def test_an_amount_needs_a_currency() -> None:
    with pytest.raises(FactErrors) as caught:
        validate_facts({"amount": "10"}, SHANGHAI)
    assert set(caught.value.errors) == {"currency"}
    with pytest.raises(FactErrors):
        validate_facts({"amount": "10", "currency": "  "}, SHANGHAI)


def test_a_currency_alone_is_fine_and_is_upper_cased() -> None:
    assert validate_facts({"currency": "usd"}, SHANGHAI).currency == "USD"


@pytest.mark.parametrize("text", ["RMB1", "US", "EURO", "元元元"])
def test_bad_currencies_are_refused(text: str) -> None:
    with pytest.raises(FactErrors) as caught:
        validate_facts({"currency": text}, SHANGHAI)
    assert "ISO 4217" in caught.value.errors["currency"]


@pytest.mark.parametrize(
    "text", ["2026-11-23 09:40", "2026-11-23 09:40:00", "2026-11-23T09:40", "2026-11-23T09:40:00"]
)
def test_times_are_read_in_the_plan_time_zone(text: str) -> None:
    facts = validate_facts({"occurred_at": text}, SHANGHAI)
    assert facts.occurred_at is not None and facts.occurred_at.tzinfo is not None
    assert facts.occurred_at == datetime(2026, 11, 23, 1, 40, tzinfo=UTC)


def test_a_bad_time_names_the_format_and_the_zone() -> None:
    with pytest.raises(FactErrors) as caught:
        validate_facts({"occurred_at": "yesterday 9am"}, SHANGHAI)
    assert "YYYY-MM-DD HH:MM" in caught.value.errors["occurred_at"]
    assert "Asia/Shanghai" in caught.value.errors["occurred_at"]


@pytest.mark.parametrize("text", ["0001-01-01 00:00", "1999-12-31 23:59", "9999-12-31 23:59"])
def test_a_time_at_the_ends_of_the_calendar_is_refused(text: str) -> None:
    # 0001-01-01 in UTC+8 is in year 0 in UTC: storing it failed with OverflowError.
    with pytest.raises(FactErrors) as caught:
        validate_facts({"occurred_at": text}, SHANGHAI)
    assert "2000-01-01" in caught.value.errors["occurred_at"]


def test_counts_are_whole_numbers() -> None:
    assert validate_facts({"affected_transactions": "57"}, SHANGHAI).affected_transactions == 57
    assert validate_facts({"affected_transactions": "５７"}, SHANGHAI).affected_transactions == 57
    for bad in ["5.5", "-1", "many", "1,000", "²"]:
        with pytest.raises(FactErrors) as caught:
            validate_facts({"affected_transactions": bad}, SHANGHAI)
        assert caught.value.errors == {"affected_transactions": "not a whole number"}


def test_transaction_ids_split_on_commas_spaces_and_newlines() -> None:
    facts = validate_facts({"transaction_ids": "T1, T2\nT3  T4,,"}, SHANGHAI)
    assert facts.transaction_ids == ("T1", "T2", "T3", "T4")


def test_at_most_200_transaction_ids() -> None:
    ids = ",".join(f"T{i}" for i in range(200))
    assert len(validate_facts({"transaction_ids": ids}, SHANGHAI).transaction_ids) == 200
    with pytest.raises(FactErrors) as caught:
        validate_facts({"transaction_ids": ids + ",T200"}, SHANGHAI)
    assert "200" in caught.value.errors["transaction_ids"]


def test_free_text_fields_are_limited_to_200_characters() -> None:
    assert validate_facts({"merchant_id": "M" * 200}, SHANGHAI).merchant_id == "M" * 200
    with pytest.raises(FactErrors):
        validate_facts({"merchant_id": "M" * 201}, SHANGHAI)


def test_blank_and_missing_values_are_not_given() -> None:
    facts = validate_facts({"merchant_id": "  ", "error_code": None, "amount": ""}, SHANGHAI)
    assert facts == RecordedFacts()
    assert facts.is_empty()


def test_every_invalid_field_is_reported_at_once() -> None:
    with pytest.raises(FactErrors) as caught:
        validate_facts(
            {"amount": "x", "currency": "?", "affected_transactions": "y", "occurred_at": "z"},
            SHANGHAI,
        )
    assert set(caught.value.errors) == {
        "amount",
        "currency",
        "affected_transactions",
        "occurred_at",
    }
    assert "amount:" in str(caught.value) and "currency:" in str(caught.value)


def test_text_and_form_input_round_trip_to_the_same_facts() -> None:
    raw = parse_key_values('amount=1,200.50 currency=cny merchant="Shop 1" count=57 tx=A,B')
    facts = validate_facts(dict(raw), SHANGHAI)
    assert facts == RecordedFacts(
        merchant_id="Shop 1",
        amount=Decimal("1200.50"),
        currency="CNY",
        affected_transactions=57,
        transaction_ids=("A", "B"),
    )


# -- as_details / is_empty ----------------------------------------------------------------------
def test_as_details_is_json_friendly_and_leaves_out_what_was_not_given() -> None:
    facts = RecordedFacts(
        occurred_at=datetime(2026, 11, 23, tzinfo=UTC),
        amount=Decimal("1200.50"),
        currency="CNY",
        affected_transactions=0,
        transaction_ids=("A", "B"),
    )
    assert facts.as_details() == {
        "amount": "1200.50",
        "currency": "CNY",
        "affected_transactions": 0,  # zero is a fact, not "not given"
        "transaction_ids": ["A", "B"],
    }
    assert list(facts.as_details()) == [
        "amount",
        "currency",
        "affected_transactions",
        "transaction_ids",
    ]


def test_is_empty() -> None:
    assert RecordedFacts().is_empty()
    assert not RecordedFacts(occurred_at=datetime(2026, 11, 23, tzinfo=UTC)).is_empty()
    assert not RecordedFacts(error_code="E1").is_empty()
    assert not RecordedFacts(affected_transactions=0).is_empty()
