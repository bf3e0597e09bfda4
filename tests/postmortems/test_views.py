"""The review form as Slack sends it back, ``/oor actions add`` parsing, the summary message."""

from __future__ import annotations

import json
from datetime import date
from zoneinfo import ZoneInfo

import pytest

from bot.domain.lifecycle import CommandRefused
from bot.postmortems.model import StoredPostmortem
from bot.postmortems.slack import parse_action_add
from bot.postmortems.views import (
    build_action_items_message,
    build_review_modal,
    build_summary_message,
    parse_publish_value,
    review_values,
)
from tests.postmortems import CLOSED, sample_action_items, sample_notes, sample_snapshot


def test_review_form_reads_slacks_real_state_shape() -> None:
    state = {
        "values": {
            "root_cause": {"root_cause": {"type": "plain_text_input", "value": "Limit change"}},
            "action_1_text": {"action_1_text": {"type": "plain_text_input", "value": " Canary "}},
            "action_1_owner": {
                "action_1_owner": {"type": "users_select", "selected_user": "U02BOB"}
            },
            "action_1_due": {"action_1_due": {"type": "datepicker", "selected_date": "2026-12-09"}},
            "action_3_due": {"action_3_due": {"type": "datepicker", "selected_date": "2026-12-10"}},
        }
    }
    form = review_values(state)
    assert form.notes.root_cause == "Limit change" and form.notes.what_happened is None
    assert [(i.text, i.owner, i.due) for i in form.items] == [
        ("Canary", "U02BOB", date(2026, 12, 9))
    ]
    assert list(form.errors) == ["action_3_text"]  # a due date without a text


def test_review_modal_is_prefilled_and_fits_slack() -> None:
    view = build_review_modal(sample_snapshot(), sample_notes(), sample_action_items()).to_dict()
    assert view["callback_id"] == "review_modal" and view["private_metadata"] == "42"
    assert len(view["blocks"]) <= 100 and len(view["title"]["text"]) <= 24
    text = json.dumps(view, ensure_ascii=False)
    assert "Acquirer A lowered the daily limit" in text  # the stored root cause
    assert "Action items so far: 1. Automatic failover" in text
    assert '"type": "users_select"' in text and '"type": "datepicker"' in text


def test_actions_add_takes_owner_and_due_date() -> None:
    item = parse_action_add("Alert on the &lt;rate&gt; <@U03CAROL|carol> 2026-12-15")
    assert (item.text, item.owner, item.due) == (
        "Alert on the <rate>",
        "U03CAROL",
        date(2026, 12, 15),
    )
    plain = parse_action_add("Rehearse the failover")
    assert (plain.owner, plain.due) == (None, None)
    with pytest.raises(CommandRefused, match="not a date"):
        parse_action_add("Something 2026-02-30")
    with pytest.raises(CommandRefused, match="Say what will be done"):
        parse_action_add("<@U03CAROL>")
    with pytest.raises(CommandRefused, match="one owner"):
        parse_action_add("Pair up <@U01ALICE> <@U02BOB>")


def test_summary_message_has_figures_and_publish_button() -> None:
    stored = StoredPostmortem(
        id=7,
        incident_number=42,
        version=2,
        markdown="# …",
        facts={
            "durations_seconds": {"acknowledge": 160, "resolve": 3510, "total": None},
            "impact": {"affected_transactions": 312, "amounts": {"CNY": "98000.00"}},
            "action_items": {"open": 2, "done": 1},
        },
        compiled_by="U01ALICE",
        compiled_at=CLOSED,
    )
    message = build_summary_message(stored, "Alipay <channel> blocked", ZoneInfo("Asia/Shanghai"))
    args = json.dumps(message.as_args(), ensure_ascii=False)
    assert message.text == "OOR-42 post-mortem v2 (OOR-42-postmortem-v2.md)"
    assert "Acknowledged after 2m 40s · resolved after 58m 30s · total —" in args
    assert "312 transactions · CNY 98,000.00" in args and "&lt;channel&gt;" in args
    assert '"action_id": "postmortem_publish"' in args and '"value": "42:2"' in args
    assert parse_publish_value("42:2") == (42, 2) and parse_publish_value("x:2") is None


def test_action_item_lists() -> None:
    items = [("OOR-3", i) for i in sample_action_items()]
    message = build_action_items_message("Open action items", items, "none")
    text = json.dumps(message.as_args(), ensure_ascii=False)
    assert "⬜ *OOR-3* 1. Automatic failover" in text and "<@U02BOB>" in text
    assert "✅ *OOR-3* 2. ~Agree a 5-day notice" in text
    assert build_action_items_message("Action items of OOR-1", [], "none yet").text.endswith(
        "none yet"
    )
