"""The plan's ``status_page`` section: what the public status page shows and how open
incidents turn into component statuses.

Kept apart from ``plan.py`` (the core) like :mod:`bot.domain.plan_sections`. Every text a
customer reads may be one string or one per language (``{zh-CN: 支付宝, en: Alipay}``).
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.domain.plan_sections import Locale, SupportContact
from bot.domain.types import OorType, Severity

_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ComponentStatus(StrEnum):
    """The Atlassian Statuspage component statuses, best first (order is meaningful)."""

    OPERATIONAL = "operational"
    UNDER_MAINTENANCE = "under_maintenance"
    DEGRADED_PERFORMANCE = "degraded_performance"
    PARTIAL_OUTAGE = "partial_outage"
    MAJOR_OUTAGE = "major_outage"

    @property
    def rank(self) -> int:
        return list(ComponentStatus).index(self)


class ShowUnannounced(StrEnum):
    """What an open incident with no approved status update does on the page."""

    COMPONENTS = "components"  # it sets its components' status, nothing else shows
    HIDDEN = "hidden"  # nothing at all until comms approves an update


class LocalText(_Section):
    """A text in each language; a plain string in the plan means the same in all."""

    zh_cn: str | None = Field(default=None, alias="zh-CN", min_length=1)
    en: str | None = Field(default=None, min_length=1)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _plain(cls, data: Any) -> Any:
        if isinstance(data, str):
            if not data.strip():
                raise ValueError("must not be empty")
            return {"zh-CN": data, "en": data}
        return data

    @model_validator(mode="after")
    def _one_at_least(self) -> LocalText:
        if self.zh_cn is None and self.en is None:
            raise ValueError("give the text, or zh-CN and/or en")
        return self

    def get(self, locale: Locale) -> str:
        """The text in ``locale``, else in the other language (never nothing)."""
        first, second = (self.zh_cn, self.en) if locale is Locale.ZH_CN else (self.en, self.zh_cn)
        text = first or second
        assert text is not None  # _one_at_least
        return text


def _http_url(value: str | None) -> str | None:
    if value is None:
        return None
    parts = urlparse(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("expected an http:// or https:// address")
    return value.strip()


class Component(_Section):
    """A customer-facing service (one per payment method, the gateway, …)."""

    key: str
    name: LocalText
    description: LocalText | None = None
    # Incidents whose payment method is one of these affect the component.
    payment_methods: list[str] = Field(default_factory=list)

    @field_validator("key")
    @classmethod
    def _check_key(cls, value: str) -> str:
        if not _KEY.match(value):
            raise ValueError("lowercase letters, digits, _ and -, e.g. wechat_pay")
        return value

    @field_validator("payment_methods")
    @classmethod
    def _lower(cls, value: list[str]) -> list[str]:
        return [method.strip().lower() for method in value]


class Maintenance(_Section):
    """A planned window: announced ahead, its components under maintenance while it runs."""

    key: str
    title: LocalText
    body: LocalText | None = None
    components: list[str] = Field(min_length=1)
    starts_at: datetime
    ends_at: datetime

    @field_validator("key")
    @classmethod
    def _check_key(cls, value: str) -> str:
        if not _KEY.match(value):
            raise ValueError("lowercase letters, digits, _ and -, e.g. unionpay-2026-12")
        return value

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("give the time zone, e.g. 2026-12-06T02:00:00+08:00")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> Maintenance:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


def _default_impact() -> dict[OorType, dict[Severity, ComponentStatus]]:
    outage = {
        Severity.SEV1: ComponentStatus.MAJOR_OUTAGE,
        Severity.SEV2: ComponentStatus.PARTIAL_OUTAGE,
        Severity.SEV3: ComponentStatus.DEGRADED_PERFORMANCE,
        Severity.SEV4: ComponentStatus.DEGRADED_PERFORMANCE,
    }
    # A wrong amount does not stop payments: customers notice a minor one only when told.
    amounts = {
        Severity.SEV1: ComponentStatus.PARTIAL_OUTAGE,
        Severity.SEV2: ComponentStatus.DEGRADED_PERFORMANCE,
        Severity.SEV3: ComponentStatus.OPERATIONAL,
        Severity.SEV4: ComponentStatus.OPERATIONAL,
    }
    return {t: dict(amounts if t is OorType.AMOUNT_ERROR else outage) for t in OorType}


class StatusPagePlan(_Section):
    title: LocalText
    # The page's public address (JSON `page.url`, the Atom feed's links); optional.
    url: str | None = None
    logo_url: str | None = None
    # Defaults to notifications.support (see Plan.status_page_support).
    support: SupportContact | None = None
    default_locale: Locale = Locale.ZH_CN
    show_unannounced: ShowUnannounced = ShowUnannounced.COMPONENTS
    history_days: int = Field(default=90, ge=1, le=366)
    components: list[Component] = Field(min_length=1)
    # Components an incident affects when its payment method names none of them (no
    # method, or one no component lists), e.g. the payment gateway.
    default_components: list[str] = Field(default_factory=list)
    # OOR types that affect every component whatever their payment method (a crash).
    whole_page_types: list[OorType] = Field(default_factory=lambda: [OorType.SYSTEM_CRASH])
    # OOR type × severity -> component status; only what differs from the defaults.
    impact: dict[OorType, dict[Severity, ComponentStatus]] = Field(default_factory=dict)
    maintenance: list[Maintenance] = Field(default_factory=list)

    @field_validator("url", "logo_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        return _http_url(value)

    @model_validator(mode="after")
    def _references(self) -> StatusPagePlan:
        from bot.domain.plan import Problems  # plan.py imports this module

        problems: list[tuple[tuple[str | int, ...], str]] = []
        keys: dict[str, int] = {}
        for index, component in enumerate(self.components):
            if component.key in keys:
                problems.append(
                    (("components", index, "key"), f"also components[{keys[component.key]}]")
                )
            keys.setdefault(component.key, index)
        for index, key in enumerate(self.default_components):
            if key not in keys:
                problems.append((("default_components", index), _unknown(key, keys)))
        for index, window in enumerate(self.maintenance):
            for at, key in enumerate(window.components):
                if key not in keys:
                    problems.append((("maintenance", index, "components", at), _unknown(key, keys)))
        if problems:
            raise Problems(problems)
        return self

    def status_for(self, oor_type: OorType, severity: Severity) -> ComponentStatus:
        chosen = self.impact.get(oor_type, {}).get(severity)
        return chosen or _default_impact()[oor_type][severity]

    def components_for(self, oor_type: OorType, payment_method: str | None) -> list[str]:
        """The keys of the components an incident of this type and method affects."""
        if oor_type in self.whole_page_types:
            return [c.key for c in self.components]
        method = (payment_method or "").strip().lower()
        named = [c.key for c in self.components if method and method in c.payment_methods]
        return named or list(self.default_components)


def _unknown(key: str, keys: dict[str, int]) -> str:
    return f"no component {key!r}; expected one of {', '.join(keys)}"
