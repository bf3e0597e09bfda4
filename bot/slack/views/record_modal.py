"""Step 2, record the problem (记录问题): the modal behind ``/oor record`` and the board button.

One optional input per :data:`~bot.domain.facts.FACT_FIELDS` entry, pre-filled with what is
already recorded. An empty input means "not given" (the recorded value stays), which is why
a value too long to pre-fill is left empty with a hint rather than cut short: saving the
form must never replace a stored value with a truncated copy.

Also the small helpers every modal module uses to read ``view.state.values``.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
)
from slack_sdk.models.views import View

from bot.domain.clock import in_zone
from bot.domain.facts import FACT_FIELDS
from bot.domain.incident import IncidentSnapshot
from bot.slack.text import truncate
from bot.slack.views.timeline import clip_escaped

RECORD_CALLBACK_ID = "record_modal"
TITLE = "Record the problem 记录问题"  # a modal title holds 24 characters
ERROR_LIMIT = 150  # characters of one field's error message
INPUT_LIMIT = 3000  # Slack's largest max_length for a plain-text input
FIELD_LIMITS = {"transaction_ids": INPUT_LIMIT}  # validate_facts allows 200 for the rest
DEFAULT_LIMIT = 200
MULTILINE = frozenset({"transaction_ids"})
PLACEHOLDERS = {
    "occurred_at": "2026-11-25 12:30",
    "affected_users": "e.g. all WeChat Pay users in Shanghai",
    "payment_method": "e.g. alipay",
    "amount": "e.g. 1234.50",
    "currency": "CNY",
    "affected_transactions": "e.g. 120",
    "error_code": "e.g. ACQ_TIMEOUT",
}
HINTS = {
    "amount": "Digits with an optional decimal point; give the currency too.",
    "transaction_ids": "At most 200; attach longer lists to the channel as a file.",
}


def _format_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return "\n".join(str(v) for v in value)
    return str(value)


def current_values(incident: IncidentSnapshot, tz: ZoneInfo) -> dict[str, str]:
    """What the form shows for each field: the recorded facts, as text."""
    values = {name: _format_value(incident.details.get(name)) for name in FACT_FIELDS}
    if incident.occurred_at is not None:
        values["occurred_at"] = in_zone(incident.occurred_at, tz).strftime("%Y-%m-%d %H:%M")
    return values


def _input(name: str, current: str, tz: ZoneInfo) -> InputBlock:
    limit = FIELD_LIMITS.get(name, DEFAULT_LIMIT)
    hint = HINTS.get(name)
    if name == "occurred_at":
        hint = f"In the plan's time zone, {tz.key}."
    initial: str | None = current or None
    if initial is not None and len(initial) > limit:
        initial = None
        hint = "Already recorded, too long to show here; leave empty to keep it."
    element = PlainTextInputElement(
        action_id=name,
        multiline=name in MULTILINE,
        max_length=limit,
        initial_value=initial,
        placeholder=PLACEHOLDERS.get(name),
    )
    return InputBlock(
        block_id=name, label=FACT_FIELDS[name], element=element, hint=hint, optional=True
    )


def build_record_modal(incident: IncidentSnapshot, tz: ZoneInfo) -> View:
    """The modal for ``views.open``; ``private_metadata`` is the incident number."""
    intro = (
        f"*{incident.key}* · {clip_escaped(incident.title, 300)}\n"
        "Fill in what you know; empty fields keep what is already recorded."
    )
    current = current_values(incident, tz)
    blocks: list[Block] = [ContextBlock(elements=[MarkdownTextObject(text=intro)])]
    blocks += [_input(name, current[name], tz) for name in FACT_FIELDS]
    return View(
        type="modal",
        callback_id=RECORD_CALLBACK_ID,
        title=TITLE,
        submit="Save",
        close="Cancel",
        private_metadata=str(incident.number),
        blocks=blocks,
    )


# --- Reading a view_submission -----------------------------------------------------------


def state_values(view_state: dict[str, Any]) -> dict[str, Any]:
    """``view["state"]["values"]``, given either that dict or ``view["state"]``.

    No modal of the bot has a block called ``values``, so that key means ``view["state"]``.
    """
    inner = view_state.get("values")
    return inner if isinstance(inner, dict) else view_state


def _element(values: dict[str, Any], block_id: str) -> dict[str, Any]:
    block = values.get(block_id)
    if not isinstance(block, dict):
        return {}
    element = block.get(block_id)
    if not isinstance(element, dict):  # action id differs from block id: take the only one
        element = next((e for e in block.values() if isinstance(e, dict)), {})
    return element


def text_value(values: dict[str, Any], block_id: str) -> str | None:
    """A plain-text input's value; ``None`` when empty or absent."""
    value = _element(values, block_id).get("value")
    return value if isinstance(value, str) and value != "" else None


def select_value(values: dict[str, Any], block_id: str) -> str | None:
    """A static select's chosen option value; ``None`` when nothing is chosen."""
    option = _element(values, block_id).get("selected_option")
    if not isinstance(option, dict):
        return None
    value = option.get("value")
    return value if isinstance(value, str) and value != "" else None


def record_values(view_state: dict[str, Any]) -> dict[str, str | None]:
    """Raw text per fact field (``None`` when left empty), for ``validate_facts``."""
    values = state_values(view_state)
    return {name: text_value(values, name) for name in FACT_FIELDS}


def record_errors_response(errors: dict[str, str]) -> dict[str, Any]:
    """The ``view_submission`` ack body that shows each message under its field.

    A message for a name that is no block of the form goes under the first field, so no
    error is ever lost (Slack rejects errors for unknown block ids).
    """
    first = next(iter(FACT_FIELDS))
    shown: dict[str, list[str]] = {}
    for name, message in errors.items():
        if name in FACT_FIELDS:
            shown.setdefault(name, []).append(message)
        else:
            shown.setdefault(first, []).append(f"{name}: {message}")
    return {
        "response_action": "errors",
        "errors": {name: truncate("; ".join(m), ERROR_LIMIT) for name, m in shown.items()},
    }
