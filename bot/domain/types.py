"""Vocabulary shared by every layer: OOR types, severities, the six steps and their states."""

from __future__ import annotations

import re
from enum import StrEnum


class OorType(StrEnum):
    """The four recurring ways a payment system fails ("out of order")."""

    PAYMENT_FAILURE = "payment_failure"
    TRANSACTION_INTERRUPTION = "transaction_interruption"
    AMOUNT_ERROR = "amount_error"
    SYSTEM_CRASH = "system_crash"

    @property
    def label(self) -> str:
        return _TYPE_LABELS[self][0]

    @property
    def label_zh(self) -> str:
        return _TYPE_LABELS[self][1]


_TYPE_LABELS = {
    OorType.PAYMENT_FAILURE: ("Payment failure", "支付失败"),
    OorType.TRANSACTION_INTERRUPTION: ("Transaction interruption", "交易中断"),
    OorType.AMOUNT_ERROR: ("Amount error", "金额错误"),
    OorType.SYSTEM_CRASH: ("System crash", "系统崩溃"),
}


class Severity(StrEnum):
    """SEV1 is the worst: payments are down for many customers."""

    SEV1 = "sev1"
    SEV2 = "sev2"
    SEV3 = "sev3"
    SEV4 = "sev4"

    @property
    def label(self) -> str:
        return self.value.upper()


class Step(StrEnum):
    """The six handling steps the emergency plan prescribes, in their usual order."""

    RESPOND = "respond"
    RECORD = "record"
    INVESTIGATE = "investigate"
    RESOLVE = "resolve"
    NOTIFY = "notify"
    REVIEW = "review"

    @property
    def number(self) -> int:
        return list(Step).index(self) + 1

    @property
    def label(self) -> str:
        return _STEP_LABELS[self][0]

    @property
    def label_zh(self) -> str:
        return _STEP_LABELS[self][1]

    @property
    def owner_role(self) -> Role | None:
        """The role whose holder answers for the step (step 1 is how a commander emerges)."""
        return _STEP_OWNERS.get(self)


_STEP_LABELS = {
    Step.RESPOND: ("Rapid response", "快速响应"),
    Step.RECORD: ("Record the problem", "记录问题"),
    Step.INVESTIGATE: ("Investigate", "排查问题"),
    Step.RESOLVE: ("Resolve", "解决问题"),
    Step.NOTIFY: ("Notify customers", "通知客户"),
    Step.REVIEW: ("Review", "总结经验"),
}


class StepState(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    SKIPPED = "skipped"


class IncidentStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Role(StrEnum):
    COMMANDER = "commander"
    TECH = "tech"
    COMMS = "comms"

    @property
    def label(self) -> str:
        return {"commander": "Commander", "tech": "Tech lead", "comms": "Comms"}[self.value]


_STEP_OWNERS = {
    Step.RECORD: Role.TECH,
    Step.INVESTIGATE: Role.TECH,
    Step.RESOLVE: Role.TECH,
    Step.NOTIFY: Role.COMMS,
    Step.REVIEW: Role.COMMANDER,
}


class CauseCategory(StrEnum):
    """Why it broke, as recorded when the incident is resolved (step 4)."""

    PROGRAM_ERROR = "program_error"
    NETWORK = "network"
    CHANNEL_BLOCKED = "channel_blocked"
    AMOUNT_LIMIT = "amount_limit"
    HARDWARE = "hardware"
    PARTNER = "partner"
    OTHER = "other"

    @property
    def label(self) -> str:
        return _CAUSE_LABELS[self][0]

    @property
    def label_zh(self) -> str:
        return _CAUSE_LABELS[self][1]


_CAUSE_LABELS = {
    CauseCategory.PROGRAM_ERROR: ("Program error", "程序错误"),
    CauseCategory.NETWORK: ("Network", "网络问题"),
    CauseCategory.CHANNEL_BLOCKED: ("Payment channel blocked", "支付通道被封"),
    CauseCategory.AMOUNT_LIMIT: ("Amount limit", "金额限制"),
    CauseCategory.HARDWARE: ("Hardware", "硬件故障"),
    CauseCategory.PARTNER: ("Partner (bank, acquirer, channel)", "合作方问题"),
    CauseCategory.OTHER: ("Other", "其他"),
}


def incident_key(number: int) -> str:
    """The human id of an incident, e.g. ``OOR-42``."""
    return f"OOR-{number}"


# Incidents, post-mortem versions, drafts: every id the bot hands out is an INTEGER column,
# 32-bit signed on PostgreSQL. A bigger number names nothing (and PostgreSQL fails the
# comparison instead of finding no row), so it is refused here, in one place.
MAX_ID = 2**31 - 1
_KEY = re.compile(r"(?:OOR-)?([0-9]+)", re.IGNORECASE | re.ASCII)


def parse_id(text: str) -> int | None:
    """ASCII digits naming a storable id (1 to :data:`MAX_ID`) -> the number; else None.

    Not ``str.isdigit``: it is also true for "²" and other digits ``int`` refuses, and a
    5,000-digit string is past ``int``'s own limit.
    """
    text = text.strip()
    if not (text.isascii() and text.isdigit()):
        return None
    digits = text.lstrip("0")
    if not digits or len(digits) > len(str(MAX_ID)):
        return None
    number = int(digits)
    return number if number <= MAX_ID else None


def looks_like_incident_key(text: str) -> bool:
    """``OOR-42``, ``oor-99999999999``, ``42``: written as an incident id, existing or not."""
    return _KEY.fullmatch(text.strip()) is not None


def parse_incident_key(text: str) -> int | None:
    """``OOR-42`` / ``oor-42`` / ``42`` -> 42; anything else, or a number no incident can
    have (0, past :data:`MAX_ID`), -> None."""
    found = _KEY.fullmatch(text.strip())
    return parse_id(found.group(1)) if found else None
