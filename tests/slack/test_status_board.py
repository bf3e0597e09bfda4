"""The status board renders the incident truthfully, within Slack's limits, safely escaped."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.incident import IncidentSnapshot, StepRecord, initial_steps
from bot.domain.types import IncidentStatus, OorType, Severity, Step, StepState
from bot.slack.views.status_board import build_status_board

OPENED = datetime(2026, 11, 25, 4, 30, tzinfo=UTC)
TZ = ZoneInfo("Asia/Shanghai")


def _incident(**changes: object) -> IncidentSnapshot:
    values: dict[str, object] = {
        "number": 42,
        "type": OorType.PAYMENT_FAILURE,
        "title": "Alipay channel blocked",
        "severity": Severity.SEV2,
        "status": IncidentStatus.OPEN,
        "source": "native",
        "opened_at": OPENED,
        "details": {"payment_method": "alipay", "amount": "1234.5", "currency": "CNY"},
        "steps": initial_steps(),
    }
    values.update(changes)
    return IncidentSnapshot(**values)  # type: ignore[arg-type]


def test_board_shows_the_facts_steps_and_local_times() -> None:
    message = build_status_board(_incident(), tz=TZ, now=OPENED + timedelta(minutes=12))
    blocks = json.dumps(message.as_args()["blocks"], ensure_ascii=False)
    assert message.text.startswith("OOR-42 status board: SEV2 payment failure")
    assert "OOR-42 · Payment failure 支付失败" in blocks
    assert "CNY 1,234.50" in blocks
    assert "2026-11-25 12:30 CST" in blocks  # 04:30 UTC in Shanghai
    assert "Open for 12m" in blocks
    for step in Step:
        assert step.label in blocks and step.label_zh in blocks


def test_done_step_names_who_and_when() -> None:
    steps = list(initial_steps())
    steps[0] = StepRecord(
        Step.RESPOND,
        StepState.DONE,
        completed_at=OPENED + timedelta(minutes=3),
        completed_by="U01ALICE",
    )
    message = build_status_board(_incident(steps=tuple(steps)), tz=TZ, now=OPENED)
    blocks = json.dumps(message.as_args()["blocks"], ensure_ascii=False)
    assert "✅ *1. Rapid response* 快速响应 — done by <@U01ALICE> at 12:33 CST" in blocks


def test_outside_text_is_escaped_and_long_text_fits_slack_limits() -> None:
    incident = _incident(
        title="<!channel> pay now <https://evil.example|bank> & more",
        description="x" * 5000,
    )
    message = build_status_board(incident, tz=TZ, now=OPENED)
    args = message.as_args()
    dumped = json.dumps(args)
    assert "<!channel>" not in dumped and "<https://evil" not in dumped
    assert "&lt;!channel&gt;" in dumped and "&amp; more" in dumped
    assert len(args["blocks"]) <= 50
    for block in args["blocks"]:
        if block["type"] == "section" and "text" in block:
            assert len(block["text"]["text"]) <= 3000
