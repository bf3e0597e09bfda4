"""Who is on call, over real HTTP against the PagerDuty emulator. Each rule cites
tests/fixtures/pagerduty/NOTES.md ("REST v2 essentials") or fields_oncalls.txt."""

from __future__ import annotations

import pytest

from bot.domain.clock import ManualClock
from bot.domain.plan_paging import parse_on_call
from bot.outbox.outcomes import Permanent, RetryAfter, Transient
from bot.pagerduty.events import PagerDutyEvents
from bot.pagerduty.pager import PagerDutyPager
from bot.pagerduty.rest import PagerDutyRest
from bot.sandbox.pagerduty import PagerDutyEmulator, PagerDutyServer
from tests.pagerduty.conftest import ROUTES, TOKEN

SCHEDULE = parse_on_call("pagerduty:schedule/PSCHED1")
POLICY = parse_on_call("pagerduty:escalation_policy/PEPOL01")
POLICY_2 = parse_on_call("pagerduty:escalation_policy/PEPOL01?level=2")


def who(people: list) -> list[tuple[str, str, int]]:  # type: ignore[type-arg]
    return [(p.email, str(p.target), p.level) for p in people]


def test_a_schedule_gives_whoever_it_has_on_call_now(
    pager: PagerDutyPager, emu: PagerDutyEmulator, clock: ManualClock
) -> None:
    """GET /oncalls with schedule_ids[] (since/until default to now); the rotation turns
    Mondays 09:00 UTC: Alice this week, Bob after."""
    [alice] = pager.on_call([SCHEDULE])
    assert (alice.email, alice.name, alice.level) == ("alice@example.com", "Alice Martin", 1)
    clock.advance(hours=9)
    assert who(pager.on_call([SCHEDULE])) == [("bob@example.com", str(SCHEDULE), 1)]
    [call] = emu.calls_to("rest.oncalls")[:1]
    assert ("schedule_ids[]", "PSCHED1") in call.query
    assert ("include[]", "users") in call.query  # emails come with the answer
    assert emu.calls_to("rest.users") == []


def test_a_policy_counts_level_1_unless_told(pager: PagerDutyPager) -> None:
    assert who(pager.on_call([POLICY])) == [("alice@example.com", str(POLICY), 1)]
    assert who(pager.on_call([POLICY_2])) == [("carol@example.com", str(POLICY_2), 2)]
    assert who(pager.on_call([SCHEDULE, POLICY_2])) == [
        ("alice@example.com", str(SCHEDULE), 1),
        ("carol@example.com", str(POLICY_2), 2),
    ]


def test_the_token_header_is_sent(pager: PagerDutyPager, emu: PagerDutyEmulator) -> None:
    """``Authorization: Token token=<key>``; a wrong token is a 401, which is permanent."""
    pager.on_call([POLICY])
    assert emu.calls_to("rest.oncalls")[0].token == TOKEN


def test_a_wrong_token_is_permanent(server: PagerDutyServer, emu: PagerDutyEmulator) -> None:
    rest = PagerDutyRest("not-the-token", server.api_url)
    with pytest.raises(Permanent, match="HTTP 401"):
        rest.on_call([POLICY])
    rest.close()


def test_pages_of_on_calls_are_all_read(pager: PagerDutyPager, emu: PagerDutyEmulator) -> None:
    """Lists are paginated by offset/limit with ``more``: 130 people on one level take two
    pages of 100."""
    ids = []
    for n in range(130):
        user = emu.add_user(f"PU{n:05d}", f"Person {n}", f"p{n}@example.com")
        ids.append(user.id)
    emu.add_escalation_policy("PBIG001", "Everyone", [ids])
    people = pager.on_call([parse_on_call("pagerduty:escalation_policy/PBIG001")])
    assert len(people) == 130
    assert {p.email for p in people} == {f"p{n}@example.com" for n in range(130)}
    offsets = [dict(c.query)["offset"] for c in emu.calls_to("rest.oncalls")]
    assert offsets == ["0", "100"]


def test_429_waits_for_ratelimit_reset(pager: PagerDutyPager, emu: PagerDutyEmulator) -> None:
    """REST 429 carries ``ratelimit-reset`` (seconds)."""
    emu.faults.add("rest.oncalls", status=429, reset_seconds=12, times=1)
    with pytest.raises(RetryAfter) as caught:
        pager.on_call([POLICY])
    assert caught.value.retry_after == 12
    assert len(pager.on_call([POLICY])) == 1


def test_5xx_is_transient(pager: PagerDutyPager, emu: PagerDutyEmulator) -> None:
    emu.faults.add("rest.*", status=503, times=1)
    with pytest.raises(Transient):
        pager.on_call([POLICY])


def test_without_a_token_on_calls_are_refused(server: PagerDutyServer) -> None:
    pager = PagerDutyPager(PagerDutyEvents(ROUTES.get, server.events_url), None)
    assert pager.on_call([]) == []
    with pytest.raises(Permanent, match="OOR_PAGERDUTY_API_TOKEN"):
        pager.on_call([POLICY])
    pager.close()
