"""REST API v2 reads over real HTTP: token auth, `GET /oncalls` at different clock times,
`GET /users/{id}`, `GET /schedules/{id}` (NOTES.md "REST v2 essentials"; fields_oncalls.txt,
fields_user.txt, fields_schedule.txt)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bot.domain.clock import ManualClock
from bot.sandbox.pagerduty import PagerDutyEmulator
from tests.sandbox.pagerduty.conftest import START


def who(body: dict[str, Any]) -> list[tuple[str, int, str | None, str | None]]:
    return [(o["user"]["id"], o["escalation_level"], o["start"], o["end"]) for o in body["oncalls"]]


@pytest.mark.parametrize(
    "authorization",
    [None, "Token token=wrong", "Bearer pd-test-token", "token=pd-test-token", "Token pd-test"],
)
def test_rest_needs_the_api_token(
    http: httpx.Client, emu: PagerDutyEmulator, authorization: str | None
) -> None:
    """`Authorization: Token token=<key>`, else 401 with the error envelope."""
    headers = {"Authorization": authorization} if authorization else {}
    for path in ("/oncalls", "/users/PALICE1", "/schedules/PSCHED1"):
        response = http.get(path, headers=headers)
        assert response.status_code == 401
        assert set(response.json()["error"]) >= {"message", "code"}
    assert all(c.status == 401 and c.token is None for c in emu.calls)


def test_oncalls_by_schedule_follow_the_clock(
    api: httpx.Client, emu: PagerDutyEmulator, clock: ManualClock
) -> None:
    """fields_oncalls.txt: schedule_ids[]; since/until default to now; whole shifts' start/end."""
    params = {"schedule_ids[]": "PSCHED1"}
    body = api.get("/oncalls", params=params).json()
    assert who(body) == [("PALICE1", 1, "2026-11-16T09:00:00Z", "2026-11-23T09:00:00Z")]
    ref = body["oncalls"][0]
    assert ref["user"]["type"] == "user_reference" and ref["user"]["summary"] == "Alice Martin"
    assert ref["schedule"]["id"] == "PSCHED1" and ref["schedule"]["type"] == "schedule_reference"
    assert ref["escalation_policy"]["id"] == "PEPOL01"
    assert body["limit"] == 25 and body["more"] is False
    assert body["total"] is None  # null unless total=true

    clock.advance(hours=8)  # 09:00: the turn passes to Bob
    assert who(api.get("/oncalls", params=params).json()) == [
        ("PBOB001", 1, "2026-11-23T09:00:00Z", "2026-11-30T09:00:00Z")
    ]
    clock.advance(days=7)
    assert who(api.get("/oncalls", params=params).json())[0][0] == "PALICE1"


def test_oncalls_by_escalation_policy_include_user_targets(
    api: httpx.Client, emu: PagerDutyEmulator
) -> None:
    """escalation_policy_ids[]: every level; a user target has no schedule, start or end;
    schedule_ids[] leaves user targets out unless it holds "null"."""
    body = api.get("/oncalls", params={"escalation_policy_ids[]": "PEPOL01"}).json()
    assert who(body) == [
        ("PALICE1", 1, "2026-11-16T09:00:00Z", "2026-11-23T09:00:00Z"),
        ("PCAROL1", 2, None, None),
    ]
    assert body["oncalls"][1]["schedule"] is None
    both = api.get("/oncalls", params=[("schedule_ids[]", "PSCHED1"), ("schedule_ids[]", "null")])
    assert [o[0] for o in who(both.json())] == ["PALICE1", "PCAROL1"]
    other = api.get("/oncalls", params={"escalation_policy_ids[]": "PNOPE"}).json()
    assert other["oncalls"] == []


def test_oncalls_in_a_window_and_earliest(api: httpx.Client, emu: PagerDutyEmulator) -> None:
    """since/until: shifts overlapping the range; earliest: first per policy, level, user."""
    params = {
        "schedule_ids[]": "PSCHED1",
        "since": "2026-11-23T00:00:00Z",
        "until": "2026-12-08T00:00:00Z",
        "total": "true",
    }
    body = api.get("/oncalls", params=params).json()
    # Alice to 23 Nov 09:00, Bob to 30 Nov, Alice to 7 Dec, Bob (from 7 Dec 09:00)
    assert [o[0] for o in who(body)] == ["PALICE1", "PBOB001", "PALICE1", "PBOB001"]
    assert body["total"] == 4
    earliest = api.get("/oncalls", params=params | {"earliest": "true"}).json()
    assert [o[0] for o in who(earliest)] == ["PALICE1", "PBOB001"]
    paged = api.get("/oncalls", params=params | {"limit": "1", "offset": "1"}).json()
    assert [o[0] for o in who(paged)] == ["PBOB001"]
    assert (paged["limit"], paged["offset"], paged["more"]) == (1, 1, True)
    by_user = api.get("/oncalls", params=params | {"user_ids[]": "PBOB001"}).json()
    assert [o[2] for o in who(by_user)] == ["2026-11-23T09:00:00Z", "2026-12-07T09:00:00Z"]


def test_oncalls_rendered_in_a_time_zone(api: httpx.Client, emu: PagerDutyEmulator) -> None:
    """time_zone: times rendered in that zone."""
    body = api.get(
        "/oncalls", params={"schedule_ids[]": "PSCHED1", "time_zone": "Asia/Shanghai"}
    ).json()
    assert who(body)[0][2:] == ("2026-11-16T17:00:00+08:00", "2026-11-23T17:00:00+08:00")


@pytest.mark.parametrize(
    "params",
    [
        {"since": "yesterday"},
        {"since": "2026-11-24T00:00:00Z", "until": "2026-11-23T00:00:00Z"},
        {"since": "2026-01-01T00:00:00Z", "until": "2026-06-01T00:00:00Z"},
        {"time_zone": "Mars/Olympus"},
        {"earliest": "maybe"},
        {"limit": "0"},
    ],
)
def test_oncalls_bad_arguments_are_400s(
    api: httpx.Client, emu: PagerDutyEmulator, params: dict[str, str]
) -> None:
    """400 with the error envelope (`errors` says what); range at most 90 days."""
    response = api.get("/oncalls", params=params)
    assert response.status_code == 400
    assert response.json()["error"]["errors"]


def test_oncalls_include_users(api: httpx.Client, emu: PagerDutyEmulator) -> None:
    """include[]=users embeds the user objects (with their email)."""
    body = api.get("/oncalls", params={"schedule_ids[]": "PSCHED1", "include[]": "users"}).json()
    user = body["oncalls"][0]["user"]
    assert (user["type"], user["email"]) == ("user", "alice@example.com")


def test_overrides_cover_the_rotation(
    api: httpx.Client, emu: PagerDutyEmulator, clock: ManualClock
) -> None:
    """Schedule entries given as (start, end, user) cover every layer, like overrides."""
    emu.add_schedule(
        "PSCHED2",
        "Primary with cover",
        layers=[
            {
                "users": ["PALICE1", "PBOB001"],
                "start": "2026-11-02T09:00:00Z",
                "rotation_turn_length_seconds": 7 * 24 * 3600,
            }
        ],
        entries=[("2026-11-23T00:00:00Z", "2026-11-23T06:00:00Z", "PCAROL1")],
    )
    emu.add_escalation_policy("PEPOL02", "Cover", [["PSCHED2"]])
    params = {"schedule_ids[]": "PSCHED2"}
    assert who(api.get("/oncalls", params=params).json()) == [
        ("PCAROL1", 1, "2026-11-23T00:00:00Z", "2026-11-23T06:00:00Z")
    ]
    clock.advance(hours=6)
    assert who(api.get("/oncalls", params=params).json())[0][:1] == ("PALICE1",)


def test_a_schedule_in_no_policy_has_no_oncalls(api: httpx.Client, emu: PagerDutyEmulator) -> None:
    """/oncalls reports on-calls of escalation policies (fields_oncalls.txt: escalation_policy
    in every entry), so a schedule no policy uses yields none."""
    emu.add_schedule("PLONELY", "Unused", entries=[(START, START.replace(day=30), "PBOB001")])
    assert api.get("/oncalls", params={"schedule_ids[]": "PLONELY"}).json()["oncalls"] == []


def test_get_user(api: httpx.Client, emu: PagerDutyEmulator) -> None:
    """fields_user.txt: `{"user": {id, type: "user", name, email, ...}}`; 404 if unknown."""
    user = api.get("/users/PBOB001").json()["user"]
    assert (user["id"], user["type"], user["name"], user["email"]) == (
        "PBOB001",
        "user",
        "Bob Durand",
        "bob@example.com",
    )
    assert user["self"].endswith("/users/PBOB001")
    assert user["contact_methods"][0]["type"] == "email_contact_method_reference"
    full = api.get("/users/PBOB001", params={"include[]": "contact_methods"}).json()["user"]
    assert full["contact_methods"][0]["address"] == "bob@example.com"
    missing = api.get("/users/PNOBODY")
    assert missing.status_code == 404 and missing.json()["error"]["message"]


def test_get_schedule(api: httpx.Client, emu: PagerDutyEmulator) -> None:
    """fields_schedule.txt: layers with rendered entries, final schedule, cut at the bounds
    unless overflow=true; 404 if unknown."""
    window = {"since": "2026-11-20T00:00:00Z", "until": "2026-11-27T00:00:00Z"}
    schedule = api.get("/schedules/PSCHED1", params=window).json()["schedule"]
    assert (schedule["type"], schedule["name"], schedule["time_zone"]) == (
        "schedule",
        "Primary",
        "UTC",
    )
    final = schedule["final_schedule"]
    assert [
        (e["user"]["id"], e["start"], e["end"]) for e in final["rendered_schedule_entries"]
    ] == [
        ("PALICE1", "2026-11-20T00:00:00Z", "2026-11-23T09:00:00Z"),
        ("PBOB001", "2026-11-23T09:00:00Z", "2026-11-27T00:00:00Z"),
    ]
    assert final["rendered_coverage_percentage"] == 100.0
    [layer] = schedule["schedule_layers"]
    assert layer["rotation_turn_length_seconds"] == 7 * 24 * 3600
    assert [u["user"]["id"] for u in layer["users"]] == ["PALICE1", "PBOB001"]
    assert schedule["escalation_policies"][0]["id"] == "PEPOL01"
    whole = api.get("/schedules/PSCHED1", params=window | {"overflow": "true"}).json()
    entries = whole["schedule"]["final_schedule"]["rendered_schedule_entries"]
    assert (entries[0]["start"], entries[-1]["end"]) == (
        "2026-11-16T09:00:00Z",
        "2026-11-30T09:00:00Z",
    )
    assert api.get("/schedules/PNOPE").status_code == 404
