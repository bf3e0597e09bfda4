"""``/oor declare`` without arguments: the modal to open an incident by hand."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    Block,
    InputBlock,
    Option,
    PlainTextInputElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.domain.types import OorType, Severity
from bot.slack.views.record_modal import INPUT_LIMIT, select_value, state_values, text_value

DECLARE_CALLBACK_ID = "declare_modal"
TYPE_ID = "type"
TITLE_ID = "title"
SEVERITY_ID = "severity"
DESCRIPTION_ID = "description"
VISIBILITY_ID = "visibility"
PRIVATE_VALUE = "private"
TITLE_LIMIT = 200
_SEVERITY_NOTES = {
    Severity.SEV1: "SEV1 · worst: payments down for many customers",
    Severity.SEV2: "SEV2 · major",
    Severity.SEV3: "SEV3 · minor",
    Severity.SEV4: "SEV4 · least",
}


def type_option(oor_type: OorType) -> Option:
    """``Payment failure 支付失败``, valued ``payment_failure``."""
    return Option(value=oor_type.value, text=f"{oor_type.label} {oor_type.label_zh}")


def severity_option(severity: Severity) -> Option:
    return Option(value=severity.value, text=_SEVERITY_NOTES[severity])


def build_declare_modal(channel_id: str | None) -> View:
    """``private_metadata`` is the channel the command came from ("" when unknown)."""
    blocks: list[Block] = [
        InputBlock(
            block_id=TYPE_ID,
            label="OOR type 类型",
            element=StaticSelectElement(
                action_id=TYPE_ID,
                placeholder="What broke?",
                options=[type_option(t) for t in OorType],
            ),
        ),
        InputBlock(
            block_id=TITLE_ID,
            label="Title 标题",
            element=PlainTextInputElement(
                action_id=TITLE_ID,
                max_length=TITLE_LIMIT,
                placeholder="e.g. Alipay payments failing at checkout",
            ),
        ),
        InputBlock(
            block_id=SEVERITY_ID,
            label="Severity 级别",
            element=StaticSelectElement(
                action_id=SEVERITY_ID,
                placeholder="The plan's severity for the type",
                options=[severity_option(s) for s in Severity],
            ),
            hint="Leave empty to use the severity the plan gives the type.",
            optional=True,
        ),
        InputBlock(
            block_id=DESCRIPTION_ID,
            label="Description 描述",
            element=PlainTextInputElement(
                action_id=DESCRIPTION_ID,
                multiline=True,
                max_length=INPUT_LIMIT,
                placeholder="What are customers seeing? Since when?",
            ),
            optional=True,
        ),
        InputBlock(
            block_id=VISIBILITY_ID,
            label="Private? 私密",
            element=StaticSelectElement(
                action_id=VISIBILITY_ID,
                placeholder="As the plan says for the type",
                options=[
                    Option(
                        value=PRIVATE_VALUE,
                        text="Private: a private channel, only the plan's responders",
                    )
                ],
            ),
            hint="Fraud, a data leak, merchants' money: nothing of it shows outside the channel.",
            optional=True,
        ),
    ]
    return View(
        type="modal",
        callback_id=DECLARE_CALLBACK_ID,
        title="Declare an OOR",
        submit="Declare",
        close="Cancel",
        private_metadata=channel_id or "",
        blocks=blocks,
    )


def declare_values(view_state: dict[str, Any]) -> dict[str, str | None]:
    """``type``, ``title``, ``severity``, ``description``, ``visibility``: raw values,
    ``None`` when empty."""
    values = state_values(view_state)
    return {
        TYPE_ID: select_value(values, TYPE_ID),
        TITLE_ID: text_value(values, TITLE_ID),
        SEVERITY_ID: select_value(values, SEVERITY_ID),
        DESCRIPTION_ID: text_value(values, DESCRIPTION_ID),
        VISIBILITY_ID: select_value(values, VISIBILITY_ID),
    }
