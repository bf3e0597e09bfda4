"""The resolve modal asks for the fix and the cause, and reads both back."""

from __future__ import annotations

from typing import Any

from bot.domain.types import CauseCategory
from bot.slack.views.resolve_modal import RESOLVE_CALLBACK_ID, build_resolve_modal, resolve_values
from tests.slack.views import HOSTILE, make_incident


def _blocks(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}


def test_modal_has_required_summary_and_cause() -> None:
    view = build_resolve_modal(make_incident(title=HOSTILE), "Switched acquirer").to_dict()
    assert view["callback_id"] == RESOLVE_CALLBACK_ID and view["private_metadata"] == "42"
    assert len(view["title"]["text"]) <= 24
    blocks = _blocks(view)
    assert list(blocks) == ["summary", "cause"]
    assert not blocks["summary"].get("optional") and not blocks["cause"].get("optional")
    summary = blocks["summary"]["element"]
    assert summary["action_id"] == "summary" and summary["multiline"]
    assert summary["initial_value"] == "Switched acquirer"
    cause = blocks["cause"]["element"]
    assert cause["type"] == "static_select" and cause["action_id"] == "cause"
    assert [o["value"] for o in cause["options"]] == [c.value for c in CauseCategory]
    assert cause["options"][2]["text"]["text"] == "Payment channel blocked 支付通道被封"
    assert "<!channel>" not in str(view)


def test_recorded_resolution_prefills_the_form() -> None:
    incident = make_incident(resolution_summary="Old fix", cause_category=CauseCategory.NETWORK)
    blocks = _blocks(build_resolve_modal(incident).to_dict())
    assert blocks["summary"]["element"]["initial_value"] == "Old fix"
    assert blocks["cause"]["element"]["initial_option"]["value"] == "network"
    fresh = _blocks(build_resolve_modal(make_incident()).to_dict())
    assert "initial_value" not in fresh["summary"]["element"]
    assert "initial_option" not in fresh["cause"]["element"]


def test_resolve_values_round_trip() -> None:
    state = {
        "summary": {"summary": {"type": "plain_text_input", "value": "Rerouted traffic"}},
        "cause": {
            "cause": {
                "type": "static_select",
                "selected_option": {
                    "text": {"type": "plain_text", "text": "Network 网络问题", "emoji": True},
                    "value": "network",
                },
            }
        },
    }
    assert resolve_values(state) == ("Rerouted traffic", "network")
    assert CauseCategory(resolve_values(state)[1] or "") is CauseCategory.NETWORK
    empty = {
        "summary": {"summary": {"type": "plain_text_input", "value": None}},
        "cause": {"cause": {"type": "static_select", "selected_option": None}},
    }
    assert resolve_values(empty) == (None, None)
    assert resolve_values({}) == (None, None)
