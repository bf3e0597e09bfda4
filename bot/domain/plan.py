"""The emergency plan (应急预案): who responds to each OOR type, step deadlines, partner contacts.

The plan is a YAML file checked at start-up and by ``oor-bot plan check PATH``. Every problem
is reported at once, one line each, as ``key.path: message`` in the words of the file (never a
pydantic type name), so the person on call can fix a broken plan without reading Python.
"""

from __future__ import annotations

import difflib
import re
import types
from datetime import timedelta
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any, Union, get_args, get_origin
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.domain.alert_rules import AlertmanagerRules
from bot.domain.durations import format_duration, parse_duration
from bot.domain.plan_sections import (
    CustomerNotifications,
    DigestSchedule,
    Locale,
    NotifyChannel,
    TypeNotifications,
    WorkingHours,
)
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
    "load_plan",
    "parse_plan",
    "plan_from_data",
    "plan_summary",
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


class _Problems(ValueError):
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
            raise _Problems(problems)
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
            raise _Problems(problems)
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
            raise _Problems([((key,), message) for key in bad])
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


# --- Loading -------------------------------------------------------------------------------


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys: PyYAML would silently keep the last one,
    dropping e.g. a whole `alipay:` section pasted twice."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_plan(path: str | Path) -> Plan:
    """Read and validate the plan file; :class:`PlanError` lists every problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlanError([f"{path}: no such file"]) from None
    except IsADirectoryError:
        raise PlanError([f"{path}: is a directory, not a plan file"]) from None
    except UnicodeDecodeError as exc:
        raise PlanError([f"{path}: not UTF-8 text (byte {exc.start})"]) from None
    except OSError as exc:
        raise PlanError([f"{path}: cannot read ({exc.strerror})"]) from None
    return parse_plan(text, source=str(path))


def parse_plan(text: str, *, source: str = "plan") -> Plan:
    """Validate plan YAML given as text; ``source`` names it in whole-file messages."""
    try:
        # A SafeLoader subclass: plain data only, no arbitrary Python objects.
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else source
        message = str(exc.problem or exc.context)
        if message.startswith("expected <block end>"):
            # PyYAML's wording for the most common slip: one key indented differently.
            message += " (check the indentation of this line)"
        raise PlanError([f"{where}: {message}"]) from None
    except yaml.YAMLError as exc:
        raise PlanError([f"{source}: {exc}"]) from None
    return plan_from_data(data, source=source)


def plan_from_data(data: Any, *, source: str = "plan") -> Plan:
    """Validate an already parsed plan (a dict as YAML gives it)."""
    if data is None:
        raise PlanError([f"{source}: the file is empty"])
    if not isinstance(data, dict):
        raise PlanError([f"{source}: expected keys such as name, timezone and oor_types"])
    try:
        return Plan.model_validate(data)
    except ValidationError as exc:
        raise PlanError(_problems(exc)) from None


# --- Turning pydantic errors into lines a person understands ----------------------------------

_TYPE_MESSAGES = {
    "missing": "missing",
    "string_type": "expected text",
    "list_type": "expected a list",
    "tuple_type": "expected a list",
    "dict_type": "expected keys and values (a mapping)",
    "model_type": "expected keys and values (a mapping)",
    "model_attributes_type": "expected keys and values (a mapping)",
    "string_too_short": "must not be empty",
    "bool_type": "expected true or false",
}


def _problems(exc: ValidationError) -> list[str]:
    lines: list[str] = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        ctx = error.get("ctx") or {}
        cause = ctx.get("error")
        if isinstance(cause, _Problems):
            lines += [f"{_format_path(loc + sub)}: {message}" for sub, message in cause.items]
            continue
        if loc and loc[-1] == "[key]":
            # A dict key outside its enum (e.g. `responders.comandr`): same as an unknown key.
            loc = loc[:-1]
            message = _unknown_key(loc) if error["type"] == "enum" else "invalid key"
        elif error["type"] == "extra_forbidden":
            message = _unknown_key(loc)
        elif error["type"] in ("enum", "literal_error"):
            expected = str(ctx.get("expected", "")).replace("'", "").replace(" or ", ", ")
            message = f"expected one of {expected}, got {error['input']!r}"
        elif cause is not None:
            message = str(cause)
        else:
            message = _TYPE_MESSAGES.get(error["type"], error["msg"])
        lines.append(f"{_format_path(loc)}: {message}")
    return lines


def _format_path(loc: tuple[Any, ...]) -> str:
    """``("oor_types", "x", "responders", "tech", 1)`` -> ``oor_types.x.responders.tech[1]``."""
    path = ""
    for part in loc:
        if isinstance(part, int) and not isinstance(part, bool):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "(top level)"


def _unknown_key(loc: tuple[Any, ...]) -> str:
    allowed = _keys_at(loc[:-1])
    if not allowed:
        return "unknown key"
    close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
    if close:
        return f"unknown key; did you mean '{close[0]}'?"
    return f"unknown key; expected one of {', '.join(allowed)}"


def _keys_at(loc: tuple[Any, ...]) -> list[str]:
    """The keys the schema allows at ``loc`` (model fields or enum dict keys), for hints."""
    node: Any = Plan
    for part in loc:
        node = _unwrap_optional(node)
        if isinstance(node, type) and issubclass(node, BaseModel):
            field = node.model_fields.get(str(part))
            if field is None:
                return []
            node = field.annotation
        elif get_origin(node) is dict:
            node = get_args(node)[1]
        elif get_origin(node) in (list, tuple):
            node = get_args(node)[0]
        else:
            return []
    node = _unwrap_optional(node)
    if isinstance(node, type) and issubclass(node, BaseModel):
        return list(node.model_fields)
    if get_origin(node) is dict:
        key_type = get_args(node)[0]
        if isinstance(key_type, type) and issubclass(key_type, Enum):
            return [str(member.value) for member in key_type]
    return []


def _unwrap_optional(node: Any) -> Any:
    if get_origin(node) in (Union, types.UnionType):
        args = [arg for arg in get_args(node) if arg is not type(None)]
        return args[0] if len(args) == 1 else node
    return node


# --- Summary for `oor-bot plan check` ----------------------------------------------------------


def plan_summary(plan: Plan) -> str:
    """A few lines confirming what a valid plan says: per type, severity and responders."""
    lines = [f"Plan: {plan.name}", f"Time zone: {plan.timezone}"]
    channels = [
        f"{label} {channel}"
        for label, channel in (
            ("broadcast", plan.broadcast_channel),
            ("review", plan.review_channel),
        )
        if channel
    ]
    if channels:
        lines.append("Channels: " + ", ".join(channels))
    for oor_type in OorType:
        type_plan = plan.for_type(oor_type)
        people = ", ".join(f"{len(type_plan.responders[role])} {role}" for role in Role)
        if type_plan.escalation:
            people += f", {len(type_plan.escalation)} escalation"
        lines.append(
            f"  {oor_type} ({oor_type.label_zh}): {type_plan.severity.label}; {people}; "
            f"deadlines {len(type_plan.deadline_map())}/6; partners {len(type_plan.partners)}"
        )
    if plan.payment_methods:
        methods = ", ".join(
            f"{name} ({len(method.partners)})" for name, method in plan.payment_methods.items()
        )
        lines.append(f"Payment methods (partners): {methods}")
    return "\n".join(lines)
