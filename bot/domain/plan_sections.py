"""Plan sections for customer notifications, the post-mortem, reminders and the digest.

Kept apart from ``plan.py`` (the core: types, responders, deadlines) to keep both small;
``Plan`` and ``TypePlan`` include these as optional sections with safe defaults.
"""

from __future__ import annotations

import re
from datetime import time
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NotifyChannel(StrEnum):
    """How customers are told (step 5)."""

    SMS = "sms"
    EMAIL = "email"
    STATUS_PAGE = "status_page"


class Locale(StrEnum):
    ZH_CN = "zh-CN"
    EN = "en"


_HTTP_URL = re.compile(r"^https?://\S+$")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class SupportContact(_Section):
    """What customers are told to contact; shown in every notification."""

    name: str | None = None
    phone: str | None = None
    email: str | None = None
    url: str | None = None
    hours: str | None = None


class CustomerNotifications(_Section):
    channels: list[NotifyChannel] = Field(
        default_factory=lambda: [NotifyChannel.SMS, NotifyChannel.EMAIL, NotifyChannel.STATUS_PAGE]
    )
    locales: list[Locale] = Field(default_factory=lambda: [Locale.ZH_CN, Locale.EN])
    # 短信签名: carriers require it on Chinese SMS, and it counts towards the length.
    sms_signature: str | None = None
    support: SupportContact = Field(default_factory=SupportContact)
    # When true, the person who drafted a notification cannot approve it alone.
    two_person_approval: bool = False
    # Approved messages are POSTed here (per channel), with an idempotency key.
    delivery_webhooks: dict[NotifyChannel, str] = Field(default_factory=dict)

    @field_validator("sms_signature")
    @classmethod
    def _check_signature(cls, value: str | None) -> str | None:
        if value is not None and not (value.startswith("【") and value.endswith("】")):
            raise ValueError("an SMS signature is written in 【…】, e.g. 【某某支付】")
        return value

    @field_validator("delivery_webhooks")
    @classmethod
    def _check_urls(cls, value: dict[NotifyChannel, str]) -> dict[NotifyChannel, str]:
        for channel, url in value.items():
            if not _HTTP_URL.match(url):
                raise ValueError(f"{channel.value}: not an http(s) URL")
        return value


class TypeNotifications(_Section):
    """Per OOR type: which channels and locales to draft (defaults: the plan's)."""

    channels: list[NotifyChannel] | None = None
    locales: list[Locale] | None = None


class DigestSchedule(_Section):
    """When the weekly review digest is posted, in the plan's time zone."""

    weekday: str = "monday"
    at: str = "09:00"

    @field_validator("weekday")
    @classmethod
    def _check_weekday(cls, value: str) -> str:
        if value.lower() not in WEEKDAYS:
            raise ValueError(f"expected one of {', '.join(WEEKDAYS)}")
        return value.lower()

    @field_validator("at")
    @classmethod
    def _check_at(cls, value: str) -> str:
        if not _HHMM.match(value):
            raise ValueError("a time of day as HH:MM, e.g. 09:00")
        return value

    @property
    def weekday_index(self) -> int:
        return WEEKDAYS.index(self.weekday)

    @property
    def time_of_day(self) -> time:
        hours, minutes = self.at.split(":")
        return time(int(hours), int(minutes))


class WorkingHours(_Section):
    """The review deadline only counts (and reminds) within these hours."""

    days: list[str] = Field(
        default_factory=lambda: ["monday", "tuesday", "wednesday", "thursday", "friday"]
    )
    start: str = "09:00"
    end: str = "18:00"

    @field_validator("days")
    @classmethod
    def _check_days(cls, value: list[str]) -> list[str]:
        bad = [d for d in value if d.lower() not in WEEKDAYS]
        if bad:
            raise ValueError(f"unknown day {bad[0]!r}; expected one of {', '.join(WEEKDAYS)}")
        return [d.lower() for d in value]

    @field_validator("start", "end")
    @classmethod
    def _check_time(cls, value: str) -> str:
        if not _HHMM.match(value):
            raise ValueError("a time of day as HH:MM, e.g. 09:00")
        return value
