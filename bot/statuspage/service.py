"""The status page feature: records -> page -> documents, behind the versioned cache."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.domain.clock import Clock, in_zone
from bot.domain.plan import Plan
from bot.domain.plan_sections import Locale
from bot.domain.plan_status_page import StatusPagePlan
from bot.statuspage.cache import Document, VersionedCache, etag_of
from bot.statuspage.page import PageView, build_page, maintenance_phases
from bot.statuspage.records import PageRecords, load_records, version_key
from bot.statuspage.render import PageRenderer
from bot.statuspage.statuspage_json import JsonDocuments, page_id_for
from bot.storage.db import Database

HTML = "text/html; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"
JSON = "application/json; charset=utf-8"


@dataclass(frozen=True)
class Snapshot:
    records: PageRecords
    now: datetime


class StatusPage:
    def __init__(
        self,
        db: Database,
        plan: Plan,
        section: StatusPagePlan,
        clock: Clock,
        templates_dir: Path,
        base_url: str,
        cache: VersionedCache | None = None,
    ) -> None:
        self._db = db
        self._section = section
        self._clock = clock
        self._tz: ZoneInfo = plan.tz
        self._base = (section.url or base_url).rstrip("/")
        self._page_id = page_id_for(section.title.get(Locale.EN))
        support = section.support or plan.notifications.support
        self._renderer = PageRenderer(templates_dir, section, support, self._tz, self._base)
        self.cache = cache or VersionedCache(self._version, self._snapshot)

    @property
    def default_locale(self) -> Locale:
        return self._section.default_locale

    async def document(self, name: str, locale: Locale) -> Document:
        return await self.cache.get((name, locale), lambda s: self._render(s, name, locale))

    def page(self, locale: Locale, now: datetime | None = None) -> PageView:
        """Built now, uncached (the CLI and tests)."""
        now = now or self._clock.now()
        records = load_records(self._db, now, self._section.history_days)
        return build_page(self._section, records, locale, now)

    # -- the cache's two callbacks (run in a worker thread) ---------------------------------
    def _version(self) -> Hashable:
        now = self._clock.now()
        return (
            version_key(self._db),
            in_zone(now, self._tz).date(),  # the history's days move at midnight
            maintenance_phases(self._section, now),
        )

    def _snapshot(self) -> Snapshot:
        now = self._clock.now()
        return Snapshot(load_records(self._db, now, self._section.history_days), now)

    def _render(self, snapshot: Snapshot, name: str, locale: Locale) -> Document:
        page = build_page(self._section, snapshot.records, locale, snapshot.now)
        if name == "page.html":
            body, media = self._renderer.html(page), HTML
        elif name == "history.atom":
            body, media = self._renderer.atom(page), ATOM
        else:
            body = JsonDocuments(page, self._tz, self._base, self._page_id).render(name)
            media = JSON
        return Document(body, etag_of(body), media)
