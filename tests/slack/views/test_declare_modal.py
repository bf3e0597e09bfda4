"""The declare modal: type, title, optional severity and description."""

from __future__ import annotations

from bot.domain.types import OorType, Severity
from bot.slack.views.declare_modal import DECLARE_CALLBACK_ID, build_declare_modal, declare_values


def test_modal_fields_and_metadata() -> None:
    view = build_declare_modal("C0PAYMENTS").to_dict()
    assert view["callback_id"] == DECLARE_CALLBACK_ID
    assert view["private_metadata"] == "C0PAYMENTS"
    assert len(view["title"]["text"]) <= 24
    blocks = {b["block_id"]: b for b in view["blocks"]}
    assert list(blocks) == ["type", "title", "severity", "description", "visibility"]
    # Private by declaration (issue 14): one optional choice; empty = as the plan says.
    assert [o["value"] for o in blocks["visibility"]["element"]["options"]] == ["private"]
    assert blocks["visibility"]["optional"]
    assert {b["element"]["action_id"] for b in blocks.values()} == set(blocks)
    types = blocks["type"]["element"]["options"]
    assert [o["value"] for o in types] == [t.value for t in OorType]
    assert types[0]["text"]["text"] == "Payment failure 支付失败"
    assert blocks["title"]["element"]["max_length"] == 200
    severities = blocks["severity"]["element"]["options"]
    assert [o["value"] for o in severities] == [s.value for s in Severity]
    assert severities[0]["text"]["text"].startswith("SEV1")
    assert blocks["severity"]["optional"] and blocks["description"]["optional"]
    assert not blocks["type"].get("optional") and not blocks["title"].get("optional")
    assert blocks["description"]["element"]["multiline"]


def test_unknown_channel_is_empty_metadata() -> None:
    # The SDK leaves an empty private_metadata out; Slack then sends "" back.
    assert build_declare_modal(None).to_dict().get("private_metadata", "") == ""


def test_declare_values_round_trip() -> None:
    state = {
        "type": {
            "type": {
                "type": "static_select",
                "selected_option": {
                    "text": {"type": "plain_text", "text": "Amount error 金额错误"},
                    "value": "amount_error",
                },
            }
        },
        "title": {"title": {"type": "plain_text_input", "value": "Double charges"}},
        "severity": {"severity": {"type": "static_select", "selected_option": None}},
        "description": {"description": {"type": "plain_text_input", "value": None}},
    }
    assert declare_values(state) == {
        "type": "amount_error",
        "title": "Double charges",
        "severity": None,
        "description": None,
        "visibility": None,
    }
    state["visibility"] = {
        "visibility": {
            "type": "static_select",
            "selected_option": {
                "text": {"type": "plain_text", "text": "Private"},
                "value": "private",
            },
        }
    }
    assert declare_values(state)["visibility"] == "private"
    assert declare_values({"values": state}) == declare_values(state)
