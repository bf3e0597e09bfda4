"""Tests of the Block Kit views, with shared builders and Slack-limit checks."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.incident import IncidentSnapshot, initial_steps
from bot.domain.types import IncidentStatus, OorType, Severity
from bot.slack.views import SlackMessage

OPENED = datetime(2026, 11, 25, 4, 30, tzinfo=UTC)  # 12:30 in Shanghai
TZ = ZoneInfo("Asia/Shanghai")
HOSTILE = "<!channel> pay now <https://evil.example|bank> & more"


def make_incident(**changes: object) -> IncidentSnapshot:
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


def dumped(message: SlackMessage) -> str:
    return json.dumps(message.as_args()["blocks"], ensure_ascii=False)


def assert_escaped(text: str) -> None:
    """``HOSTILE`` appears only escaped: no broadcast, no disguised link, no bare ``&``."""
    assert "<!channel>" not in text and "<https://evil" not in text
    assert "&lt;!channel&gt;" in text and "&amp; more" in text


def _texts(obj: Any) -> list[tuple[str, str]]:
    """(type, text) of every text object in a block tree."""
    found: list[tuple[str, str]] = []
    if isinstance(obj, dict):
        if obj.get("type") in ("mrkdwn", "plain_text") and isinstance(obj.get("text"), str):
            found.append((obj["type"], obj["text"]))
        for value in obj.values():
            found += _texts(value)
    elif isinstance(obj, list):
        for value in obj:
            found += _texts(value)
    return found


def assert_within_slack_limits(blocks: list[dict[str, Any]]) -> None:
    assert 0 < len(blocks) <= 50
    for block in blocks:
        kind = block["type"]
        if kind == "header":
            assert len(block["text"]["text"]) <= 150
        if kind == "section":
            if "text" in block:
                assert len(block["text"]["text"]) <= 3000
            assert len(block.get("fields", [])) <= 10
            assert all(len(f["text"]) <= 2000 for f in block.get("fields", []))
        if kind == "context":
            assert len(block["elements"]) <= 10
        if kind == "actions":
            assert len(block["elements"]) <= 25
            assert all(len(e["text"]["text"]) <= 75 for e in block["elements"])
    assert all(len(text) <= 3000 for _, text in _texts(blocks))
