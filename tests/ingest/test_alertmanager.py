"""Alertmanager webhook bodies, starting from ones a real Alertmanager 0.25 sent."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.domain.alert_rules import AlertmanagerRules
from bot.domain.events import EventStatus
from bot.domain.types import OorType, Severity
from bot.ingest.alertmanager import AlertGroup, parse_alertmanager
from bot.ingest.errors import IngestError

FIXTURES = Path(__file__).parent.parent / "fixtures" / "alertmanager"
RULES = AlertmanagerRules()
GROUP_KEY = 'oor/{}:{alertname="PaymentChannelErrorRate", oor_type="payment_failure"}'
GW1 = "e2bffe7eeb3324a4:2026-11-25T19:49:24Z"
GW2 = "0d3dda6a24edd2ed:2026-11-25T19:49:24Z"


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_bytes())
    return data


def parse(data: dict[str, Any], rules: AlertmanagerRules = RULES) -> AlertGroup:
    return parse_alertmanager(json.dumps(data).encode(), rules)


def rejected(data: dict[str, Any]) -> IngestError:
    with pytest.raises(IngestError) as info:
        parse(data)
    return info.value


def test_two_firing_alerts_make_two_events_in_one_group() -> None:
    group = parse_alertmanager((FIXTURES / "01-firing-two-alerts.json").read_bytes(), RULES)
    assert group.group_key == GROUP_KEY
    assert group.status is EventStatus.FIRING
    assert group.external_url == "http://alertmanager.example:9093"
    assert group.truncated_alerts == 0
    first, second = group.events
    assert [e.dedup_key for e in group.events] == [f"{GW1}:firing", f"{GW2}:firing"]
    for event in group.events:
        assert event.source == "alertmanager" and event.origin == "alertmanager"
        assert event.group_key == GROUP_KEY
        assert event.status is EventStatus.FIRING
        assert event.type is OorType.PAYMENT_FAILURE
        assert event.severity is Severity.SEV1  # "critical"
        assert event.occurred_at == datetime(2026, 11, 25, 19, 49, 24, tzinfo=UTC)
        assert event.description == (
            "Payments on the Alipay channel are failing with CHANNEL_BLOCKED"
        )
        assert event.details.payment_method == "alipay"  # from the "channel" label
        assert event.details.merchant_id is None and event.details.error_code is None
        assert event.payload["receiver"] == "oor"
        assert event.payload["externalURL"] == "http://alertmanager.example:9093"
        assert event.payload["groupKey"] == GROUP_KEY.removeprefix("oor/")
    assert first.title == "Alipay error rate 35% over 5m"
    assert second.title == "Alipay error rate 31% over 5m"
    assert first.url == "http://prometheus.example:9090/graph?g0.expr=rate"
    # The second alert's generatorURL is empty: fall back to Alertmanager's own URL.
    assert second.url == "http://alertmanager.example:9093"
    assert first.details.extras["instance"] == "pay-gw-1"
    assert first.payload["fingerprint"] == "e2bffe7eeb3324a4"
    assert first.payload["endsAt"] == "0001-01-01T00:00:00Z"  # raw alert kept


def test_one_resolved_one_firing() -> None:
    group = parse(fixture("02-one-resolved-one-firing.json"))
    assert group.status is EventStatus.FIRING
    assert [(e.dedup_key, e.status) for e in group.events] == [
        (f"{GW1}:resolved", EventStatus.RESOLVED),
        (f"{GW2}:firing", EventStatus.FIRING),
    ]


def test_group_resolved() -> None:
    group = parse(fixture("03-group-resolved.json"))
    assert group.status is EventStatus.RESOLVED
    (event,) = group.events
    assert event.dedup_key == f"{GW2}:resolved"
    assert event.status is EventStatus.RESOLVED
    assert event.group_key == GROUP_KEY


def test_resend_gives_the_same_keys_and_resolution_a_new_one() -> None:
    firing = {e.dedup_key for e in parse(fixture("01-firing-two-alerts.json")).events}
    again = {e.dedup_key for e in parse(fixture("01-firing-two-alerts.json")).events}
    resolved = {e.dedup_key for e in parse(fixture("02-one-resolved-one-firing.json")).events}
    assert firing == again
    assert firing & resolved == {f"{GW2}:firing"}


def test_starts_at_with_offset_and_nanoseconds_is_normalised_to_utc() -> None:
    data = fixture("03-group-resolved.json")
    data["alerts"][0]["startsAt"] = "2026-11-26T03:49:24.123456789+08:00"
    event = parse(data).events[0]
    assert event.occurred_at == datetime(2026, 11, 25, 19, 49, 24, 123456, tzinfo=UTC)
    assert event.dedup_key == "0d3dda6a24edd2ed:2026-11-25T19:49:24.123456Z:resolved"


def test_type_falls_back_to_common_then_group_labels_then_default() -> None:
    data = fixture("03-group-resolved.json")
    del data["alerts"][0]["labels"]["oor_type"]
    data["commonLabels"]["oor_type"] = "amount_error"
    assert parse(data).events[0].type is OorType.AMOUNT_ERROR
    del data["commonLabels"]["oor_type"]
    assert parse(data).events[0].type is OorType.PAYMENT_FAILURE  # groupLabels
    del data["groupLabels"]["oor_type"]
    assert parse(data).events[0].type is OorType.SYSTEM_CRASH  # rules.default_type
    data["alerts"][0]["labels"]["oor_type"] = "no_such_type"
    assert parse(data).events[0].type is OorType.SYSTEM_CRASH
    rules = AlertmanagerRules(default_type=OorType.TRANSACTION_INTERRUPTION)
    assert parse(data, rules).events[0].type is OorType.TRANSACTION_INTERRUPTION


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("critical", Severity.SEV1),
        ("error", Severity.SEV2),
        ("warning", Severity.SEV3),
        ("info", Severity.SEV4),
        ("Warning", Severity.SEV3),
        ("sev2", Severity.SEV2),
        ("page", None),
    ],
)
def test_severity_mapping(value: str, expected: Severity | None) -> None:
    data = fixture("03-group-resolved.json")
    data["alerts"][0]["labels"]["severity"] = value
    del data["commonLabels"]["severity"]
    assert parse(data).events[0].severity is expected


def test_missing_severity_is_none() -> None:
    data = fixture("03-group-resolved.json")
    del data["alerts"][0]["labels"]["severity"]
    del data["commonLabels"]["severity"]
    assert parse(data).events[0].severity is None


def test_custom_rules() -> None:
    rules = AlertmanagerRules(
        type_label="kind",
        severity_label="prio",
        severity_map={"p1": Severity.SEV1},
        payment_method_labels=("pm",),
        merchant_label="mch",
        error_code_label="code",
    )
    data = fixture("03-group-resolved.json")
    data["alerts"][0]["labels"] = {
        "kind": "amount_error",
        "prio": "p1",
        "pm": "card",
        "mch": "M1",
        "code": "E42",
        "alertname": "A",
    }
    data["commonLabels"] = {}
    event = parse(data, rules).events[0]
    assert (event.type, event.severity) == (OorType.AMOUNT_ERROR, Severity.SEV1)
    assert event.details.payment_method == "card"
    assert (event.details.merchant_id, event.details.error_code) == ("M1", "E42")


def test_title_fallbacks() -> None:
    data = fixture("01-firing-two-alerts.json")
    del data["alerts"][0]["annotations"]["summary"]
    data["commonAnnotations"]["summary"] = "Common summary"
    assert parse(data).events[0].title == "Common summary"
    del data["commonAnnotations"]["summary"]
    assert parse(data).events[0].title == "PaymentChannelErrorRate (pay-gw-1)"
    del data["alerts"][0]["labels"]["instance"]
    assert parse(data).events[0].title == "PaymentChannelErrorRate"
    data["alerts"][0]["annotations"]["summary"] = "x" * 500
    title = parse(data).events[0].title
    assert len(title) == 200 and title.endswith("…")


def test_url_falls_back_and_empty_is_none() -> None:
    data = fixture("03-group-resolved.json")
    data["externalURL"] = ""
    group = parse(data)
    assert group.external_url is None and group.events[0].url is None


def test_extra_fields_are_allowed() -> None:
    data = fixture("01-firing-two-alerts.json")
    data["someFutureField"] = {"x": 1}
    data["alerts"][0]["someFutureAlertField"] = True
    event = parse(data).events[0]
    assert event.payload["someFutureAlertField"] is True


def test_truncated_alerts_are_reported() -> None:
    data = fixture("01-firing-two-alerts.json")
    data["truncatedAlerts"] = 3
    assert parse(data).truncated_alerts == 3


def _set(path: list[str | int], value: Any) -> dict[str, Any]:
    data = fixture("01-firing-two-alerts.json")
    target: Any = data
    for part in path[:-1]:
        target = target[part]
    if value is _DROP:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


_DROP = object()


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (["version"], "3", "version"),
        (["version"], _DROP, "version"),
        (["groupKey"], "", "groupKey"),
        (["groupKey"], _DROP, "groupKey"),
        (["alerts"], [], "alerts"),
        (["status"], "pending", "status"),
        (["alerts", 1, "fingerprint"], "", "alerts[1].fingerprint"),
        (["alerts", 1, "fingerprint"], _DROP, "alerts[1].fingerprint"),
        (["alerts", 0, "status"], "active", "alerts[0].status"),
        (["alerts", 0, "startsAt"], "soon", "alerts[0].startsAt"),
        (["alerts", 0, "startsAt"], "2026-11-25T19:49:24", "alerts[0].startsAt"),
        (["alerts", 0, "startsAt"], _DROP, "alerts[0].startsAt"),
        (["alerts", 0, "labels"], {"a": 1}, "alerts[0].labels.a"),
    ],
)
def test_invalid_payload_is_422(path: list[str | int], value: Any, field: str) -> None:
    err = rejected(_set(path, value))
    assert (err.status, err.field) == (422, field)
    assert err.to_json()["error"] == "invalid_event"


def test_version_error_message() -> None:
    assert "'3'" in rejected(_set(["version"], "3")).message


@pytest.mark.parametrize("raw", [b"nope", b"[]", b"null"])
def test_unparsable_is_400(raw: bytes) -> None:
    with pytest.raises(IngestError) as info:
        parse_alertmanager(raw, RULES)
    assert info.value.status == 400


# -- what is stored cleaned rather than refused (issue 10): Alertmanager retries a 5xx forever
# and gives up on a 4xx, so an alert must never be lost to a field it cannot change. -------
NOW = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)
LONG_URL = "http://prometheus.example:9090/graph?g0.expr=" + "rate%28x%5B5m%5D%29" * 121


def test_a_long_generator_url_is_kept_whole() -> None:
    data = _set(["alerts", 0, "generatorURL"], LONG_URL)
    data["externalURL"] = "http://alertmanager.example/" + "x" * 2500
    group = parse(data)
    assert len(LONG_URL) > 2300 and group.events[0].url == LONG_URL
    assert group.events[1].url == data["externalURL"]  # its own is empty: the group's


def test_a_long_group_key_becomes_a_stable_bounded_key() -> None:
    data = _set(["groupKey"], "{}:{" + 'alertname="x", ' * 30 + "}")  # 455 characters
    assert len(data["groupKey"]) > 450
    key = parse(data).group_key
    assert len(key) <= 200 and "sha256:" in key
    assert parse(data).group_key == key  # the same group again: the same key
    other = _set(["groupKey"], data["groupKey"][:-2] + "y}")
    assert parse(other).group_key != key
    assert all(e.group_key == key for e in parse(data).events)


def test_a_long_fingerprint_becomes_a_stable_bounded_dedup_key() -> None:
    data = _set(["alerts", 0, "fingerprint"], "f" * 450)
    first = parse(data).events[0].dedup_key
    assert len(first) <= 210 and first.endswith(":2026-11-25T19:49:24Z:firing")
    assert parse(data).events[0].dedup_key == first
    data["alerts"][0]["fingerprint"] = "f" * 449 + "e"
    assert parse(data).events[0].dedup_key != first


def test_nul_and_lone_surrogates_are_dropped_everywhere() -> None:
    raw = (FIXTURES / "01-firing-two-alerts.json").read_text()
    raw = raw.replace('"instance":"pay-gw-1"', '"instance":"pay\\u0000-gw-1","x\\u0000":"y"')
    raw = raw.replace('"summary":"Alipay error rate 35%', '"summary":"Alipay\\ud800 error rate 35%')
    group = parse_alertmanager(raw.encode(), RULES)
    event = group.events[0]
    assert event.details.extras["instance"] == "pay-gw-1" and event.details.extras["x"] == "y"
    assert event.title.startswith("Alipay\ufffd error rate")
    assert "\x00" not in json.dumps(event.payload)
    assert "\\u0000" not in json.dumps(event.payload)


def test_a_number_that_is_not_finite_is_still_422() -> None:
    raw = (FIXTURES / "01-firing-two-alerts.json").read_text()
    raw = raw.replace('"truncatedAlerts":0', '"truncatedAlerts":1e400')
    with pytest.raises(IngestError) as info:
        parse_alertmanager(raw.encode(), RULES)
    assert (info.value.status, info.value.field) == (422, "truncatedAlerts")


@pytest.mark.parametrize("summary", ["\u202e\u200b", "\u200d", " \u2066 "])
def test_an_invisible_summary_falls_back_to_the_alert_name(summary: str) -> None:
    data = fixture("01-firing-two-alerts.json")
    data["alerts"][0]["annotations"]["summary"] = summary
    assert parse(data).events[0].title == "PaymentChannelErrorRate (pay-gw-1)"
    data["alerts"][0]["labels"]["alertname"] = "\u200b"
    data["commonLabels"]["alertname"] = "\u200b"
    del data["alerts"][0]["labels"]["instance"]
    assert parse(data).events[0].title == "Alertmanager alert"


@pytest.mark.parametrize(
    "starts_at", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00+14:00", "1970-01-01T00:00:00Z"]
)
def test_an_unusable_starts_at_is_not_used_and_the_alert_kept(starts_at: str) -> None:
    data = _set(["alerts", 0, "startsAt"], starts_at)
    event = parse_alertmanager(json.dumps(data).encode(), RULES, now=NOW).events[0]
    assert event.occurred_at is None
    assert event.description is not None
    assert event.description.startswith(f"(startsAt {starts_at[:4]}")
    assert "CHANNEL_BLOCKED" in event.description  # the alert's own description follows
    again = parse_alertmanager(json.dumps(data).encode(), RULES, now=NOW).events[0]
    assert again.dedup_key == event.dedup_key  # a re-send is still recognised
    resolved = _set(["alerts", 0, "startsAt"], starts_at)
    resolved["alerts"][0]["status"] = "resolved"
    resolved_key = parse_alertmanager(json.dumps(resolved).encode(), RULES, now=NOW)
    assert resolved_key.events[0].dedup_key == event.dedup_key.replace(":firing", ":resolved")


def test_a_starts_at_a_day_ahead_is_not_used_but_the_usual_ends_at_is_fine() -> None:
    data = _set(["alerts", 0, "startsAt"], "2026-11-27T00:00:00Z")
    assert data["alerts"][0]["endsAt"] == "0001-01-01T00:00:00Z"  # normal while firing
    group = parse_alertmanager(json.dumps(data).encode(), RULES, now=NOW)
    assert group.events[0].occurred_at is None
    assert group.events[1].occurred_at == datetime(2026, 11, 25, 19, 49, 24, tzinfo=UTC)
