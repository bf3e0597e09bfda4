"""What the PagerDuty emulator's APIs share: a request's `Query`, the `Answer` the HTTP layer
renders, the `Invalid` input error, REST's error envelope and time zones by name."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.sandbox.pagerduty.model import JSON

# REST error codes: NOTES.md gives only the envelope, so these numbers are the emulator's.
CODE_INVALID_INPUT, CODE_AUTH, CODE_NOT_FOUND, CODE_RATE_LIMIT, CODE_INTERNAL = (
    2001,
    2006,
    2100,
    2020,
    2000,
)


@dataclass(frozen=True)
class Answer:
    status: int
    body: JSON
    headers: dict[str, str] = field(default_factory=dict)


class Invalid(Exception):
    """Input an API refuses; ``errors`` says why."""

    def __init__(self, *errors: str) -> None:
        super().__init__("; ".join(errors))
        self.errors = list(errors)


def rest_error(status: int, code: int, message: str, errors: Sequence[str] = ()) -> Answer:
    """NOTES.md "REST v2 essentials": ``{"error": {"message", "code", "errors"}}``."""
    body: JSON = {"error": {"message": message, "code": code}}
    if errors:
        body["error"]["errors"] = list(errors)
    return Answer(status, body)


def zone(name: str) -> tzinfo:
    """The time zone called ``name``; Invalid if there is none."""
    if name in ("UTC", "Etc/UTC"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise Invalid(f"time_zone {name!r} is not a known time zone") from exc


class Query:
    """Query parameters of one request, with ``name[]`` lists kept in order."""

    def __init__(self, items: Iterable[tuple[str, str]]) -> None:
        self.items = list(items)

    def one(self, name: str) -> str | None:
        values = [v for k, v in self.items if k == name]
        return values[-1] if values else None

    def many(self, name: str) -> list[str]:
        return [v for k, v in self.items if k == f"{name}[]"]
