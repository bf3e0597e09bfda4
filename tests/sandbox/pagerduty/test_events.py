"""Events API v2 over real HTTP: `POST /v2/enqueue` (NOTES.md "Events API v2";
fields_events_v2_enqueue.txt)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bot.domain.clock import ManualClock
from bot.sandbox.pagerduty import PagerDutyEmulator
from tests.sandbox.pagerduty.conftest import OTHER_KEY, ROUTING_KEY


def trigger(dedup_key: str | None = "oor-INC-1", **payload: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "routing_key": ROUTING_KEY,
        "event_action": "trigger",
        "payload": {
            "summary": "INC-1 system crash: payments API down",
            "source": "oor-bot",
            "severity": "critical",
            "custom_details": {"oor_type": "system_crash", "severity": "sev1"},
        }
        | payload,
        "links": [{"href": "https://slack.example/archives/C1", "text": "Slack channel"}],
    }
    if dedup_key is not None:
        event["dedup_key"] = dedup_key
    return event


def action(
    name: str, dedup_key: str | None = "oor-INC-1", key: str = ROUTING_KEY
) -> dict[str, Any]:
    event = {"routing_key": key, "event_action": name}
    if dedup_key is not None:
        event["dedup_key"] = dedup_key
    return event


def test_trigger_opens_one_page_and_answers_202(http: httpx.Client, emu: PagerDutyEmulator) -> None:
    """Response 202 `{"status": "success", "message": "Event processed", "dedup_key"}`."""
    response = http.post("/v2/enqueue", json=trigger())
    assert response.status_code == 202
    assert response.json() == {
        "status": "success",
        "message": "Event processed",
        "dedup_key": "oor-INC-1",
    }
    [page] = emu.pages
    assert (page.status, page.dedup_key, page.severity, page.service_id) == (
        "triggered",
        "oor-INC-1",
        "critical",
        "PSVC001",
    )
    assert page.custom_details == {"oor_type": "system_crash", "severity": "sev1"}
    assert page.links[0]["text"] == "Slack channel"
    assert page.assignees == ["PALICE1"]  # level 1 of the service's policy, on call now
    assert [e["outcome"] for e in page.events] == ["created"]


def test_trigger_with_an_open_dedup_key_updates_that_page(
    http: httpx.Client, emu: PagerDutyEmulator, clock: ManualClock
) -> None:
    """Semantics: same dedup_key + same routing_key applies to the open alert (no new page)."""
    for _ in range(3):
        assert http.post("/v2/enqueue", json=trigger()).status_code == 202
        clock.advance(minutes=1)
    [page] = emu.pages
    assert [e["outcome"] for e in page.events] == ["created", "deduplicated", "deduplicated"]
    assert page.updated_at > page.created_at


def test_same_dedup_key_on_another_routing_key_is_another_page(
    http: httpx.Client, emu: PagerDutyEmulator
) -> None:
    """Semantics: the dedup key applies within one routing key (integration)."""
    http.post("/v2/enqueue", json=trigger())
    http.post("/v2/enqueue", json=trigger() | {"routing_key": OTHER_KEY})
    assert sorted(p.service_id for p in emu.pages) == ["PSVC001", "PSVC002"]


def test_trigger_without_dedup_key_gets_a_generated_one(
    http: httpx.Client, emu: PagerDutyEmulator
) -> None:
    """Semantics: trigger without dedup_key -> new alert with a generated key, returned."""
    first = http.post("/v2/enqueue", json=trigger(None)).json()["dedup_key"]
    second = http.post("/v2/enqueue", json=trigger(None)).json()["dedup_key"]
    assert first and second and first != second
    assert [p.dedup_key for p in emu.pages] == [first, second]


def test_acknowledge_then_resolve_then_trigger_opens_a_new_page(
    http: httpx.Client, emu: PagerDutyEmulator
) -> None:
    """Semantics: ack/resolve apply to the open alert; after resolve a trigger opens anew."""
    http.post("/v2/enqueue", json=trigger())
    assert http.post("/v2/enqueue", json=action("acknowledge")).status_code == 202
    assert emu.pages[0].status == "acknowledged"
    http.post("/v2/enqueue", json=action("acknowledge"))
    http.post("/v2/enqueue", json=trigger())  # still open: deduplicated, stays acknowledged
    assert emu.pages[0].status == "acknowledged"
    assert http.post("/v2/enqueue", json=action("resolve")).status_code == 202
    assert emu.pages[0].status == "resolved"
    http.post("/v2/enqueue", json=trigger())
    first, second = emu.pages_for("oor-INC-1")
    assert (first.status, second.status) == ("resolved", "triggered")
    assert [e["outcome"] for e in first.events] == [
        "created",
        "acknowledged",
        "already_acknowledged",
        "deduplicated",
        "resolved",
    ]


@pytest.mark.parametrize("name", ["acknowledge", "resolve"])
def test_acknowledge_or_resolve_with_no_open_page_is_accepted_and_dropped(
    http: httpx.Client, emu: PagerDutyEmulator, name: str
) -> None:
    """Semantics: ack/resolve with no open alert are dropped (still 202)."""
    response = http.post("/v2/enqueue", json=action(name, "never-triggered"))
    assert response.status_code == 202
    assert response.json()["dedup_key"] == "never-triggered"
    assert emu.pages == []
    assert [(e["event_action"], e["outcome"]) for e in emu.events] == [(name, "dropped")]


def test_unknown_routing_key_is_a_400(http: httpx.Client, emu: PagerDutyEmulator) -> None:
    """Only the keys of known integrations are accepted; 400 has status/message/errors."""
    response = http.post("/v2/enqueue", json=trigger() | {"routing_key": "c" * 32})
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"status", "message", "errors"}
    assert "routing_key" in body["errors"][0]
    assert emu.pages == [] and emu.events == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"routing_key": None}, "routing_key"),
        ({"event_action": "escalate"}, "event_action"),
        ({"payload": None}, "payload"),
        ({"payload": {"source": "x", "severity": "critical"}}, "payload.summary"),
        ({"payload": {"summary": "x", "severity": "critical"}}, "payload.source"),
        ({"payload": {"summary": "x", "source": "x", "severity": "sev1"}}, "payload.severity"),
        ({"payload": {"summary": "x" * 1025, "source": "x", "severity": "info"}}, "summary"),
        ({"dedup_key": "k" * 256}, "dedup_key"),
        ({"links": [{"text": "no href"}]}, "links[0].href"),
        ({"images": "nope"}, "images"),
    ],
)
def test_invalid_triggers_are_400s_that_change_nothing(
    http: httpx.Client, emu: PagerDutyEmulator, change: dict[str, Any], field: str
) -> None:
    """fields_events_v2_enqueue.txt: required fields (*), enums; NOTES.md: summary max 1024,
    dedup_key max 255."""
    event = {k: v for k, v in (trigger() | change).items() if v is not None}
    response = http.post("/v2/enqueue", json=event)
    assert response.status_code == 400, response.text
    assert any(field in error for error in response.json()["errors"])
    assert emu.pages == []


def test_acknowledge_needs_a_dedup_key(http: httpx.Client, emu: PagerDutyEmulator) -> None:
    """NOTES.md: dedup_key is required for acknowledge and resolve."""
    response = http.post("/v2/enqueue", json=action("acknowledge", None))
    assert response.status_code == 400
    assert "dedup_key" in response.json()["errors"][0]


def test_not_json_and_too_large_are_400s(http: httpx.Client, emu: PagerDutyEmulator) -> None:
    """NOTES.md: max payload 512 KB; a body must be a JSON object."""
    assert http.post("/v2/enqueue", content=b"{not json").status_code == 400
    assert http.post("/v2/enqueue", json=[trigger()]).status_code == 400
    big = trigger(custom_details={"blob": "x" * (512 * 1024)})
    assert http.post("/v2/enqueue", json=big).status_code == 400
    assert emu.pages == []
    assert [c.status for c in emu.calls_to("events.enqueue")] == [400, 400, 400]
