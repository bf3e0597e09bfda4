"""The plan's paging parts: on-call targets among the responders, and the ``paging:`` section.

A responder entry may name who is on call in PagerDuty instead of a fixed person:
``pagerduty:schedule/PABC123`` (whoever the schedule has on call now) or
``pagerduty:escalation_policy/PXYZ789`` (the policy's level 1 now; ``?level=2`` for
another level). The ``paging:`` section says per OOR type and severity whether an incident
pages when it opens (escalations always page), and names per type the environment variable
that holds the integration's routing key, so no secret is written in the plan.

Plain data and validation only: asking PagerDuty is the adapter's job (bot/pagerduty/).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.domain.types import OorType, Severity

PAGERDUTY_PREFIX = "pagerduty:"
OnCallKind = Literal["schedule", "escalation_policy"]

# PagerDuty object ids: upper-case letters and digits (P…), e.g. PABC123.
_TARGET = re.compile(
    r"^pagerduty:(?P<kind>schedule|escalation_policy)/(?P<id>[A-Z0-9]{2,32})"
    r"(?:\?level=(?P<level>[1-9][0-9]?))?$"
)
# Environment variable names as conventionally written: upper case, digits and _. A routing
# key (32 lower-case characters) therefore never passes for a name by mistake.
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
ON_CALL_HINT = (
    "not a PagerDuty target; write pagerduty:schedule/PABC123 or "
    "pagerduty:escalation_policy/PXYZ789 (optionally ?level=2)"
)


class OnCallTarget(BaseModel):
    """Whoever a PagerDuty schedule or escalation policy (at ``level``) has on call."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: OnCallKind
    id: str
    level: int = Field(1, ge=1, le=99)

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        if isinstance(data, str):
            return parse_on_call(data).model_dump()
        return data

    def __str__(self) -> str:
        level = f"?level={self.level}" if self.level != 1 else ""
        return f"{PAGERDUTY_PREFIX}{self.kind}/{self.id}{level}"


def is_on_call_text(value: Any) -> bool:
    """True for a responder entry meant as a PagerDuty target (even a mistyped one)."""
    return isinstance(value, str) and value.strip().lower().startswith(PAGERDUTY_PREFIX)


def parse_on_call(text: str) -> OnCallTarget:
    """``"pagerduty:schedule/PABC123"`` -> ``OnCallTarget(kind="schedule", id="PABC123")``;
    raises ``ValueError`` with :data:`ON_CALL_HINT` for anything else."""
    match = _TARGET.match(text.strip())
    if match is None:
        raise ValueError(ON_CALL_HINT)
    kind: OnCallKind = "schedule" if match["kind"] == "schedule" else "escalation_policy"
    return OnCallTarget.model_construct(kind=kind, id=match["id"], level=int(match["level"] or 1))


class PagingPlan(BaseModel):
    """When to page, and through which integration. Without ``routing_keys`` nothing pages."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Per OOR type, the severities that page as soon as the incident opens.
    on_open: dict[OorType, list[Severity]] = Field(default_factory=dict)
    # A step deadline missed twice pages the escalation (the issue: "always on escalation").
    on_escalation: bool = True
    # Per OOR type, the NAME of the environment variable holding its routing key.
    routing_keys: dict[OorType, str] = Field(default_factory=dict)
    # The variable for types not listed in routing_keys.
    default_routing_key: str | None = None

    @field_validator("routing_keys")
    @classmethod
    def _check_env_names(cls, value: dict[OorType, str]) -> dict[OorType, str]:
        from bot.domain.plan import Problems  # the plan module imports this one

        problems: list[tuple[tuple[str | int, ...], str]] = []
        for oor_type, name in value.items():
            try:
                _check_env_name(name)
            except ValueError as exc:
                problems.append(((OorType(oor_type).value,), str(exc)))
        if problems:
            raise Problems(problems)
        return value

    @field_validator("default_routing_key")
    @classmethod
    def _check_default(cls, value: str | None) -> str | None:
        return None if value is None else _check_env_name(value)

    @field_validator("on_open", mode="before")
    @classmethod
    def _single_to_list(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: [v] if isinstance(v, str) else v for k, v in value.items()}
        return value

    def routing_key_variable(self, oor_type: OorType) -> str | None:
        """The environment variable that holds ``oor_type``'s routing key, if any."""
        return self.routing_keys.get(OorType(oor_type)) or self.default_routing_key

    def unrouted(self) -> list[OorType]:
        """Types paged on open without a routing key: PagerDuty cannot page them (a pager
        webhook can); `plan check` says so."""
        return [t for t, sev in self.on_open.items() if sev and not self.routing_key_variable(t)]

    def pages_on_open(self, oor_type: OorType, severity: Severity) -> bool:
        return Severity(severity) in self.on_open.get(OorType(oor_type), [])


def _check_env_name(name: str) -> str:
    if not _ENV_NAME.match(name):
        raise ValueError(
            "the NAME of an environment variable holding the routing key "
            "(upper-case letters, digits and _, e.g. OOR_PD_ROUTING_KEY), not the key itself"
        )
    return name
