"""The Events API v2 adapter over real HTTP against the PagerDuty emulator. Each rule cites
tests/fixtures/pagerduty/NOTES.md ("Events API v2") or fields_events_v2_enqueue.txt."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from bot.domain.clock import ManualClock
from bot.domain.types import Severity
from bot.outbox.outcomes import Permanent, RetryAfter, Transient
from bot.pagerduty.events import PagerDutyEvents
from bot.pagerduty.outcomes import retry_after_seconds
from bot.pagerduty.pager import PagerDutyPager
from bot.paging.port import Page, PageReason, dedup_key_for, incident_key_of
from bot.sandbox.pagerduty import PagerDutyEmulator, PagerDutyServer
from tests.pagerduty.conftest import CARDS_KEY, ROUTING_KEY

LINK = "https://slack.example/archives/C0INC42"


def page(key: str = "OOR-42", **changes: object) -> Page:
    fields: dict[str, object] = {
        "incident_key": key,
        "route": "system_crash",
        "summary": f"{key} [SEV1] System crash: payments API down",
        "severity": Severity.SEV1,
        "source": "prometheus",
        "link": LINK,
        "custom_details": {"oor_type": "system_crash", "severity": "sev1"},
    }
    return Page(**(fields | changes))  # type: ignore[arg-type]


def test_a_trigger_pages_once_with_the_incident_record(
    pager: PagerDutyPager, emu: PagerDutyEmulator
) -> None:
    """Body: routing_key, event_action, dedup_key, payload summary/source/severity/
    custom_details, links[{href, text}] (fields_events_v2_enqueue.txt)."""
    pager.trigger(page(), event_id="job-1")
    [sent] = emu.pages
    assert sent.dedup_key == "oor-bot/OOR-42" == dedup_key_for("OOR-42")
    assert (sent.routing_key, sent.status, sent.severity) == (ROUTING_KEY, "triggered", "critical")
    assert sent.summary == "OOR-42 [SEV1] System crash: payments API down"
    assert sent.source == "prometheus"
    assert sent.custom_details == {
        "incident": "OOR-42",
        "oor_type": "system_crash",
        "severity": "sev1",
    }
    assert sent.links == [{"href": LINK, "text": "OOR-42 incident channel"}]


def test_a_retried_trigger_updates_the_same_page(
    pager: PagerDutyPager, emu: PagerDutyEmulator
) -> None:
    """Same dedup_key and routing_key: the open alert takes the event (NOTES "Semantics"),
    so a retry or a second replica never pages twice."""
    pager.trigger(page(), event_id="job-1")
    pager.trigger(page(), event_id="job-1")
    [sent] = emu.pages
    assert [e["outcome"] for e in sent.events] == ["created", "deduplicated"]


def test_acknowledge_and_resolve_use_the_same_dedup_key(
    pager: PagerDutyPager, emu: PagerDutyEmulator
) -> None:
    pager.trigger(page(), event_id="job-1")
    pager.acknowledge(page().ref, event_id="job-2")
    assert emu.pages[0].status == "acknowledged"
    pager.resolve(page().ref, event_id="job-3")
    assert emu.pages[0].status == "resolved"
    # After a resolve a trigger with that key opens a new alert (a reopened incident).
    pager.trigger(page(), event_id="job-4")
    assert [p.status for p in emu.pages_for("oor-bot/OOR-42")] == ["resolved", "triggered"]


def test_acknowledge_without_an_open_page_is_accepted(
    pager: PagerDutyPager, emu: PagerDutyEmulator
) -> None:
    """ack/resolve with no open alert are dropped, still 202: the job is done."""
    pager.acknowledge(page("OOR-7").ref, event_id="job-1")
    assert [e["outcome"] for e in emu.events] == ["dropped"]


def test_the_escalation_is_a_page_of_its_own(pager: PagerDutyPager, emu: PagerDutyEmulator) -> None:
    pager.trigger(page(), event_id="job-1")
    pager.acknowledge(page().ref, event_id="job-2")
    pager.trigger(page(reason=PageReason.ESCALATION), event_id="job-3")
    assert [(p.dedup_key, p.status) for p in emu.pages] == [
        ("oor-bot/OOR-42", "acknowledged"),
        ("oor-bot/OOR-42/escalation", "triggered"),
    ]
    assert incident_key_of("oor-bot/OOR-42/escalation") == "OOR-42"
    assert incident_key_of("someone-else/OOR-42") is None


def test_the_route_picks_the_routing_key(pager: PagerDutyPager, emu: PagerDutyEmulator) -> None:
    pager.trigger(page(route="payment_failure"), event_id="job-1")
    assert emu.pages[0].routing_key == CARDS_KEY


def test_a_route_without_a_routing_key_is_permanent_and_sends_nothing(
    pager: PagerDutyPager, emu: PagerDutyEmulator
) -> None:
    with pytest.raises(Permanent, match="no routing key for amount_error"):
        pager.trigger(page(route="amount_error"), event_id="job-1")
    assert emu.calls_to("events.enqueue") == []


def test_a_summary_is_cut_to_1024_characters(pager: PagerDutyPager, emu: PagerDutyEmulator) -> None:
    """payload.summary is at most 1024 characters: a longer one would be a 400."""
    pager.trigger(page(summary="x" * 5000), event_id="job-1")
    assert len(emu.pages[0].summary) == 1024


def test_429_is_retry_after_the_announced_wait(
    pager: PagerDutyPager, emu: PagerDutyEmulator
) -> None:
    """429 is to be retried (NOTES "Events API v2"); the emulator's Events 429 carries
    Retry-After (an assumption the README states: the notes name no header)."""
    emu.faults.add("events.enqueue", status=429, reset_seconds=7, times=1)
    with pytest.raises(RetryAfter) as caught:
        pager.trigger(page(), event_id="job-1")
    assert caught.value.retry_after == 7
    assert emu.pages == []
    pager.trigger(page(), event_id="job-1")
    assert len(emu.pages) == 1


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_transient_and_the_retry_pages_once(
    pager: PagerDutyPager, emu: PagerDutyEmulator, status: int
) -> None:
    emu.faults.add("events.*", status=status, times=2)
    for _ in range(2):
        with pytest.raises(Transient, match=f"HTTP {status}"):
            pager.trigger(page(), event_id="job-1")
    pager.trigger(page(), event_id="job-1")
    assert len(emu.pages) == 1


def test_a_timeout_is_transient(pager: PagerDutyPager, emu: PagerDutyEmulator) -> None:
    emu.faults.add("events.enqueue", latency=3.0, times=1)  # the client waits 2 s
    with pytest.raises(Transient, match="Timeout"):
        pager.trigger(page(), event_id="job-1")


def test_nobody_listening_is_transient(clock: ManualClock) -> None:
    events = PagerDutyEvents(lambda _: ROUTING_KEY, "http://127.0.0.1:9", clock=clock)
    with pytest.raises(Transient, match="ConnectError"):
        events.trigger(page())
    events.close()


def test_a_400_is_permanent_naming_pagerduty_s_error(
    server: PagerDutyServer, emu: PagerDutyEmulator, clock: ManualClock
) -> None:
    """400 ``{"status", "message", "errors"}``: retrying cannot help; the job is parked
    with PagerDuty's words (an unknown routing key here)."""
    events = PagerDutyEvents(lambda _: "c" * 32, server.events_url, clock=clock)
    with pytest.raises(Permanent) as caught:
        events.trigger(page())
    events.close()
    assert caught.value.error.startswith("HTTP 400: Event object is invalid; routing_key")
    assert "c" * 32 not in str(caught.value)  # the routing key is a secret


def test_retry_after_may_be_an_http_date_or_ratelimit_reset(clock: ManualClock) -> None:
    now = clock.now()
    later = (now + timedelta(seconds=30)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert retry_after_seconds(httpx.Headers({"Retry-After": later}), now) == 30
    assert retry_after_seconds(httpx.Headers({"ratelimit-reset": "12"}), now) == 12
    assert retry_after_seconds(httpx.Headers({"Retry-After": "junk"}), now) == 5
