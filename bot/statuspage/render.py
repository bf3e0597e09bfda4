"""The page as HTML and as an Atom feed, from Jinja2 templates in a sandbox.

The environment is Jinja2's immutable sandbox with autoescaping and strict undefined
variables, like the notification templates: an operator may override these templates,
and every value given to them (incident words, plan names) is data, escaped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

from jinja2 import FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import escape

from bot.domain.clock import in_zone
from bot.domain.plan_sections import Locale, SupportContact
from bot.domain.plan_status_page import StatusPagePlan
from bot.notifications.variables import support_for
from bot.statuspage.page import IncidentView, PageView
from bot.statuspage.texts import (
    COMPONENT_LABELS,
    UPDATE_LABELS,
    WORDS,
    show_day,
    show_time,
    status_description,
    zone_label,
)

SUBDIR = "statuspage"
# The last days are always listed, quiet or not; older ones only when something happened.
ALWAYS_SHOWN_DAYS = 7


@dataclass(frozen=True)
class Day:
    label: str
    incidents: tuple[IncidentView, ...]


@dataclass(frozen=True)
class Links:
    page: str
    feed: str
    other_lang: str


class PageRenderer:
    def __init__(
        self,
        templates_dir: Path,
        plan: StatusPagePlan,
        support: SupportContact,
        tz: ZoneInfo,
        base_url: str,
    ) -> None:
        self._env = ImmutableSandboxedEnvironment(
            loader=FileSystemLoader(str(templates_dir / SUBDIR)),
            autoescape=select_autoescape(
                enabled_extensions=("html", "j2", "atom"), default_for_string=True
            ),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._plan = plan
        self._support = support
        self._tz = tz
        self._base = base_url.rstrip("/")

    def html(self, page: PageView) -> bytes:
        locale = page.locale
        words = WORDS[locale]
        history = _history(page, self._tz, self._plan.history_days)
        shown = {i.id for day in history for i in day.incidents}
        older = [i for i in page.incidents if i.resolved and i.id not in shown]
        return (
            self._env.get_template("page.html.j2")
            .render(
                page=page,
                w=words,
                description=status_description(page.worst, locale),
                component_labels=COMPONENT_LABELS[locale],
                update_labels=UPDATE_LABELS[locale],
                active=page.unresolved,
                history=history + _older_days(older, self._tz, locale),
                has_history=bool(shown or older or page.unresolved),
                history_days=self._plan.history_days,
                logo_url=self._plan.logo_url,
                support=support_for(self._support, locale),
                zone=zone_label(self._tz, locale, page.now),
                fmt=lambda value: show_time(value, self._tz, locale),
                links=self._links(locale),
            )
            .encode()
        )

    def atom(self, page: PageView) -> bytes:
        locale = page.locale
        host = urlparse(self._base).hostname or "localhost"
        labels = UPDATE_LABELS[locale]
        zone = zone_label(self._tz, locale, page.now)
        entries = [
            {
                "id": f"tag:{host},2005:Incident/{incident.id}",
                "incident": incident,
                # Statuspage's entry content: every update, newest first, as HTML.
                "html": "".join(
                    f"<p><small>{escape(show_time(u.at, self._tz, locale))} {escape(zone)}"
                    f"</small><br><strong>{escape(labels[u.status])}</strong> - "
                    f"{_lines(u.body)}</p>"
                    for u in incident.updates
                ),
            }
            for incident in page.incidents
        ]
        return (
            self._env.get_template("history.atom.j2")
            .render(
                page=page,
                lang=WORDS[locale]["lang"],
                feed_id=f"tag:{host},2005:/history",
                updated=max((i.updated_at for i in page.incidents), default=page.created_at),
                entries=entries,
                iso=lambda value: in_zone(value, self._tz).isoformat(timespec="seconds"),
                links=self._links(locale),
            )
            .encode()
        )

    def _links(self, locale: Locale) -> Links:
        other = WORDS[locale]["other_code"]
        return Links(
            page=f"{self._base}/status",
            feed=f"{self._base}/status/history.atom?lang={WORDS[locale]['lang']}",
            other_lang=f"/status?lang={other}",
        )


def _lines(text: str) -> str:
    return "<br>".join(str(escape(line)) for line in text.splitlines())


def _history(page: PageView, tz: ZoneInfo, days: int) -> list[Day]:
    """Day by day, newest first, over the plan's window: the last week always, older
    days only when an incident began on them."""
    today = in_zone(page.now, tz).date()
    by_day: dict[Any, list[IncidentView]] = {}
    for incident in page.incidents:
        if incident.resolved:
            by_day.setdefault(in_zone(incident.created_at, tz).date(), []).append(incident)
    shown: list[Day] = []
    for back in range(days):
        day = today - timedelta(days=back)
        if back < ALWAYS_SHOWN_DAYS or day in by_day:
            noon = datetime(day.year, day.month, day.day, 12, tzinfo=tz)
            shown.append(Day(show_day(noon, tz, page.locale), tuple(by_day.get(day, []))))
    return shown


def _older_days(incidents: list[IncidentView], tz: ZoneInfo, locale: Locale) -> list[Day]:
    """Incidents begun before the window that are still listed (updated within it)."""
    days: dict[str, list[IncidentView]] = {}
    for incident in incidents:
        days.setdefault(show_day(incident.created_at, tz, locale), []).append(incident)
    return [Day(label, tuple(found)) for label, found in days.items()]
