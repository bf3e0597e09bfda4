"""A bot with the example plan's status page, on the test-only chat recorder and a
manual clock, driven through its real webhook, incident service and drafts service."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.testclient import TestClient

from bot.app import OorApp, create_app
from bot.digest.schedule import installed_at
from bot.domain import lifecycle
from bot.domain.clock import ManualClock
from bot.domain.incident import IncidentSnapshot
from bot.domain.lifecycle import Change
from bot.domain.plan import Plan
from bot.domain.plan_sections import Locale, NotifyChannel
from bot.notifications.model import Draft
from bot.statuspage.service import StatusPage
from bot.storage.migrate import upgrade_url
from tests.chat_recorder import ChatRecorder
from tests.conftest import make_settings
from tests.support import WEBHOOK_TOKEN, native_event

START = datetime(2026, 11, 20, 4, 30, tzinfo=UTC)  # 12:30 in Shanghai
NOWHERE = "http://127.0.0.1:9/api/"

# What an incident knows that customers must never see (native_event's internals).
INTERNAL_TITLE = "Alipay channel blocked"
INTERNAL_DESCRIPTION = "Payments on the Alipay channel fail with CHANNEL_BLOCKED"
INTERNALS = (
    INTERNAL_TITLE,
    INTERNAL_DESCRIPTION,
    "M-10086",
    "1234.50",
    "1,234.50",
    "CHANNEL_BLOCKED",
)


class StatusBot:
    def __init__(self, app: OorApp, clock: ManualClock) -> None:
        self.app = app
        self.clock = clock
        self.client = TestClient(app.asgi)
        assert app.wiring is not None
        self.wiring = app.wiring
        self.drafts = app.wiring.exposed["notifications"]

    @property
    def page(self) -> StatusPage:
        page: StatusPage = self.wiring.exposed["status_page"]
        return page

    # -- incidents -----------------------------------------------------------------------
    def fire(self, **overrides: Any) -> int:
        event = native_event(occurred_at=self.clock.now().isoformat(), **overrides)
        answer = self.client.post(
            "/webhooks/oor",
            content=json.dumps(event).encode(),
            headers={
                "content-type": "application/json",
                "authorization": f"Bearer {WEBHOOK_TOKEN}",
            },
        )
        assert answer.status_code == 202, answer.text
        self.app.worker.run_due_jobs()
        number: int = int(answer.json()["incident_id"].removeprefix("OOR-"))
        return number

    def incident(self, number: int) -> IncidentSnapshot:
        found = self.app.incidents.get(number)
        assert found is not None
        return found

    def apply(
        self, number: int, actor: str, command: Callable[[IncidentSnapshot, str, datetime], Change]
    ) -> None:
        self.app.incidents.apply(number, actor, lambda s, t: command(s, actor, t))
        self.app.worker.run_due_jobs()

    def resolve(self, number: int) -> None:
        self.apply(number, "U01ALICE", lifecycle.acknowledge)
        self.apply(number, "U02BOB", lambda s, a, t: lifecycle.add_finding(s, a, t, "key"))
        self.apply(number, "U02BOB", lifecycle.finish_investigation)
        self.apply(number, "U02BOB", lambda s, a, t: lifecycle.resolve(s, a, t, "rotated"))

    # -- status page drafts ----------------------------------------------------------------
    def draft(self, number: int, locale: Locale = Locale.EN) -> Draft:
        created = self.drafts.create(
            self.incident(number), "U03CAROL", [(NotifyChannel.STATUS_PAGE, locale)]
        )
        [draft] = created.created
        return draft

    def approve(self, draft: Draft) -> None:
        # The example plan wants two people: carol drafted, bob approves.
        assert self.drafts.approve(draft.id, "U02BOB").changed
        self.app.worker.run_due_jobs()

    def publish(self, number: int, locale: Locale = Locale.EN, body: str | None = None) -> Draft:
        draft = self.draft(number, locale)
        if body is not None:
            assert self.drafts.edit(draft.id, "U03CAROL", draft.subject, body).changed
            draft = self.drafts.get(draft.id)
        self.approve(draft)
        return draft

    # -- reading the page as a customer would ----------------------------------------------
    def get(self, path: str, **headers: str) -> Any:
        # A second passes between reads: the cache checks the version again.
        self.page.cache.invalidate()
        return self.client.get(path, headers=headers)

    def json(self, name: str, lang: str = "en") -> Any:
        answer = self.get(f"/status/api/v2/{name}?lang={lang}")
        assert answer.status_code == 200, answer.text
        return answer.json()

    def component(self, key: str) -> str:
        [found] = [c for c in self.json("components.json")["components"] if c["id"] == key]
        status: str = found["status"]
        return status


@contextmanager
def status_bot(database_url: str, plan: Plan, **plan_updates: Any) -> Iterator[StatusBot]:
    upgrade_url(database_url)
    clock = ManualClock(START)
    if plan_updates:
        assert plan.status_page is not None
        section = plan.status_page.model_copy(update=plan_updates)
        plan = plan.model_copy(update={"status_page": section})
    app = create_app(
        make_settings(database_url, NOWHERE),
        plan=plan,
        clock=clock,
        start_worker=False,
        platform=ChatRecorder(
            emails={"bob@example.com": "U02BOB", "carol@example.com": "U03CAROL"},
            groups={"payments-oncall": ["U05ERIN", "BOT"]},
        ),
    )
    # As the first start does (bot.digest.schedule): the page's components date from it.
    installed_at(app.db, START - timedelta(days=30))
    try:
        yield StatusBot(app, clock)
    finally:
        app.db.dispose()
