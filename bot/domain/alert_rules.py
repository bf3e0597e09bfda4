"""How Prometheus Alertmanager alerts map to OOR events (the plan's ``alertmanager`` section)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from bot.domain.types import OorType, Severity


class AlertmanagerRules(BaseModel):
    """Which labels carry the OOR type, the severity and the payment facts.

    Defaults fit the alert rules in the README; a plan overrides any of them.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    type_label: str = "oor_type"
    default_type: OorType = OorType.SYSTEM_CRASH
    severity_label: str = "severity"
    severity_map: dict[str, Severity] = Field(
        default_factory=lambda: {
            "critical": Severity.SEV1,
            "error": Severity.SEV2,
            "warning": Severity.SEV3,
            "info": Severity.SEV4,
        }
    )
    payment_method_labels: tuple[str, ...] = ("payment_method", "channel")
    merchant_label: str = "merchant_id"
    error_code_label: str = "error_code"
