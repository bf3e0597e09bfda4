"""The page in the Atlassian Statuspage public v2 JSON shape, which status widgets,
monitors and aggregators already read (fields: shared/reference/statuspage/NOTES.md).

Times are ISO 8601 with milliseconds in the plan's time zone (``page.time_zone``).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.clock import in_zone
from bot.domain.plan_status_page import ComponentStatus
from bot.statuspage.page import (
    ComponentView,
    IncidentView,
    MaintenanceView,
    PageView,
)
from bot.statuspage.texts import indicator, status_description

# Paths under /status/api/v2/ -> the document each serves.
JSON_DOCUMENTS = (
    "summary.json",
    "status.json",
    "components.json",
    "incidents.json",
    "incidents/unresolved.json",
    "scheduled-maintenances.json",
    "scheduled-maintenances/upcoming.json",
    "scheduled-maintenances/active.json",
)
LATEST_INCIDENTS = 50  # incidents.json lists the latest 50, like Statuspage


class JsonDocuments:
    def __init__(self, page: PageView, tz: ZoneInfo, base_url: str, page_id: str) -> None:
        self._page = page
        self._tz = tz
        self._base = base_url
        self._page_id = page_id

    def render(self, name: str) -> bytes:
        document = self.document(name)
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()

    def document(self, name: str) -> dict[str, Any]:
        page = self._page
        head: dict[str, Any] = {"page": self._page_info()}
        if name == "status.json":
            return head | {"status": self._status()}
        if name == "components.json":
            return head | {"components": self._components()}
        if name == "incidents.json":
            return head | {"incidents": self._incidents(page.incidents[:LATEST_INCIDENTS])}
        if name == "incidents/unresolved.json":
            return head | {"incidents": self._incidents(page.unresolved)}
        if name in ("scheduled-maintenances.json", "scheduled-maintenances/upcoming.json"):
            wanted = (
                page.maintenance
                if name.startswith("scheduled-maintenances.")
                else [m for m in page.maintenance if m.phase == "scheduled"]
            )
            return head | {"scheduled_maintenances": [self._maintenance(m) for m in wanted]}
        if name == "scheduled-maintenances/active.json":
            active = [m for m in page.maintenance if m.phase == "in_progress"]
            return head | {"scheduled_maintenances": [self._maintenance(m) for m in active]}
        if name == "summary.json":
            return head | {
                "components": self._components(),
                "incidents": self._incidents(page.unresolved),
                "scheduled_maintenances": [self._maintenance(m) for m in page.maintenance],
                "status": self._status(),
            }
        raise KeyError(name)

    # -- parts ------------------------------------------------------------------------------
    def _time(self, value: datetime) -> str:
        local = in_zone(value, self._tz)
        text = local.isoformat(timespec="milliseconds")
        return text.replace("+00:00", "Z") if self._tz.key in ("UTC", "Etc/UTC") else text

    def _page_info(self) -> dict[str, Any]:
        return {
            "id": self._page_id,
            "name": self._page.title,
            "url": self._base,
            "time_zone": self._tz.key,
            "updated_at": self._time(self._page.updated_at),
        }

    def _status(self) -> dict[str, Any]:
        worst = self._page.worst
        return {
            "indicator": indicator(worst),
            "description": status_description(worst, self._page.locale),
        }

    def _component(self, component: ComponentView) -> dict[str, Any]:
        return {
            "id": component.key,
            "name": component.name,
            "status": component.status.value,
            "created_at": self._time(self._page.created_at),
            "updated_at": self._time(self._page.updated_at),
            "position": component.position,
            "description": component.description,
            "showcase": False,
            "start_date": None,
            "group_id": None,
            "page_id": self._page_id,
            "group": False,
            "only_show_if_degraded": False,
        }

    def _components(self) -> list[dict[str, Any]]:
        return [self._component(c) for c in self._page.components]

    def _incidents(self, incidents: tuple[IncidentView, ...]) -> list[dict[str, Any]]:
        return [self._incident(i) for i in incidents]

    def _incident(self, incident: IncidentView) -> dict[str, Any]:
        by_key = {c.key: c for c in self._page.components}
        affected = [by_key[k] for k in incident.components if k in by_key]
        optional = self._time
        return {
            "id": incident.id,
            "name": incident.name,
            "status": incident.status.value,
            "created_at": self._time(incident.created_at),
            "updated_at": self._time(incident.updated_at),
            "monitoring_at": optional(incident.monitoring_at) if incident.monitoring_at else None,
            "resolved_at": optional(incident.resolved_at) if incident.resolved_at else None,
            "impact": incident.impact.value,
            "shortlink": f"{self._base}/status#{incident.id}",
            "started_at": self._time(incident.started_at),
            "page_id": self._page_id,
            "incident_updates": [
                {
                    "id": update.id,
                    "status": update.status.value,
                    "body": update.body,
                    "incident_id": incident.id,
                    "created_at": self._time(update.at),
                    "updated_at": self._time(update.at),
                    "display_at": self._time(update.at),
                    "affected_components": [
                        {
                            "code": component.key,
                            "name": component.name,
                            "old_status": update.old_status.value,
                            "new_status": update.new_status.value,
                        }
                        for component in affected
                    ],
                    "deliver_notifications": True,
                    "custom_tweet": None,
                    "tweet_id": None,
                }
                for update in incident.updates
            ],
            "components": [self._component(c) for c in affected],
            "reminder_intervals": None,
        }

    def _maintenance(self, window: MaintenanceView) -> dict[str, Any]:
        by_key = {c.key: c for c in self._page.components}
        affected = [by_key[k] for k in window.components if k in by_key]
        status = window.phase.value
        start = self._time(window.starts_at)
        return {
            "id": window.id,
            "name": window.name,
            "status": status,
            "created_at": self._time(self._page.created_at),
            "updated_at": self._time(self._page.updated_at),
            "monitoring_at": None,
            "resolved_at": None,
            "impact": "maintenance",
            "shortlink": f"{self._base}/status#{window.id}",
            "started_at": start,
            "page_id": self._page_id,
            "incident_updates": [
                {
                    "id": f"{window.id}-announcement",
                    "status": "scheduled",
                    "body": window.body or window.name,
                    "incident_id": window.id,
                    "created_at": self._time(self._page.created_at),
                    "updated_at": self._time(self._page.created_at),
                    "display_at": self._time(self._page.created_at),
                    "affected_components": [
                        {
                            "code": c.key,
                            "name": c.name,
                            "old_status": ComponentStatus.OPERATIONAL.value,
                            "new_status": ComponentStatus.UNDER_MAINTENANCE.value,
                        }
                        for c in affected
                    ],
                    "deliver_notifications": True,
                    "custom_tweet": None,
                    "tweet_id": None,
                }
            ],
            "components": [self._component(c) for c in affected],
            "scheduled_for": start,
            "scheduled_until": self._time(window.ends_at),
            "reminder_intervals": None,
        }


def page_id_for(title: str) -> str:
    """A stable 12-character page id (Statuspage ids look alike), from the plan's title."""
    return hashlib.sha256(title.encode()).hexdigest()[:12]
