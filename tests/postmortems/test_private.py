"""A private incident's post-mortem in the read API: only for the private token (issue 14,
"Private incidents": the read API returns it only with a token allowed private incidents)."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from bot.domain.plan import Plan
from bot.postmortems.model import NewActionItem
from bot.postmortems.routes import postmortem_routes
from bot.postmortems.service import PostmortemService
from bot.storage.db import Database
from tests.api import T0, open_incident, update_incident
from tests.postmortems.test_service import (  # noqa: F401  (fixtures)
    clock,
    incidents,
    service,
    two_versions,
)
from tests.support import ServerThread

TOKEN = "api-token-Zq8r3xL0"
PRIVATE_TOKEN = "private-token-4Hk2pQ9w"
SECRET_TITLE = "Refunds doubled for merchant M-777"


def test_a_private_incidents_postmortem_needs_the_private_token(
    db: Database,
    two_versions: int,  # noqa: F811
) -> None:
    update_incident(db, two_versions, private=True)
    server = ServerThread(Starlette(routes=postmortem_routes(db, TOKEN, PRIVATE_TOKEN))).start()
    path = f"/api/incidents/OOR-{two_versions}/postmortem.md"
    try:
        with httpx.Client(base_url=server.url, timeout=10) as api:
            hidden = api.get(path, headers={"Authorization": f"Bearer {TOKEN}"})
            assert hidden.status_code == 404 and "Second draft" not in hidden.text
            shown = api.get(path, headers={"Authorization": f"Bearer {PRIVATE_TOKEN}"})
            assert shown.status_code == 200 and "Second draft" in shown.text
    finally:
        server.stop()


def test_open_action_items_read_elsewhere_leave_out_private_incidents(
    db: Database,
    plan: Plan,
    service: PostmortemService,  # noqa: F811
) -> None:
    public = open_incident(db, plan, "public", at=T0)
    secret = open_incident(db, plan, "secret", at=T0, title=SECRET_TITLE)
    update_incident(db, secret, private=True)
    service.add_action(public, "U01ALICE", NewActionItem("Add a canary"))
    service.add_action(secret, "U01ALICE", NewActionItem("Freeze merchant M-777 settlement"))
    assert [n for n, _ in service.open_action_items()] == [public]
    # In its own room the private incident's items are listed as ever.
    assert [i.text for i in service.action_items(secret)] == ["Freeze merchant M-777 settlement"]
