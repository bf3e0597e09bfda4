"""The emergency plan (应急预案): who responds to each OOR type, step deadlines, partner contacts.

The plan is a YAML file checked at start-up and by ``oor-bot plan check PATH``. Every problem
is reported at once, one line each, as ``key.path: message`` in the words of the file (never a
pydantic type name), so the person on call can fix a broken plan without reading Python.
"""

from __future__ import annotations

import re
from datetime import timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.domain.alert_rules import AlertmanagerRules
from bot.domain.durations import format_duration, parse_duration
from bot.domain.plan_paging import OnCallTarget, PagingPlan, is_on_call_text, parse_on_call
from bot.domain.plan_privacy import PrivateWhen, opens_private
from bot.domain.plan_sections import (
    CustomerNotifications,
    DigestSchedule,
    Locale,
    NotifyChannel,
    TypeNotifications,
    WorkingHours,
)
from bot.domain.plan_status_page import StatusPagePlan
from bot.domain.responders import ResponderRef
from bot.domain.types import OorType, Role, Severity, Step

__all__ = [
    "Deadline",
    "Deadlines",
    "OorTypePlans",
    "Partner",
    "PartnerKind",
    "PaymentMethodPlan",
    "Plan",
    "PlanError",
    "ResponderRef",
    "TypePlan",
]

_STEPS = list(Step)
_STEP_VALUES = [step.value for step in Step]
_OPENED = "opened"  # the `after:` value meaning "the incident opening", the default
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")
_CHANNEL_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,79}$")
_METHOD_KEY = re.compile(r"^[a-z0-9][a-z0-9_]*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class PlanError(Exception):
    """The plan cannot be used. ``problems`` holds one ``key.path: message`` line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class Problems(ValueError):
    """Raised by cross-field validators to report problems *below* the validated node.

    Pydantic places a validator's error at the node it validates; this carries the rest of
    the path (e.g. ``review.after``) so the message points at the key the person must edit.
    """

    def __init__(self, items: list[tuple[tuple[str | int, ...], str]]) -> None:
        super().__init__("; ".join(message for _, message in items))
        self.items = items


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PartnerKind(StrEnum):
    ACQUIRER = "acquirer"  # 收单机构
    BANK = "bank"  # 银行
    CHANNEL = "channel"  # 支付通道, e.g. Alipay, WeChat Pay, UnionPay
    MERCHANT = "merchant"  # 商家
    OTHER = "other"


class Partner(_Model):
    """A payment institution, bank or merchant to call during an incident (与合作伙伴合作)."""

    name: str = Field(min_length=1)
    kind: PartnerKind = PartnerKind.OTHER
    contact: str | None = None
    phone: str | None = None
    email: str | None = None
    notes: str | None = None

    @field_validator("email")
    @classmethod
    def _check_email(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.match(value.strip()):
            raise ValueError("not an email address")
        return value


class Deadline(_Model):
    """A step is due ``within`` after the incident opening, or after step ``after`` is done."""

    within: timedelta
    after: Step | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        # `respond: 5m` is shorthand for `respond: {within: 5m}`; parsing it here keeps the
        # error at `deadlines.respond`, the key the person actually wrote.
        if isinstance(data, str | int | float):
            return {"within": parse_duration(data)}
        return data

    @field_validator("within", mode="before")
    @classmethod
    def _parse_within(cls, value: Any) -> timedelta:
        return value if isinstance(value, timedelta) else parse_duration(value)

    @field_validator("after", mode="before")
    @classmethod
    def _parse_after(cls, value: Any) -> Step | None:
        if value is None or value == _OPENED:
            return None
        if isinstance(value, str) and value in _STEP_VALUES:
            return Step(value)
        names = ", ".join([_OPENED, *_STEP_VALUES])
        raise ValueError(f"unknown step {value!r}; expected one of {names}")

    def describe(self) -> str:
        """``within 5m`` / ``within 5d after resolve`` (for the board and `plan check`)."""
        base = f"within {format_duration(self.within)}"
        return base if self.after is None else f"{base} after {self.after}"


class Deadlines(_Model):
    """One optional deadline per step; a step without one is never overdue."""

    respond: Deadline | None = None
    record: Deadline | None = None
    investigate: Deadline | None = None
    resolve: Deadline | None = None
    notify: Deadline | None = None
    review: Deadline | None = None

    @model_validator(mode="after")
    def _after_comes_before(self) -> Deadlines:
        # Counting from a later step (or from itself) would make the deadline unreachable.
        problems: list[tuple[tuple[str | int, ...], str]] = []
        for step in _STEPS:
            deadline = self.get(step)
            if deadline and deadline.after and _STEPS.index(deadline.after) >= _STEPS.index(step):
                problems.append(
                    ((step.value, "after"), f"'{deadline.after}' must come before '{step}'")
                )
        if problems:
            raise Problems(problems)
        return self

    def get(self, step: Step) -> Deadline | None:
        value: Deadline | None = getattr(self, step.value)
        return value


class TypePlan(_Model):
    """What the plan prescribes for one OOR type."""

    severity: Severity
    runbook_url: str | None = None
    responders: dict[Role, list[ResponderRef]]
    escalation: list[ResponderRef] = Field(default_factory=list)
    deadlines: Deadlines = Field(default_factory=Deadlines)
    # Only the steps that differ: anything not overridden falls back to `deadlines`.
    deadlines_by_severity: dict[Severity, Deadlines] = Field(default_factory=dict)
    partners: list[Partner] = Field(default_factory=list)
    notifications: TypeNotifications = Field(default_factory=TypeNotifications)
    # The `pagerduty:` entries of `responders`, per role: whoever is on call there now is
    # invited beside the fixed responders (bot/domain/plan_paging.py).
    on_call: dict[Role, list[OnCallTarget]] = Field(default_factory=dict)
    # Private incidents (bot/domain/plan_privacy.py): always, or by severity or label.
    private: bool = False
    private_when: PrivateWhen | None = None

    @model_validator(mode="before")
    @classmethod
    def _split_on_call(cls, data: Any) -> Any:
        """Move `pagerduty:` responder entries to `on_call`, so the fixed responders stay
        what chat platforms resolve; a malformed one is reported at the entry written."""
        if not isinstance(data, dict) or not isinstance(data.get("responders"), dict):
            return data
        fixed: dict[Any, Any] = {}
        on_call: dict[Any, list[OnCallTarget]] = {}
        problems: list[tuple[tuple[str | int, ...], str]] = []
        for role, entries in data["responders"].items():
            listed = [entries] if isinstance(entries, str) else entries
            if not isinstance(listed, list):
                fixed[role] = entries
                continue
            fixed[role] = [e for e in listed if not is_on_call_text(e)]
            for index, entry in enumerate(listed):
                if not is_on_call_text(entry):
                    continue
                try:
                    target = parse_on_call(entry)
                except ValueError as exc:
                    problems.append((("responders", str(role), index), str(exc)))
                    continue
                if target in on_call.get(role, []):
                    problems.append((("responders", str(role), index), "listed twice"))
                on_call.setdefault(role, []).append(target)
        if problems:
            raise Problems(problems)
        if not on_call:
            return data  # nothing to move (or already moved: a re-validated plan)
        return {**data, "responders": fixed, "on_call": on_call}

    @field_validator("runbook_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is not None:
            parts = urlparse(value.strip())
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError("expected an http:// or https:// address")
        return value

    @field_validator("responders", "escalation", mode="before")
    @classmethod
    def _single_to_list(cls, value: Any) -> Any:
        # `commander: U01ALICE` is an easy slip for `commander: [U01ALICE]`; accept both.
        if isinstance(value, dict):
            return {k: [v] if isinstance(v, str) else v for k, v in value.items()}
        return [value] if isinstance(value, str) else value

    @field_validator("responders")
    @classmethod
    def _check_roles(cls, value: dict[Role, list[ResponderRef]]) -> dict[Role, list[ResponderRef]]:
        problems: list[tuple[tuple[str | int, ...], str]] = []
        for role in Role:
            if role not in value:
                # Explicit `comms: []` documents that nobody holds the role; silence does not.
                problems.append(((role.value,), f"missing (write `{role}: []` if nobody)"))
                continue
            seen: dict[ResponderRef, int] = {}
            for index, ref in enumerate(value[role]):
                if ref in seen:
                    problems.append(
                        ((role.value, index), f"listed twice (also {role}[{seen[ref]}])")
                    )
                seen.setdefault(ref, index)
        if Role.COMMANDER in value and not value[Role.COMMANDER]:
            problems.append((("commander",), "needs at least one responder"))
        if problems:
            raise Problems(problems)
        # Fixed role order (commander, tech, comms) whatever the order in the file.
        return {role: value[role] for role in Role}

    def deadline(self, step: Step, severity: Severity | None = None) -> Deadline | None:
        """The step's deadline, the severity's override first when one is given."""
        override = self.deadlines_by_severity.get(severity) if severity else None
        return (override and override.get(step)) or self.deadlines.get(step)

    def deadline_map(self, severity: Severity | None = None) -> dict[Step, Deadline]:
        """Every step that has a deadline, in step order."""
        found = {step: self.deadline(step, severity) for step in _STEPS}
        return {step: deadline for step, deadline in found.items() if deadline is not None}


class OorTypePlans(_Model):
    """All four OOR types must be planned: an incident of an unplanned type would have nobody."""

    payment_failure: TypePlan
    transaction_interruption: TypePlan
    amount_error: TypePlan
    system_crash: TypePlan


class PaymentMethodPlan(_Model):
    partners: list[Partner] = Field(default_factory=list)


class Plan(_Model):
    """The whole emergency plan, validated. Build it with :func:`load_plan`."""

    name: str = Field(min_length=1)
    timezone: str
    broadcast_channel: str | None = None
    review_channel: str | None = None
    alertmanager: AlertmanagerRules = Field(default_factory=AlertmanagerRules)
    oor_types: OorTypePlans
    payment_methods: dict[str, PaymentMethodPlan] = Field(default_factory=dict)
    notifications: CustomerNotifications = Field(default_factory=CustomerNotifications)
    # Archive the incident channel when the incident is closed.
    archive_channel_on_close: bool = False
    digest: DigestSchedule = Field(default_factory=DigestSchedule)
    working_hours: WorkingHours = Field(default_factory=WorkingHours)
    # Optional: the public status page (GET /status); bot/domain/plan_status_page.py.
    status_page: StatusPagePlan | None = None
    # When to page and through which integration (bot/domain/plan_paging.py).
    paging: PagingPlan = Field(default_factory=PagingPlan)

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("broadcast_channel", "review_channel")
    @classmethod
    def _check_channel(cls, value: str | None) -> str | None:
        if value is None or _CHANNEL_ID.match(value):
            return value
        if value.startswith("#") and _CHANNEL_NAME.match(value[1:]):
            return value
        if _CHANNEL_NAME.match(value):
            raise ValueError(f"write channel names with '#', e.g. '#{value}'")
        raise ValueError("not a channel id (C…) or #channel-name (lowercase, no spaces)")

    @field_validator("payment_methods")
    @classmethod
    def _check_methods(cls, value: dict[str, PaymentMethodPlan]) -> dict[str, PaymentMethodPlan]:
        # Lowercase keys make the case-insensitive lookup unambiguous (no `Alipay` + `alipay`).
        bad = [key for key in value if not _METHOD_KEY.match(key)]
        if bad:
            message = "payment method keys are lowercase letters, digits and _ (e.g. wechat_pay)"
            raise Problems([((key,), message) for key in bad])
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def for_type(self, oor_type: OorType) -> TypePlan:
        plan: TypePlan = getattr(self.oor_types, OorType(oor_type).value)
        return plan

    def all_responder_refs(
        self, oor_type: OorType, *, include_escalation: bool = False
    ) -> list[ResponderRef]:
        """Everyone the type's plan names, role order, each once (the channel's invitees)."""
        plan = self.for_type(oor_type)
        refs = [ref for role in Role for ref in plan.responders.get(role, [])]
        if include_escalation:
            refs += plan.escalation
        return list(dict.fromkeys(refs))

    def opens_private(self, oor_type: OorType, severity: Severity, labels: dict[str, Any]) -> bool:
        """Whether a new incident of ``oor_type`` opens private by the plan."""
        plan = self.for_type(oor_type)
        return opens_private(plan.private, plan.private_when, severity, labels)

    def on_call_targets(self, oor_type: OorType) -> list[OnCallTarget]:
        """The type's PagerDuty targets, role order, each once."""
        plan = self.for_type(oor_type)
        return list(dict.fromkeys(t for role in Role for t in plan.on_call.get(role, [])))

    def notify_channels(self, oor_type: OorType) -> list[NotifyChannel]:
        chosen = self.for_type(oor_type).notifications.channels
        return list(chosen if chosen is not None else self.notifications.channels)

    def notify_locales(self, oor_type: OorType) -> list[Locale]:
        chosen = self.for_type(oor_type).notifications.locales
        return list(chosen if chosen is not None else self.notifications.locales)

    def payment_method(self, name: str | None) -> PaymentMethodPlan | None:
        return self.payment_methods.get(name.strip().lower()) if name else None

    def partners_for(self, oor_type: OorType, payment_method: str | None) -> list[Partner]:
        """The type's partners, then the payment method's; a partner named twice shows once.

        Names are compared case-insensitively and the first entry wins, so a type-specific
        entry (with incident-specific notes) takes precedence over the method's general one.
        """
        method = self.payment_method(payment_method)
        candidates = self.for_type(oor_type).partners + (method.partners if method else [])
        by_name: dict[str, Partner] = {}
        for partner in candidates:
            by_name.setdefault(partner.name.strip().casefold(), partner)
        return list(by_name.values())
