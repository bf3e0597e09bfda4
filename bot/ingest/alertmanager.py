"""Prometheus Alertmanager webhook payloads (version "4") -> one OorEvent per alert.

A notification carries a whole alert *group*; the group becomes one incident (every event
gets the group's key) and each alert in it one event. Models allow extra fields, since
Alertmanager adds fields over releases, but validate everything this module relies on.
Alertmanager treats a 4xx answer as final (and retries a 5xx forever), so only truly
unusable bodies are rejected; what can be cleaned is stored cleaned instead:

- NUL and lone surrogates are dropped from every string (see :mod:`bot.ingest.json_body`);
- a ``groupKey`` or ``fingerprint`` too long for its column becomes a stable digest
  (:func:`~bot.domain.outside_text.bounded_key`), so grouping and deduplication still work;
- URLs (``generatorURL`` embeds the PromQL query) are kept whole;
- a ``startsAt`` outside 2000-01-01 .. a day from now is not used as the time of
  occurrence, and the description says so (``endsAt`` is not read: it is
  0001-01-01T00:00:00Z for every firing alert);
- a summary with nothing visible in it falls back to the alert name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from bot.domain.alert_rules import AlertmanagerRules
from bot.domain.events import EventStatus, OorEvent, PaymentDetails, occurred_at_problem
from bot.domain.outside_text import bounded_key, is_blank
from bot.domain.types import OorType, Severity
from bot.ingest.errors import from_validation_error
from bot.ingest.json_body import decode_json_object

SUPPORTED_VERSION = "4"
_TITLE_MAX = 200
# Stored keys: the incident's group key and, inside the event's dedup key, the fingerprint
# (Alertmanager's own are 16 hex digits; both columns hold 400 characters).
_GROUP_KEY_MAX = 200
_FINGERPRINT_MAX = 128
# Slack refuses a text block over 3000 characters; the native format has the same limit.
_DESCRIPTION_MAX = 3000


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)


class AmAlert(_Model):
    status: Literal["firing", "resolved"]
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: AwareDatetime = Field(alias="startsAt")
    generator_url: str = Field(default="", alias="generatorURL")
    fingerprint: str = Field(min_length=1)

    @field_validator("fingerprint")
    @classmethod
    def _fingerprint_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise PydanticCustomError("blank", "must not be blank")
        return value


class AmPayload(_Model):
    version: str
    receiver: str = ""
    status: Literal["firing", "resolved"]
    alerts: list[AmAlert] = Field(min_length=1)
    group_labels: dict[str, str] = Field(default_factory=dict, alias="groupLabels")
    common_labels: dict[str, str] = Field(default_factory=dict, alias="commonLabels")
    common_annotations: dict[str, str] = Field(default_factory=dict, alias="commonAnnotations")
    external_url: str = Field(default="", alias="externalURL")
    group_key: str = Field(min_length=1, alias="groupKey")
    truncated_alerts: int = Field(default=0, ge=0, alias="truncatedAlerts")

    @field_validator("version")
    @classmethod
    def _supported_version(cls, value: str) -> str:
        # Another version may move or rename fields we read; better a clear 422 than an
        # incident built from half-understood data.
        if value != SUPPORTED_VERSION:
            raise PydanticCustomError(
                "unsupported_version",
                f"unsupported Alertmanager webhook version {value[:20]!r}; only "
                f"{SUPPORTED_VERSION!r} is understood",
            )
        return value


@dataclass(frozen=True)
class AlertGroup:
    """One Alertmanager notification: the group's identity and one event per alert.

    ``truncated_alerts`` is how many alerts Alertmanager left out (its ``max_alerts``);
    when non-zero, ``events`` is not the whole group.
    """

    group_key: str
    status: EventStatus
    external_url: str | None
    events: list[OorEvent]
    truncated_alerts: int = 0


def parse_alertmanager(
    body: bytes, rules: AlertmanagerRules, *, now: datetime | None = None
) -> AlertGroup:
    """Validate an Alertmanager webhook body and map each alert to an :class:`OorEvent`.

    Raises IngestError 400 when the body is not a JSON object, 422 when a field we rely on
    is missing or wrong (``version``, ``groupKey``, ``alerts[i].fingerprint``, ...).
    ``now`` is when it was received (a ``startsAt`` more than a day later is not used).
    """
    data = decode_json_object(body, scrub_text=True)
    try:
        payload = AmPayload.model_validate(data)
    except ValidationError as exc:
        raise from_validation_error(exc) from None
    group_key = bounded_key(f"{payload.receiver}/{payload.group_key}", _GROUP_KEY_MAX)
    external_url = _http_url(payload.external_url)
    raw_alerts: list[dict[str, Any]] = data["alerts"]  # validated: a list of objects
    events = [
        _to_event(alert, raw, payload, group_key, external_url, rules, now)
        for alert, raw in zip(payload.alerts, raw_alerts, strict=True)
    ]
    return AlertGroup(
        group_key=group_key,
        status=EventStatus(payload.status),
        external_url=external_url,
        events=events,
        truncated_alerts=payload.truncated_alerts,
    )


def _to_event(
    alert: AmAlert,
    raw: dict[str, Any],
    group: AmPayload,
    group_key: str,
    external_url: str | None,
    rules: AlertmanagerRules,
    now: datetime | None,
) -> OorEvent:
    # Labels are looked up on the alert first, then on what the group shares.
    sources = (alert.labels, group.common_labels, group.group_labels)
    labels = alert.labels
    starts_at, episode = _starts_at(alert, raw)
    description = alert.annotations.get("description")
    if starts_at is not None and occurred_at_problem(starts_at, now or starts_at) is not None:
        starts_at = None
    if starts_at is None:
        note = f"(startsAt {episode[:40]} is not a believable time: occurrence time unknown)"
        # First, so clipping a long description keeps it.
        description = f"{note}\n{description.strip()}" if description else note
    fingerprint = bounded_key(alert.fingerprint, _FINGERPRINT_MAX)
    return OorEvent(
        source="alertmanager",
        # Same firing episode re-sent -> same key (ignored); its resolution -> a new key.
        dedup_key=f"{fingerprint}:{episode}:{alert.status}",
        type=_oor_type(_label(rules.type_label, *sources), rules),
        title=_title(alert, group),
        severity=_severity(_label(rules.severity_label, *sources), rules),
        description=_clip(description, _DESCRIPTION_MAX),
        occurred_at=starts_at,
        origin="alertmanager",
        url=_http_url(alert.generator_url) or external_url,
        group_key=group_key,
        status=EventStatus(alert.status),
        details=PaymentDetails(
            payment_method=_label_any(rules.payment_method_labels, labels),
            merchant_id=_label(rules.merchant_label, labels),
            error_code=_label(rules.error_code_label, labels),
            extras=dict(labels),
        ),
        payload={
            **raw,
            "receiver": group.receiver,
            "groupKey": group.group_key,
            "externalURL": group.external_url,
        },
    )


def _starts_at(alert: AmAlert, raw: dict[str, Any]) -> tuple[datetime | None, str]:
    """``startsAt`` in UTC (None when it has none) and the episode's part of the dedup key."""
    try:
        starts_at = alert.starts_at.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+14:00 is in year 0 in UTC
        # Still the same string each time Alertmanager re-sends the alert: a stable key.
        return None, str(raw.get("startsAt", ""))[:64]
    return starts_at, _iso_utc(starts_at)


def _iso_utc(moment: datetime) -> str:
    # Alertmanager's own spelling ("...Z"); microseconds only when present, so the key of a
    # re-sent alert is stable (pydantic drops nanoseconds the same way every time).
    return moment.isoformat().replace("+00:00", "Z")


def _label(name: str, *sources: Mapping[str, str]) -> str | None:
    """The first non-blank value of label ``name`` in ``sources`` (blank: nothing visible)."""
    for labels in sources:
        value = labels.get(name, "").strip()
        if not is_blank(value):
            return value
    return None


def _label_any(names: tuple[str, ...], labels: Mapping[str, str]) -> str | None:
    for name in names:
        value = _label(name, labels)
        if value is not None:
            return value
    return None


def _oor_type(value: str | None, rules: AlertmanagerRules) -> OorType:
    if value is None:
        return rules.default_type
    try:
        return OorType(value.lower())
    except ValueError:
        return rules.default_type


def _severity(value: str | None, rules: AlertmanagerRules) -> Severity | None:
    if value is None:
        return None
    if value in rules.severity_map:
        return rules.severity_map[value]
    lowered = value.lower()
    for key, severity in rules.severity_map.items():
        if key.lower() == lowered:
            return severity
    # A rule may also name the bot's own scale directly ("sev2").
    try:
        return Severity(lowered)
    except ValueError:
        return None


def _title(alert: AmAlert, group: AmPayload) -> str:
    summary = _label("summary", alert.annotations, group.common_annotations)
    if summary is None:
        name = _label("alertname", alert.labels, group.common_labels) or "Alertmanager alert"
        instance = _label("instance", alert.labels)
        summary = f"{name} ({instance})" if instance else name
    return _clip(summary, _TITLE_MAX) or summary


def _clip(text: str | None, limit: int) -> str | None:
    if text is None or is_blank(text):
        return None
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _http_url(url: str) -> str | None:
    # Only http(s) links end up as buttons in Slack; anything else is dropped, not trusted.
    url = url.strip()
    return url if url.lower().startswith(("http://", "https://")) else None
