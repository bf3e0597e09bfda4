"""The record modal: one field per fact, pre-filled, and its submission read back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.domain.facts import FACT_FIELDS, FactErrors, validate_facts
from bot.slack.views.record_modal import (
    RECORD_CALLBACK_ID,
    build_record_modal,
    record_errors_response,
    record_values,
)
from tests.slack.views import HOSTILE, TZ, make_incident


def _inputs(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for b in view["blocks"] if b["type"] == "input"]


def _state(**texts: str | None) -> dict[str, Any]:
    """``view.state.values`` as Slack sends it for plain-text inputs."""
    return {
        name: {name: {"type": "plain_text_input", "value": texts.get(name)}} for name in FACT_FIELDS
    }


def test_modal_has_one_optional_input_per_fact_field() -> None:
    view = build_record_modal(make_incident(), TZ).to_dict()
    assert view["type"] == "modal" and view["callback_id"] == RECORD_CALLBACK_ID
    assert len(view["title"]["text"]) <= 24
    assert view["submit"]["text"] == "Save" and view["close"]["text"] == "Cancel"
    assert view["private_metadata"] == "42"
    inputs = _inputs(view)
    assert [b["block_id"] for b in inputs] == list(FACT_FIELDS)
    assert [b["element"]["action_id"] for b in inputs] == list(FACT_FIELDS)
    assert [b["label"]["text"] for b in inputs] == list(FACT_FIELDS.values())
    assert all(b["optional"] for b in inputs)
    assert all(b["element"]["type"] == "plain_text_input" for b in inputs)
    multiline = {b["block_id"] for b in inputs if b["element"].get("multiline")}
    assert multiline == {"transaction_ids"}


def test_inputs_are_prefilled_from_the_incident_in_the_plan_time_zone() -> None:
    incident = make_incident(
        occurred_at=datetime(2026, 11, 25, 4, 5, tzinfo=UTC),
        details={
            "amount": "12.50",
            "currency": "CNY",
            "affected_transactions": 120,
            "transaction_ids": ["T1", "T2"],
            "merchant_id": "M&S <shop>",
        },
    )
    inputs = {
        b["block_id"]: b["element"] for b in _inputs(build_record_modal(incident, TZ).to_dict())
    }
    assert inputs["occurred_at"]["initial_value"] == "2026-11-25 12:05"
    assert inputs["amount"]["initial_value"] == "12.50"
    assert inputs["affected_transactions"]["initial_value"] == "120"
    assert inputs["transaction_ids"]["initial_value"] == "T1\nT2"
    assert inputs["merchant_id"]["initial_value"] == "M&S <shop>"  # plain text: not escaped
    assert "initial_value" not in inputs["error_code"]


def test_a_value_too_long_to_prefill_is_left_empty_not_truncated() -> None:
    ids = [f"TXN{i:012d}" for i in range(200)]  # 3,199 characters joined
    incident = make_incident(details={"transaction_ids": ids, "affected_users": "u" * 500})
    view = build_record_modal(incident, TZ).to_dict()
    inputs = {b["block_id"]: b for b in _inputs(view)}
    for name in ("transaction_ids", "affected_users"):
        assert "initial_value" not in inputs[name]["element"]
        assert "leave empty to keep it" in inputs[name]["hint"]["text"]


def test_hostile_title_is_escaped_in_the_modal() -> None:
    view = build_record_modal(make_incident(title=HOSTILE), TZ).to_dict()
    assert "<!channel>" not in str(view) and "&lt;!channel&gt;" in str(view)


def test_record_values_round_trip_into_validation() -> None:
    state = _state(
        occurred_at="2026-11-25 12:05",
        amount="1,234.50",
        currency="cny",
        transaction_ids="T1\nT2, T3",
        merchant_id="",
    )
    values = record_values(state)
    assert values["amount"] == "1,234.50" and values["merchant_id"] is None
    assert set(values) == set(FACT_FIELDS)
    assert record_values({"values": state}) == values  # view["state"] works too
    facts = validate_facts(values, TZ)
    assert facts.occurred_at == datetime(2026, 11, 25, 4, 5, tzinfo=UTC)
    assert facts.transaction_ids == ("T1", "T2", "T3") and facts.currency == "CNY"


def test_missing_blocks_read_as_not_given() -> None:
    assert record_values({}) == dict.fromkeys(FACT_FIELDS)


def test_errors_response_maps_fields_to_short_messages() -> None:
    with pytest.raises(FactErrors) as caught:
        validate_facts(record_values(_state(amount="12.50", occurred_at="yesterday")), TZ)
    body = record_errors_response(caught.value.errors)
    assert body["response_action"] == "errors"
    assert set(body["errors"]) == {"occurred_at", "currency"}
    assert "YYYY-MM-DD HH:MM" in body["errors"]["occurred_at"]
    long = record_errors_response({"amount": "x" * 500, "bogus": "unknown field"})
    assert all(len(m) <= 150 for m in long["errors"].values())
    assert set(long["errors"]) <= set(FACT_FIELDS)
    assert "bogus: unknown field" in long["errors"]["occurred_at"]
