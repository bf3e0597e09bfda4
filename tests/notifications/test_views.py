"""The draft message and the edit form as Block Kit: counts, warnings, escaping, limits."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.domain.plan_sections import Locale, NotifyChannel
from bot.notifications.model import Draft, DraftState
from bot.notifications.views import (
    ACTIONS_BLOCK_ID,
    BODY_ID,
    SUBJECT_ID,
    build_draft_message,
    build_edit_modal,
)

TZ = ZoneInfo("Asia/Shanghai")
AT = datetime(2026, 11, 25, 4, 40, tzinfo=UTC)
SIGNATURE = "【某某支付】"


def _draft(**changes: object) -> Draft:
    draft = Draft(
        id=7,
        incident_number=42,
        channel=NotifyChannel.SMS,
        locale=Locale.ZH_CN,
        subject=None,
        body=f"{SIGNATURE}尊敬的用户：部分支付宝支付失败，请稍后重试。",
        state=DraftState.DRAFT,
        drafted_by="U03CAROL",
        drafted_at=AT,
    )
    return replace(draft, **changes)  # type: ignore[arg-type]


def _blocks(draft: Draft, **kw: object) -> tuple[str, list[dict[str, object]]]:
    message = build_draft_message(draft, incident_key="OOR-42", tz=TZ, **kw)  # type: ignore[arg-type]
    args = message.as_args()
    return str(args["text"]), list(args["blocks"])


def test_a_waiting_sms_shows_its_count_and_the_three_buttons() -> None:
    text, blocks = _blocks(_draft(), signature=SIGNATURE)
    assert text == "OOR-42 customer notification SMS (zh-CN): awaiting approval"
    dumped = json.dumps(blocks, ensure_ascii=False)
    assert "📏 28 characters · 1 segment (UCS-2, 70 per segment)" in dumped
    assert "signature 【某某支付】 included" in dumped and "⚠️" not in dumped
    actions = next(b for b in blocks if b.get("block_id") == ACTIONS_BLOCK_ID)
    assert [e["action_id"] for e in actions["elements"]] == [  # type: ignore[index]
        "notify_approve",
        "notify_edit",
        "notify_discard",
    ]
    assert "Drafted by <@U03CAROL> at 2026-11-25 12:40" in dumped


def test_past_three_segments_the_draft_warns() -> None:
    long = SIGNATURE + "支" * 196  # 202 characters: 4 UCS-2 segments of 67
    _text, blocks = _blocks(_draft(body=long), signature=SIGNATURE)
    dumped = json.dumps(blocks, ensure_ascii=False)
    assert "202 characters · 4 segments (UCS-2, 67 per segment)" in dumped
    assert "⚠️ 4 segments: more than 3" in dumped


def test_outside_text_is_escaped_and_cannot_close_the_code_block() -> None:
    body = "Pay <!channel> & <@U01ALICE> now ``` *bold*"
    _text, blocks = _blocks(
        _draft(channel=NotifyChannel.EMAIL, locale=Locale.EN, subject="<!here> & co", body=body)
    )
    dumped = json.dumps(blocks)
    assert "<!channel>" not in dumped and "<!here>" not in dumped and "<@U01ALICE>" not in dumped
    assert "&lt;!channel&gt; &amp; &lt;@U01ALICE&gt;" in dumped
    assert "*Subject 主题:* &lt;!here&gt; &amp; co" in json.dumps(blocks, ensure_ascii=False)
    section = next(b for b in blocks if "now" in json.dumps(b))
    assert section["text"]["text"].count("```") == 2  # type: ignore[index]


def test_a_long_body_fits_slacks_limits_without_cutting_an_entity() -> None:
    body = ("a&b<c>" * 500)[:3000]  # escapes to ~6,000 characters
    text, blocks = _blocks(
        _draft(channel=NotifyChannel.EMAIL, locale=Locale.EN, subject="S", body=body)
    )
    assert text and len(blocks) <= 50
    shown = ""
    for block in blocks:
        inner = block.get("text")
        if isinstance(inner, dict):
            assert len(inner["text"]) <= 3000
            if inner["text"].startswith("```"):
                chunk = inner["text"][3:-3]
                assert not chunk.endswith(("&", "&a", "&am", "&amp", "&l", "&lt", "&g", "&gt"))
                shown += chunk
    assert shown == body.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def test_decided_drafts_say_who_and_when_without_buttons() -> None:
    approved = _draft(state=DraftState.APPROVED, approved_by="U02BOB", approved_at=AT)
    text, blocks = _blocks(approved, webhook="https://sms.example.com/hook")
    dumped = json.dumps(blocks, ensure_ascii=False)
    assert text.endswith(": approved")
    assert "Approved by <@U02BOB> at 2026-11-25 12:40" in dumped
    assert "Delivery to the sms webhook is queued" in dumped
    assert all(b["type"] != "actions" for b in blocks)
    discarded = _draft(state=DraftState.DISCARDED, discarded_by="U02BOB", discarded_at=AT)
    text, blocks = _blocks(discarded)
    assert text.endswith(": discarded") and "Discarded by <@U02BOB>" in json.dumps(blocks)
    assert all(b["type"] != "actions" for b in blocks)


def test_the_edit_form_holds_the_text_and_a_subject_only_where_there_is_one() -> None:
    sms = build_edit_modal(_draft(), incident_key="OOR-42", signature=SIGNATURE).to_dict()
    ids = [b.get("block_id") for b in sms["blocks"]]
    assert SUBJECT_ID not in ids and BODY_ID in ids
    body = next(b for b in sms["blocks"] if b.get("block_id") == BODY_ID)
    assert body["element"]["initial_value"] == _draft().body
    assert SIGNATURE in body["hint"]["text"]
    email = _draft(channel=NotifyChannel.EMAIL, locale=Locale.EN, subject="Payments failing")
    form = build_edit_modal(email, incident_key="OOR-42").to_dict()
    subject = next(b for b in form["blocks"] if b.get("block_id") == SUBJECT_ID)
    assert subject["element"]["initial_value"] == "Payments failing"
    assert json.loads(form["private_metadata"]) == {
        "draft": 7,
        "incident": 42,
        "channel": "email",
        "locale": "en",
    }
