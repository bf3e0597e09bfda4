"""A private incident's post-mortem in the read API: only for the private token (issue 14,
"Private incidents": the read API returns it only with a token allowed private incidents)."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from bot.postmortems.routes import postmortem_routes
from bot.storage.db import Database
from tests.api import update_incident
from tests.postmortems.test_service import (  # noqa: F401  (fixtures)
    clock,
    incidents,
    service,
    two_versions,
)
from tests.support import ServerThread

TOKEN = "api-token-Zq8r3xL0"
PRIVATE_TOKEN = "private-token-4Hk2pQ9w"


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
