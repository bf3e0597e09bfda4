"""The outbox jobs of step 6 when things go wrong: a retried upload never shares twice,
and the archive waits for the channel's last posts."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.domain import lifecycle
from bot.domain.clock import ManualClock
from bot.domain.plan import Plan
from bot.incidents.archive import RoomArchiver
from bot.incidents.job_kinds import JobKind
from bot.incidents.service import IncidentService
from bot.outbox.outcomes import NotReady
from bot.postmortems import versions_store
from bot.postmortems.model import SUMMARY_MESSAGE
from bot.postmortems.service import PostmortemService
from bot.postmortems.upload import PostmortemJobs
from bot.postmortems.views import summary_renderer
from bot.slack.gateway import SlackCallError
from bot.slack.platform import SlackPlatform, SlackRenderers
from bot.storage.db import Database
from bot.storage.jobs import ClaimedJob
from bot.storage.models import JobRow
from tests.api import T0, open_incident, update_incident

TZ = ZoneInfo("Asia/Shanghai")


class FakeGateway:
    def __init__(self, history: list[dict[str, Any]] | None = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.history = history or []
        self.errors: dict[str, str] = {}

    def call(self, method: str, **args: Any) -> dict[str, Any]:
        self.calls.append((method, args))
        if method in self.errors:
            raise SlackCallError(method, self.errors[method], {})
        if method == "conversations.history":
            return {"messages": self.history}
        if method == "chat.postMessage":
            return {"ts": "1700000000.000100"}
        return {}

    def upload_file(self, **args: Any) -> dict[str, Any]:
        self.calls.append(("upload_file", args))
        return {"files": [{"id": "F0NEW"}]}

    def methods(self) -> list[str]:
        return [method for method, _ in self.calls]


def platform(gateway: FakeGateway) -> SlackPlatform:
    renderers = SlackRenderers()
    renderers.register(SUMMARY_MESSAGE, summary_renderer(TZ))
    return SlackPlatform(gateway, None, renderers)  # type: ignore[arg-type]


@pytest.fixture
def compiled(db: Database, plan: Plan) -> tuple[int, int]:
    clock = ManualClock(T0)
    incidents = IncidentService(db, clock, on_enqueued=lambda: None, plan=plan)
    service = PostmortemService(db, plan, clock, incidents, on_enqueued=lambda: None)
    number = open_incident(db, plan, "u", at=T0)
    update_incident(db, number, channel_id="C0INC")
    return number, service.compile(number, "U01ALICE").id


def _job(kind: str, attempts: int, incident: int, payload: dict[str, Any]) -> ClaimedJob:
    return ClaimedJob(
        id=10_000, kind=kind, incident_id=incident, payload=payload, attempts=attempts
    )


def test_first_attempt_uploads_then_posts_the_summary(
    db: Database, compiled: tuple[int, int]
) -> None:
    number, pm_id = compiled
    gateway = FakeGateway()
    jobs = PostmortemJobs(db, platform(gateway))
    jobs.upload(_job("upload_postmortem", 1, number, {"postmortem_id": pm_id}))
    assert gateway.methods() == ["upload_file", "chat.postMessage"]
    upload = gateway.calls[0][1]
    assert (
        upload["filename"] == f"OOR-{number}-postmortem-v1.md" and upload["channel_id"] == "C0INC"
    )
    assert upload["content"].startswith(f"# OOR-{number} post-mortem")


def test_a_retry_finds_the_file_an_interrupted_attempt_shared(
    db: Database, compiled: tuple[int, int]
) -> None:
    number, pm_id = compiled
    shared = {"ts": "1.1", "files": [{"id": "F0OLD", "name": f"OOR-{number}-postmortem-v1.md"}]}
    gateway = FakeGateway(history=[shared])
    jobs = PostmortemJobs(db, platform(gateway))
    jobs.upload(_job("upload_postmortem", 2, number, {"postmortem_id": pm_id}))
    assert "upload_file" not in gateway.methods()
    with db.session() as session:
        stored = versions_store.postmortem_by_id(session, pm_id)
    assert stored is not None and stored.file_id == "F0OLD"


def test_upload_waits_for_the_channel(db: Database, compiled: tuple[int, int]) -> None:
    number, pm_id = compiled
    update_incident(db, number, channel_id=None)
    jobs = PostmortemJobs(db, platform(FakeGateway()))
    with pytest.raises(NotReady):
        jobs.upload(_job("upload_postmortem", 1, number, {"postmortem_id": pm_id}))


def test_the_cores_archive_job_only_when_planned_closed_and_last(db: Database, plan: Plan) -> None:
    clock = ManualClock(T0)
    incidents = IncidentService(db, clock, on_enqueued=lambda: None, plan=plan)
    number = open_incident(db, plan, "a", at=T0)
    update_incident(db, number, channel_id="C0INC")
    job = _job(JobKind.ARCHIVE_CHANNEL, 1, number, {})

    gateway = FakeGateway()
    RoomArchiver(db, platform(gateway), archive_on_close=False).archive(job)
    assert gateway.calls == []  # the plan keeps channels

    archiving = RoomArchiver(db, platform(gateway), archive_on_close=True)
    archiving.archive(job)
    assert gateway.calls == []  # not closed (e.g. reopened meanwhile)

    incidents.apply(number, "U01ALICE", lambda s, t: lifecycle.resolve(s, "U01ALICE", t, "fixed"))
    incidents.apply(number, "U01ALICE", lambda s, t: lifecycle.close(s, "U01ALICE", t, True))
    with pytest.raises(NotReady, match="still to post"):
        archiving.archive(job)  # the channel creation, notices and board refresh come first
    with db.session() as session:
        for row in session.exec(select(JobRow)).all():
            row.state = "done"
            session.add(row)
    archiving.archive(job)
    assert gateway.calls == [("conversations.archive", {"channel": "C0INC"})]
    gateway.errors["conversations.archive"] = "already_archived"
    archiving.archive(job)  # a retry after Slack archived it: done, no error
