"""Which incidents are private: the plan's ``private`` / ``private_when`` per OOR type.

A private incident's room is private and only the plan's responders are invited; outside it
the incident shows only what :mod:`bot.domain.privacy` allows. The plan decides at opening
(``/oor declare --private`` forces it); ``/oor private`` and ``/oor public`` change it later.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.domain.types import Severity


class PrivateWhen(BaseModel):
    """An incident of the type is private when its severity is listed, or when any of the
    ``labels`` matches (an Alertmanager label, or a native event's ``details.extras`` key,
    equal to the value written here; ``"*"`` matches any value)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    severity: tuple[Severity, ...] = ()
    labels: dict[str, str] = Field(default_factory=dict)

    @field_validator("severity", mode="before")
    @classmethod
    def _single_to_list(cls, value: Any) -> Any:
        # `severity: sev1` is an easy slip for `severity: [sev1]`; accept both.
        return [value] if isinstance(value, str) else value

    def matches(self, severity: Severity, labels: Mapping[str, Any]) -> bool:
        if severity in self.severity:
            return True
        for name, wanted in self.labels.items():
            value = labels.get(name)
            if value is None or isinstance(value, dict | list):
                continue
            if wanted == "*" or str(value).strip().casefold() == wanted.strip().casefold():
                return True
        return False


def opens_private(
    always: bool, when: PrivateWhen | None, severity: Severity, labels: Mapping[str, Any]
) -> bool:
    """Whether a new incident opens private by the plan (``private: true`` or a match)."""
    return always or (when is not None and when.matches(severity, labels))


def describe_private_when(when: PrivateWhen) -> str:
    """``sev1 or data_class=pii`` (for ``oor-bot plan check``)."""
    parts = [severity.value for severity in when.severity]
    parts += [f"{name}={value}" for name, value in when.labels.items()]
    return " or ".join(parts) or "never"
