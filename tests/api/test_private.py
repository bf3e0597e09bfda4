"""Private incidents in the read API and the CLI: left out, and a 404 / "no incident",
unless the caller holds the private token (issue 14, "Private incidents"); both databases."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette

from bot.api.routes import api_routes
from bot.domain.plan import Plan
from bot.domain.types import OorType
from bot.incidents_cli import run_incidents
from bot.storage.db import Database
from tests.api import T0, open_incident, update_incident
from tests.support import ServerThread
from tests.test_incidents_cli import SHANGHAI, _args

TOKEN = "api-token-Zq8r3xL0"
PRIVATE_TOKEN = "private-token-4Hk2pQ9w"
SECRET_TITLE = "Refunds doubled for merchant M-777"


@pytest.fixture
def two(db: Database, plan: Plan) -> None:
    open_incident(db, plan, "public", at=T0)
    number = open_incident(
        db, plan, "private", at=T0, type=OorType.AMOUNT_ERROR, title=SECRET_TITLE
    )
    update_incident(db, number, private=True)


@pytest.fixture
def client(db: Database) -> Iterator[httpx.Client]:
    server = ServerThread(Starlette(routes=api_routes(db, TOKEN, PRIVATE_TOKEN))).start()
    try:
        with httpx.Client(base_url=server.url, timeout=10) as c:
            yield c
    finally:
        server.stop()


def _get(client: httpx.Client, path: str, token: str) -> httpx.Response:
    return client.get(path, headers={"Authorization": f"Bearer {token}"})


def test_the_ordinary_token_never_sees_a_private_incident(client: httpx.Client, two: None) -> None:
    listed = _get(client, "/api/incidents", TOKEN)
    assert [i["id"] for i in listed.json()] == ["OOR-1"]
    assert SECRET_TITLE not in listed.text and "M-777" not in listed.text
    missing = _get(client, "/api/incidents/OOR-2", TOKEN)
    assert missing.status_code == 404
    assert missing.json() == {"error": "not_found", "message": "no incident OOR-2"}
    assert _get(client, "/api/incidents/OOR-1", TOKEN).status_code == 200


def test_the_private_token_sees_everything(client: httpx.Client, two: None) -> None:
    listed = _get(client, "/api/incidents", PRIVATE_TOKEN).json()
    assert {i["id"]: i["private"] for i in listed} == {"OOR-2": True, "OOR-1": False}
    detail = _get(client, "/api/incidents/OOR-2", PRIVATE_TOKEN)
    assert detail.status_code == 200 and detail.json()["title"] == SECRET_TITLE


def test_no_token_or_a_wrong_one_is_401(client: httpx.Client, two: None) -> None:
    assert client.get("/api/incidents/OOR-2").status_code == 401
    assert _get(client, "/api/incidents/OOR-2", PRIVATE_TOKEN + "x").status_code == 401


def test_without_a_private_token_configured_private_incidents_are_never_served(
    db: Database, two: None
) -> None:
    server = ServerThread(Starlette(routes=api_routes(db, TOKEN, None))).start()
    try:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            assert _get(client, "/api/incidents/OOR-2", TOKEN).status_code == 404
            assert _get(client, "/api/incidents/OOR-2", "none").status_code == 401
    finally:
        server.stop()


def _cli(db: Database, *argv: str) -> int:
    return run_incidents(_args(*argv), db, SHANGHAI, private_token=PRIVATE_TOKEN)


def test_the_cli_shows_private_incidents_only_with_the_private_token(
    db: Database, two: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _cli(db, "list", "--json") == 0
    assert [i["id"] for i in json.loads(capsys.readouterr().out)] == ["OOR-1"]
    assert _cli(db, "show", "OOR-2") == 1
    assert capsys.readouterr().err == "oor-bot: no incident OOR-2\n"
    # --include-private without the token (or a wrong one): a usage error, nothing shown.
    assert _cli(db, "show", "OOR-2", "--include-private") == 2
    monkeypatch.setenv("OOR_PRIVATE_TOKEN", "guess")
    assert _cli(db, "list", "--include-private") == 2
    out = capsys.readouterr()
    assert SECRET_TITLE not in out.out + out.err
    monkeypatch.setenv("OOR_PRIVATE_TOKEN", PRIVATE_TOKEN)
    assert _cli(db, "show", "OOR-2", "--include-private") == 0
    assert SECRET_TITLE in capsys.readouterr().out
