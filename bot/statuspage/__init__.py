"""The public status page (issue 14): ``GET /status`` for merchants and users, the same
content as Statuspage v2 JSON and an Atom feed, from the plan's ``status_page`` section,
the open incidents and the approved ``status_page`` notifications.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.resources import TEMPLATES_DIR
from bot.statuspage.routes import status_routes
from bot.statuspage.service import StatusPage

if TYPE_CHECKING:
    from bot.wiring import Wiring


def install(wiring: Wiring) -> None:
    """Serve the page when the plan has a ``status_page`` section; nothing otherwise."""
    section = wiring.plan.status_page
    if section is None:
        return
    settings = wiring.settings
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    host = f"[{host}]" if ":" in host else host
    page = StatusPage(
        wiring.db,
        wiring.plan,
        section,
        wiring.clock,
        TEMPLATES_DIR,
        base_url=f"http://{host}:{settings.port}",
    )
    wiring.routes.extend(status_routes(page.document, section.default_locale, section.logo_url))
    wiring.exposed["status_page"] = page


__all__ = ["StatusPage", "install"]
