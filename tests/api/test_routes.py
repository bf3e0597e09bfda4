"""The read API over HTTP on SQLite and PostgreSQL: filters, detail, 404s and the token."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from bot.api import queries, routes
from bot.api.routes import api_routes
from bot.domain import lifecycle
from bot.domain.clock import ManualClock
from bot.domain.plan import Plan
from bot.domain.types import Role, Step, StepState
from bot.incidents.service import IncidentService
from bot.storage.db import Database
from tests.api import (
    T0,
    add_timeline,
    open_incident,
    seed_four,
    set_role,
    set_step,
    update_incident,
)
from tests.support import ServerThread

TOKEN = "api-token-Zq8r3xL0"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
HOUR = timedelta(hours=1)


@contextmanager
def _serve(db: Database, token: str | None = TOKEN) -> Iterator[httpx.Client]:
    """A real server (uvicorn, its own event loop) with only the API's routes."""
    server = ServerThread(Starlette(routes=api_routes(db, token))).start()
    try:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            yield client
    finally:
        server.stop()


@pytest.fixture
def client(db: Database) -> Iterator[httpx.Client]:
    with _serve(db) as c:
        yield c


def _ids(client: httpx.Client, **params: Any) -> list[str]:
    response = client.get("/api/incidents", params=params, headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    return [item["id"] for item in response.json()]


def _invalid(client: httpx.Client, query: str) -> dict[str, Any]:
    response = client.get(f"/api/incidents?{query}", headers=AUTH)
    assert response.status_code == 400, response.text
    body: dict[str, Any] = response.json()
    assert body["error"] == "invalid_query" and body["message"]
    return body


def test_list_filters_order_and_limit(client: httpx.Client, db: Database, plan: Plan) -> None:
    seed_four(db, plan)
    assert _ids(client) == ["OOR-4", "OOR-3", "OOR-2", "OOR-1"]
    assert _ids(client, status="open") == ["OOR-4", "OOR-1"]
    assert _ids(client, status="open,closed") == ["OOR-4", "OOR-3", "OOR-1"]
    assert _ids(client, type="system_crash") == ["OOR-2"]
    assert _ids(client, since="2026-11-25T05:30:00Z") == ["OOR-4", "OOR-3", "OOR-2"]
    assert _ids(client, since="2026-11-25T13:30:00+08:00") == ["OOR-4", "OOR-3", "OOR-2"]
    assert _ids(client, limit="1") == ["OOR-4"]
    assert _ids(client, status="open", type="payment_failure", since="2026-11-25T05:30:00Z") == [
        "OOR-4"
    ]
    # An empty parameter is no filter, as an unfilled form would send it.
    assert _ids(client, status="", type="", since="", limit="") == [
        "OOR-4",
        "OOR-3",
        "OOR-2",
        "OOR-1",
    ]


def test_a_plus_sent_unencoded_in_since_still_means_the_offset(
    client: httpx.Client, db: Database, plan: Plan
) -> None:
    seed_four(db, plan)
    response = client.get("/api/incidents?since=2026-11-25T13:30:00+08:00", headers=AUTH)
    assert [i["id"] for i in response.json()] == ["OOR-4", "OOR-3", "OOR-2"]


def test_list_items_are_summaries_with_step_states(
    client: httpx.Client, db: Database, plan: Plan
) -> None:
    seed_four(db, plan)
    items = client.get("/api/incidents", headers=AUTH).json()
    oldest = items[-1]
    assert oldest["id"] == "OOR-1" and oldest["number"] == 1
    assert oldest["type"] == "payment_failure" and oldest["status"] == "open"
    assert oldest["opened_at"] == "2026-11-25T04:30:00Z"
    assert oldest["steps"] == {
        "respond": "done",
        "record": "in_progress",
        "investigate": "pending",
        "resolve": "pending",
        "notify": "pending",
        "review": "pending",
    }
    resolved = items[2]
    assert resolved["status"] == "resolved" and resolved["resolved_at"] == "2026-11-25T06:30:00Z"
    assert "timeline" not in oldest and "details" not in oldest


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=pending", "status"),
        ("status=open,bogus", "status"),
        ("type=outage", "type"),
        ("since=yesterday", "since"),
        ("since=2026-11-25T05:30:00", "since"),  # naive: refused, not guessed
        ("since=2026-11-25", "since"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=many", "limit"),
        ("type=amount_error&type=system_crash", "type"),
        ("state=open", "state"),  # a typo must not silently list everything
        ("since=0001-01-01T00:00:00%2B14:00", "since"),  # year 0 in UTC: was a 503
        ("since=9999-12-31T23:59:59-14:00", "since"),
    ],
)
def test_invalid_filters_are_400_naming_the_field(
    client: httpx.Client, query: str, field: str
) -> None:
    assert _invalid(client, query)["field"] == field


def test_naive_since_says_a_time_zone_is_needed(client: httpx.Client) -> None:
    assert "time zone" in _invalid(client, "since=2026-11-25T05:30:00")["message"]


def test_detail_by_either_id_form(client: httpx.Client, db: Database, plan: Plan) -> None:
    number = open_incident(db, plan, "a", at=T0)
    set_step(
        db,
        number,
        Step.RESPOND,
        StepState.DONE,
        started_at=T0,
        started_by="U0ALICE",
        completed_at=T0 + HOUR / 4,
        completed_by="U0ALICE",
        note="on it",
    )
    set_role(db, number, Role.COMMANDER, "U0ALICE", T0)
    add_timeline(db, number, T0 + HOUR, "Alipay confirms the block")

    bodies = [
        client.get(f"/api/incidents/{ref}", headers=AUTH).json()
        for ref in (f"OOR-{number}", str(number), f"oor-{number}")
    ]
    assert bodies[0] == bodies[1] == bodies[2]
    detail = bodies[0]
    assert detail["id"] == f"OOR-{number}"
    assert detail["roles"] == {"commander": "U0ALICE"}
    assert detail["details"]["amount"] == "1234.50"  # a string, never a float
    assert detail["details"]["merchant_id"] == "M-10086"
    assert detail["origin"] == "payment-monitor" and detail["event_count"] == 1
    assert detail["steps"][0] == {
        "step": "respond",
        "number": 1,
        "label": "Rapid response",
        "state": "done",
        "started_at": "2026-11-25T04:30:00Z",
        "started_by": "U0ALICE",
        "completed_at": "2026-11-25T04:45:00Z",
        "completed_by": "U0ALICE",
        "note": "on it",
    }
    assert [s["state"] for s in detail["steps"][1:]] == ["pending"] * 5
    assert [(e["kind"], e["at"]) for e in detail["timeline"]] == [
        ("opened", "2026-11-25T04:30:00Z"),
        ("note", "2026-11-25T05:30:00Z"),
    ]
    assert detail["timeline"][1]["actor"] == "U0ALICE"


@pytest.mark.parametrize(
    "ref",
    [
        "OOR-999",
        "999",
        "0",
        "abc",
        "OOR-",
        "99999999999999999999",
        "2147483648",  # one past the id column (PostgreSQL failed the query: 503)
        "²",  # str.isdigit() says yes, int() says no: was a 500
        "OOR-²",
        "9" * 5000,  # past int()'s digit limit: was a 500
    ],
)
def test_unknown_incident_is_a_json_404(client: httpx.Client, db: Database, ref: str) -> None:
    response = client.get(f"/api/incidents/{ref}", headers=AUTH)
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


@pytest.mark.parametrize("token", [None, "", "   "])
def test_without_a_token_the_api_does_not_exist(
    db: Database, plan: Plan, token: str | None
) -> None:
    open_incident(db, plan, "a", at=T0)
    assert api_routes(db, token) == []
    with _serve(db, token) as client:
        for path in ("/api/incidents", "/api/incidents/OOR-1", "/api/incidents/1"):
            for headers in ({}, AUTH, {"Authorization": "Bearer"}):
                response = client.get(path, headers=headers)
                assert response.status_code == 404, (path, headers)
                assert "OOR-1" not in response.text


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": TOKEN},
        {"Authorization": "Bearer"},
        {"Authorization": f"Bearer {TOKEN} {TOKEN}"},
        {"Authorization": "Bearer  wrong"},
        {"X-Api-Token": TOKEN},
    ],
)
def test_a_missing_or_wrong_token_is_401(
    client: httpx.Client, db: Database, plan: Plan, headers: dict[str, str]
) -> None:
    open_incident(db, plan, "a", at=T0)
    for path in ("/api/incidents", "/api/incidents/OOR-1", "/api/incidents?limit=0"):
        response = client.get(path, headers=headers)
        assert response.status_code == 401, path
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["error"] == "unauthorized"
        assert TOKEN not in response.text
        assert "OOR-1" not in response.text


def test_the_token_scheme_is_case_insensitive(client: httpx.Client) -> None:
    response = client.get("/api/incidents", headers={"Authorization": f"bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.json() == []


def test_no_response_echoes_the_token(client: httpx.Client, db: Database, plan: Plan) -> None:
    open_incident(db, plan, "a", at=T0)
    for path in ("/api/incidents", "/api/incidents/1", "/api/incidents/9", "/api/incidents?x=1"):
        assert TOKEN not in client.get(path, headers=AUTH).text


def test_storage_runs_off_the_event_loop(
    client: httpx.Client, db: Database, plan: Plan, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_incident(db, plan, "a", at=T0)
    loop_seen: list[bool] = []

    def has_running_loop() -> bool:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return False
        return True

    def spy(real: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            loop_seen.append(has_running_loop())
            return real(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(routes, "list_incidents", spy(queries.list_incidents))
    monkeypatch.setattr(routes, "get_incident", spy(queries.get_incident))
    assert client.get("/api/incidents", headers=AUTH).status_code == 200
    assert client.get("/api/incidents/1", headers=AUTH).status_code == 200
    assert loop_seen == [False, False]


def test_stored_values_at_the_edges_do_not_fail_the_answer(
    client: httpx.Client, db: Database, plan: Plan
) -> None:
    number = open_incident(db, plan, "edge", at=T0)
    update_incident(db, number, occurred_at=datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC))
    if db.engine.dialect.name == "sqlite":  # PostgreSQL's JSON never held it
        # 1e400 was stored as Infinity on SQLite, after which the detail was a 500 for good.
        update_incident(db, number, details={"extras": {"rate": float("inf")}})
    response = client.get(f"/api/incidents/OOR-{number}", headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.json()["occurred_at"] == "9999-12-31T23:59:59Z"
    assert client.get("/api/incidents?since=0001-01-01T00:00:00Z", headers=AUTH).status_code == 200


def test_only_get(client: httpx.Client) -> None:
    assert client.post("/api/incidents", headers=AUTH).status_code == 405
    assert client.delete("/api/incidents/1", headers=AUTH).status_code == 405


def test_the_timeline_names_people_as_ids_and_data_never_markup(
    client: httpx.Client, db: Database, plan: Plan
) -> None:
    """A role given through the lifecycle reaches the API as ids plus typed parts: readers
    outside Slack get no ``<@U…>`` to strip."""
    number = open_incident(db, plan, "who", at=T0)
    service = IncidentService(db, ManualClock(T0 + HOUR), lambda: None, plan=plan)
    service.apply(
        number, "U0ALICE", lambda s, t: lifecycle.assign(s, "U0ALICE", t, Role.TECH, "U0BOB")
    )
    body = client.get(f"/api/incidents/OOR-{number}", headers=AUTH)
    assert "<@" not in body.text and "&lt;" not in body.text
    (entry,) = [e for e in body.json()["timeline"] if e["kind"] == "role"]
    assert entry["actor"] == "U0ALICE"
    assert entry["text"] == "made U0BOB the tech lead"
    assert entry["said"] == ["made ", {"person": "U0BOB"}, " the tech lead"]
    assert entry["facts"] == {"role": "tech", "person": "U0BOB", "was": None}
