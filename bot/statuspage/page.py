"""The public page as data: components with their status, public incidents with their
approved updates, planned maintenance, in one language. Plain Python, no I/O.

Rules (issue 14):
- a component's status is the worst status its open incidents give it by the plan's
  ``impact`` (type × severity), or ``under_maintenance`` during a planned window;
- an open incident with no approved update counts only with ``show_unannounced:
  components``, and then shows nowhere but in its components' status;
- an incident's name and words are those of its approved status_page drafts (the
  language asked for, else the other one), never anything internal;
- a public incident's status is that of its latest update, and ``resolved`` once the
  incident itself is no longer open (its components are then operational again).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.domain.plan_sections import Locale
from bot.domain.plan_status_page import ComponentStatus, ShowUnannounced, StatusPagePlan
from bot.domain.types import IncidentStatus
from bot.statuspage.records import ApprovedUpdate, IncidentFacts, PageRecords
from bot.statuspage.updates import UpdateStatus, status_and_text


class Impact(StrEnum):
    NONE = "none"
    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"
    MAINTENANCE = "maintenance"


IMPACT_OF = {
    ComponentStatus.OPERATIONAL: Impact.NONE,
    ComponentStatus.UNDER_MAINTENANCE: Impact.MAINTENANCE,
    ComponentStatus.DEGRADED_PERFORMANCE: Impact.MINOR,
    ComponentStatus.PARTIAL_OUTAGE: Impact.MAJOR,
    ComponentStatus.MAJOR_OUTAGE: Impact.CRITICAL,
}


class MaintenancePhase(StrEnum):
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


@dataclass(frozen=True)
class ComponentView:
    key: str
    name: str
    description: str | None
    status: ComponentStatus
    position: int


@dataclass(frozen=True)
class UpdateView:
    id: str
    status: UpdateStatus
    body: str
    at: datetime
    old_status: ComponentStatus
    new_status: ComponentStatus


@dataclass(frozen=True)
class IncidentView:
    id: str
    name: str
    status: UpdateStatus
    impact: Impact
    started_at: datetime
    created_at: datetime
    updated_at: datetime
    monitoring_at: datetime | None
    resolved_at: datetime | None
    components: tuple[str, ...]
    updates: tuple[UpdateView, ...]  # newest first, as Statuspage lists them

    @property
    def resolved(self) -> bool:
        return self.status is UpdateStatus.RESOLVED


@dataclass(frozen=True)
class MaintenanceView:
    id: str
    name: str
    body: str | None
    phase: MaintenancePhase
    starts_at: datetime
    ends_at: datetime
    components: tuple[str, ...]


@dataclass(frozen=True)
class PageView:
    locale: Locale
    title: str
    now: datetime
    updated_at: datetime
    created_at: datetime
    components: tuple[ComponentView, ...]
    incidents: tuple[IncidentView, ...]  # with approved updates in the window, newest first
    maintenance: tuple[MaintenanceView, ...]  # upcoming and running, soonest first

    @property
    def worst(self) -> ComponentStatus:
        return max((c.status for c in self.components), key=lambda s: s.rank)

    @property
    def unresolved(self) -> tuple[IncidentView, ...]:
        return tuple(i for i in self.incidents if not i.resolved)


def incident_id(number: int) -> str:
    return f"oor-{number}"


def build_page(
    plan: StatusPagePlan, records: PageRecords, locale: Locale, now: datetime
) -> PageView:
    by_incident: dict[int, list[ApprovedUpdate]] = {}
    for update in records.updates:
        if update.incident_number in records.incidents:
            by_incident.setdefault(update.incident_number, []).append(update)

    statuses = {c.key: ComponentStatus.OPERATIONAL for c in plan.components}
    # Only what the page shows may move its times: a hidden incident leaves no trace.
    stamps = [u.approved_at for u in records.updates]
    for incident in records.incidents.values():
        announced = incident.number in by_incident
        counts = announced or plan.show_unannounced is ShowUnannounced.COMPONENTS
        if incident.status is not IncidentStatus.OPEN or not counts:
            continue
        stamps.append(incident.updated_at)
        status = plan.status_for(incident.type, incident.severity)
        for key in plan.components_for(incident.type, incident.payment_method):
            statuses[key] = max(statuses[key], status, key=lambda s: s.rank)

    windows = _maintenance(plan, locale, now)
    for window in windows:
        if window.phase is MaintenancePhase.IN_PROGRESS:
            for key in window.components:
                # An outage during maintenance is still an outage: only "operational"
                # turns into "under maintenance".
                if statuses[key] is ComponentStatus.OPERATIONAL:
                    statuses[key] = ComponentStatus.UNDER_MAINTENANCE

    incidents = [
        _incident(plan, records.incidents[number], updates, locale)
        for number, updates in by_incident.items()
    ]
    incidents.sort(key=lambda i: (i.created_at, i.id), reverse=True)
    created = records.installed_at or min(stamps, default=now)
    return PageView(
        locale=locale,
        title=plan.title.get(locale),
        now=now,
        updated_at=max([*stamps, *(i.updated_at for i in incidents)], default=created),
        created_at=created,
        components=tuple(
            ComponentView(
                key=c.key,
                name=c.name.get(locale),
                description=c.description.get(locale) if c.description else None,
                status=statuses[c.key],
                position=index + 1,
            )
            for index, c in enumerate(plan.components)
        ),
        incidents=tuple(incidents),
        maintenance=tuple(w for w in windows if w.phase is not MaintenancePhase.COMPLETED),
    )


def _incident(
    plan: StatusPagePlan,
    incident: IncidentFacts,
    updates: list[ApprovedUpdate],
    locale: Locale,
) -> IncidentView:
    chosen = [u for u in updates if u.locale is locale] or [
        u for u in updates if u.locale is not locale
    ]
    hit = plan.status_for(incident.type, incident.severity)
    views: list[UpdateView] = []
    previous = ComponentStatus.OPERATIONAL
    for update in chosen:
        status, text = status_and_text(update, incident)
        new = ComponentStatus.OPERATIONAL if status is UpdateStatus.RESOLVED else hit
        views.append(
            UpdateView(
                id=f"upd-{update.draft_id}",
                status=status,
                body=text,
                at=update.approved_at,
                old_status=previous,
                new_status=new,
            )
        )
        previous = new
    latest = views[-1]
    status = latest.status
    resolved_at = latest.at if status is UpdateStatus.RESOLVED else None
    if incident.status is not IncidentStatus.OPEN and status is not UpdateStatus.RESOLVED:
        # Fixed before comms said so: the page must not keep an outage up that is over.
        status, resolved_at = UpdateStatus.RESOLVED, incident.resolved_at or latest.at
    subjects = [u.subject for u in chosen if u.subject]
    monitoring = [v.at for v in views if v.status is UpdateStatus.MONITORING]
    return IncidentView(
        id=incident_id(incident.number),
        name=subjects[-1] if subjects else _UNTITLED[locale],
        status=status,
        impact=IMPACT_OF[hit],
        started_at=incident.opened_at,
        created_at=views[0].at,
        updated_at=max(latest.at, resolved_at or latest.at),
        monitoring_at=monitoring[0] if monitoring else None,
        resolved_at=resolved_at,
        components=tuple(plan.components_for(incident.type, incident.payment_method)),
        updates=tuple(reversed(views)),
    )


_UNTITLED = {Locale.ZH_CN: "服务异常", Locale.EN: "Service disruption"}


def _maintenance(plan: StatusPagePlan, locale: Locale, now: datetime) -> list[MaintenanceView]:
    windows = []
    for window in plan.maintenance:
        if now >= window.ends_at:
            phase = MaintenancePhase.COMPLETED
        elif now >= window.starts_at:
            phase = MaintenancePhase.IN_PROGRESS
        else:
            phase = MaintenancePhase.SCHEDULED
        windows.append(
            MaintenanceView(
                id=f"mnt-{window.key}",
                name=window.title.get(locale),
                body=window.body.get(locale) if window.body else None,
                phase=phase,
                starts_at=window.starts_at,
                ends_at=window.ends_at,
                components=tuple(window.components),
            )
        )
    windows.sort(key=lambda w: w.starts_at)
    return windows


def maintenance_phases(plan: StatusPagePlan, now: datetime) -> tuple[str, ...]:
    """Which windows are running or over: part of the cache's version (time moves them)."""
    return tuple(
        f"{w.key}:{'done' if now >= w.ends_at else 'on' if now >= w.starts_at else 'ahead'}"
        for w in plan.maintenance
    )
