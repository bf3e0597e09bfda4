"""Storage and transactions: versions, action items, publishing, the archive job, and the
read paths (``oor-bot postmortem``, ``GET /api/incidents/{id}/postmortem.md``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from sqlmodel import select
from starlette.applications import Starlette

from bot import cli
from bot.domain import lifecycle
from bot.domain.clock import ManualClock
from bot.domain.lifecycle import CommandRefused
from bot.domain.plan import Plan
from bot.domain.records import Sentence
from bot.domain.types import CauseCategory, Role, Step, StepState
from bot.incidents.job_kinds import JobKind
from bot.incidents.service import IncidentService
from bot.postmortems.model import NewActionItem, ReviewNotes
from bot.postmortems.routes import postmortem_routes
from bot.postmortems.service import UPLOAD_POSTMORTEM, PostmortemService
from bot.storage.db import Database
from bot.storage.models import (
    JobRow,
    NotificationDraftRow,
    PostmortemRow,
    StepRow,
    TimelineRow,
)
from tests.api import T0, open_incident
from tests.support import EXAMPLE_PLAN, ServerThread

TOKEN = "api-token-pm-7Hq2"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def incidents(db: Database, clock: ManualClock, plan: Plan) -> IncidentService:
    return IncidentService(db, clock, on_enqueued=lambda: None, plan=plan)


@pytest.fixture
def service(
    db: Database, plan: Plan, clock: ManualClock, incidents: IncidentService
) -> PostmortemService:
    names = {"U01ALICE": "Alice Wang"}
    return PostmortemService(
        db, plan, clock, incidents, on_enqueued=lambda: None, names=lambda ids: names
    )


def _resolved(db: Database, plan: Plan, incidents: IncidentService, clock: ManualClock) -> int:
    number = open_incident(db, plan, "pm", at=T0)
    clock.advance(minutes=3)
    incidents.apply(number, "U01ALICE", lambda s, t: lifecycle.acknowledge(s, "U01ALICE", t))
    clock.advance(minutes=40)
    incidents.apply(
        number,
        "U02BOB",
        lambda s, t: lifecycle.resolve(s, "U02BOB", t, "Rerouted", CauseCategory.NETWORK),
    )
    clock.advance(hours=2)
    return number


def test_each_compile_is_a_new_version_and_old_ones_stay(
    db: Database,
    plan: Plan,
    incidents: IncidentService,
    clock: ManualClock,
    service: PostmortemService,
) -> None:
    number = _resolved(db, plan, incidents, clock)
    first = service.submit_review(
        number,
        "U01ALICE",
        ReviewNotes(root_cause="A route flapped"),
        [NewActionItem("Pin the route", "U02BOB", date(2026, 12, 1))],
    )
    clock.advance(minutes=5)
    second = service.compile(number, "U02BOB")
    assert (first.version, second.version) == (1, 2)
    assert service.versions(number) == [1, 2]
    v1 = service.get(number, 1)
    assert v1 is not None and v1.markdown == first.markdown and "A route flapped" in v1.markdown
    assert "| Time to acknowledge (step 1) | 3m |" in first.markdown
    assert "| Time to resolve (step 4) | 43m |" in first.markdown
    assert "Alice Wang (U01ALICE)" in first.markdown
    assert "compiled post-mortem v1" in second.markdown  # the record grows
    with db.session() as session:
        uploads = session.exec(select(JobRow).where(JobRow.kind == UPLOAD_POSTMORTEM)).all()
    assert sorted(j.dedup_key for j in uploads) == [
        f"{UPLOAD_POSTMORTEM}:{number}:v1",
        f"{UPLOAD_POSTMORTEM}:{number}:v2",
    ]


def test_action_items_are_numbered_deduplicated_and_closed(
    db: Database, plan: Plan, service: PostmortemService
) -> None:
    number = open_incident(db, plan, "a", at=T0)
    item, added = service.add_action(number, "U01ALICE", NewActionItem("Add a canary", "U02BOB"))
    assert (item.number, added) == (1, True)
    again, added = service.add_action(number, "U01ALICE", NewActionItem("Add  a canary", "U02BOB"))
    assert (again.number, added) == (1, False)
    other, _ = service.add_action(number, "U01ALICE", NewActionItem("Alert sooner"))
    assert other.number == 2
    done, changed = service.complete_action(number, "U02BOB", 1)
    assert done.done and changed
    assert service.complete_action(number, "U02BOB", 1)[1] is False
    with pytest.raises(CommandRefused, match="no action item 9"):
        service.complete_action(number, "U02BOB", 9)
    assert [(n, i.number) for n, i in service.open_action_items()] == [(number, 2)]
    with db.session() as session:
        texts = [t.text for t in session.exec(select(TimelineRow)).all() if t.kind == "action"]
    assert texts == [
        "added action item 1: Add a canary (owner U02BOB)",
        "added action item 2: Alert sooner",
        "completed action item 1: Add a canary",
    ]


def test_approved_notifications_are_counted(
    db: Database, plan: Plan, service: PostmortemService
) -> None:
    number = open_incident(db, plan, "n", at=T0)
    with db.session() as session:
        for state in ("approved", "approved", "draft", "discarded"):
            session.add(
                NotificationDraftRow(
                    incident_id=number,
                    channel="sms",
                    locale="zh-CN",
                    body="…",
                    state=state,
                    drafted_by="U03CAROL",
                    drafted_at=T0,
                )
            )
    stored = service.compile(number, "U01ALICE")
    assert stored.facts["impact"]["customer_notifications_sent"] == 2
    assert "| Customer notifications sent | 2 |" in stored.markdown


def test_publish_completes_step_six_once_and_only_for_the_newest_version(
    db: Database,
    plan: Plan,
    incidents: IncidentService,
    clock: ManualClock,
    service: PostmortemService,
) -> None:
    number = _resolved(db, plan, incidents, clock)
    service.compile(number, "U01ALICE")
    service.compile(number, "U01ALICE")
    with pytest.raises(CommandRefused, match="replaced by v2"):
        service.publish(number, 1, "U01ALICE")
    assert "Step 6 is done" in service.publish(number, 2, "U02BOB")
    again = service.publish(number, 2, "U01ALICE")
    assert isinstance(again, Sentence) and again.people() == ("U02BOB",)
    assert str(again) == "Post-mortem v2 was already published by U02BOB."
    snapshot = incidents.get(number)
    assert snapshot is not None
    review = snapshot.step(Step.REVIEW)
    assert review.state is StepState.DONE and review.completed_by == "U02BOB"
    assert review.note == "post-mortem v2 published"
    published = service.get(number)
    assert published is not None and published.published_by == "U02BOB"
    incidents.apply(number, "U03CAROL", lambda s, t: lifecycle.mark_notified(s, "U03CAROL", t))
    closed = incidents.apply(number, "U01ALICE", lambda s, t: lifecycle.close(s, "U01ALICE", t))
    assert "closed" in closed.change.reply


def test_a_repeated_publish_notes_nothing_and_repairs_a_lost_step_change(
    db: Database,
    plan: Plan,
    incidents: IncidentService,
    clock: ManualClock,
    service: PostmortemService,
) -> None:
    number = _resolved(db, plan, incidents, clock)
    service.compile(number, "U01ALICE")
    assert "Step 6 is done" in service.publish(number, 1, "U02BOB")
    # The step change is lost (a crash between the two transactions): step 6 pending again.
    with db.session() as session:
        step = session.get(StepRow, (number, Step.REVIEW.value))
        assert step is not None
        step.state, step.completed_at, step.completed_by = "pending", None, None
        session.add(step)
    again = service.publish(number, 1, "U01ALICE")
    assert isinstance(again, Sentence) and again.people() == ("U02BOB",)
    snapshot = incidents.get(number)
    assert snapshot is not None and snapshot.step(Step.REVIEW).state is StepState.DONE
    assert service.publish(number, 1, "U01ALICE") == again
    with db.session() as session:
        texts = [t.text for t in session.exec(select(TimelineRow)).all()]
    assert sum("published post-mortem" in t for t in texts) == 0  # step 6 says it instead
    assert sum(t.startswith("completed the review") for t in texts) == 2  # done, then repaired
    stored = service.get(number, 1)
    assert stored is not None and stored.published_by == "U02BOB"


def test_closing_enqueues_the_archive_job_once_per_round(
    db: Database, plan: Plan, incidents: IncidentService, clock: ManualClock
) -> None:
    number = _resolved(db, plan, incidents, clock)

    def close() -> None:
        incidents.apply(number, "U01ALICE", lambda s, t: lifecycle.close(s, "U01ALICE", t, True))

    close()
    close()  # already closed: nothing changes
    incidents.apply(number, "U01ALICE", lambda s, t: lifecycle.reopen(s, "U01ALICE", t))
    incidents.apply(
        number, "U01ALICE", lambda s, t: lifecycle.resolve(s, "U01ALICE", t, "Again fixed")
    )
    close()
    with db.session() as session:
        keys = [
            j.dedup_key
            for j in session.exec(select(JobRow).where(JobRow.kind == JobKind.ARCHIVE_CHANNEL))
        ]
    assert keys == [f"archive_channel:{number}:0", f"archive_channel:{number}:1"]


# -- reading it back ---------------------------------------------------------------------------
@pytest.fixture
def two_versions(
    db: Database,
    plan: Plan,
    incidents: IncidentService,
    clock: ManualClock,
    service: PostmortemService,
) -> int:
    number = _resolved(db, plan, incidents, clock)
    service.submit_review(number, "U01ALICE", ReviewNotes(what_happened="First draft"))
    service.submit_review(number, "U01ALICE", ReviewNotes(what_happened="Second draft"))
    return number


def test_cli_prints_markdown_and_json(
    two_versions: int,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in ("SLACK_BOT_TOKEN", "OOR_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OOR_DATABASE_URL", database_url)
    monkeypatch.setenv("OOR_PLAN", str(EXAMPLE_PLAN))
    assert cli.main(["postmortem", f"OOR-{two_versions}"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"# OOR-{two_versions} post-mortem:") and "Second draft" in out
    assert cli.main(["postmortem", str(two_versions), "--format", "json", "--version", "1"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["version"] == 1 and data["versions"] == [1, 2]
    assert "First draft" in data["markdown"]
    assert data["filename"] == f"OOR-{two_versions}-postmortem-v1.md"
    assert data["facts"]["durations_seconds"]["acknowledge"] == 180
    assert data["compiled_at"].endswith("Z")
    assert cli.main(["postmortem", "OOR-999"]) == 1
    assert "no post-mortem of OOR-999" in capsys.readouterr().err
    assert cli.main(["postmortem", "nope"]) == 2
    assert cli.main(["postmortem", str(two_versions), "--version", str(10**20)]) == 2


@pytest.fixture
def api(db: Database, two_versions: int) -> Iterator[httpx.Client]:
    server = ServerThread(Starlette(routes=postmortem_routes(db, TOKEN))).start()
    try:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            yield client
    finally:
        server.stop()


def test_api_serves_markdown_with_the_token(api: httpx.Client, two_versions: int) -> None:
    path = f"/api/incidents/OOR-{two_versions}/postmortem.md"
    ok = api.get(path, headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200
    assert ok.headers["content-type"].startswith("text/markdown")
    assert ok.headers["cache-control"] == "no-store"
    assert "Second draft" in ok.text and ok.headers["x-postmortem-version"] == "2"
    v1 = api.get(f"{path}?version=1", headers={"Authorization": f"Bearer {TOKEN}"})
    assert v1.status_code == 200 and "First draft" in v1.text
    wrong = api.get(path, headers={"Authorization": "Bearer not-it"})
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
    assert api.get(path).status_code == 401
    missing = api.get(
        "/api/incidents/OOR-999/postmortem.md", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


@pytest.mark.parametrize("version", ["²", "0", "-1", str(10**20), "9" * 5000, "1.0"])
def test_a_version_that_cannot_exist_is_400_naming_it(
    api: httpx.Client, two_versions: int, version: str
) -> None:
    # "²" was a 500 (isdigit yes, int no), 10^20 a 503 (past PostgreSQL's integer).
    response = api.get(
        f"/api/incidents/OOR-{two_versions}/postmortem.md?version={version}",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert response.status_code == 400, response.text
    assert response.json()["field"] == "version"


def test_an_incident_id_that_cannot_exist_is_404(api: httpx.Client) -> None:
    for ref in ("²", "9" * 5000, "OOR-99999999999"):
        response = api.get(
            f"/api/incidents/{ref}/postmortem.md", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert response.status_code == 404, (ref, response.text)


def test_api_is_off_without_a_configured_token(db: Database, two_versions: int) -> None:
    assert postmortem_routes(db, None) == [] and postmortem_routes(db, " ") == []
    server = ServerThread(Starlette(routes=postmortem_routes(db, None))).start()
    try:
        response = httpx.get(
            f"{server.url}/api/incidents/OOR-{two_versions}/postmortem.md",
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        assert response.status_code == 404
    finally:
        server.stop()


def test_stored_rows_keep_every_version(db: Database, two_versions: int, tmp_path: Path) -> None:
    with db.session() as session:
        rows = session.exec(select(PostmortemRow).order_by(PostmortemRow.version)).all()
    assert [(r.incident_id, r.version) for r in rows] == [(two_versions, 1), (two_versions, 2)]
    assert rows[0].compiled_at + timedelta(0) <= rows[1].compiled_at


def test_the_app_serves_the_route_only_with_an_api_token(sqlite_url: str, plan: Plan) -> None:
    from bot.app import create_app
    from tests.conftest import make_settings

    def paths(**overrides: object) -> set[str]:
        settings = make_settings(sqlite_url, "http://127.0.0.1:9/api/", **overrides)
        app = create_app(settings, plan=plan, start_worker=False)
        try:
            return {getattr(r, "path", "") for r in app.asgi.routes}
        finally:
            app.db.dispose()

    route = "/api/incidents/{incident_id}/postmortem.md"
    assert route in paths(api_token=TOKEN)
    assert route not in paths()


def test_the_post_mortem_names_the_people_its_timeline_names_never_markup(
    db: Database, plan: Plan, clock: ManualClock, incidents: IncidentService
) -> None:
    """Timeline entries naming people (a role given, an action item's owner) read with
    names in the Markdown, or the id where no name is known — never ``<@U…>`` escaped
    into ``&lt;@U…>`` as before records."""
    names = {"U01ALICE": "Alice Wang", "U02BOB": "Bob Li"}
    asked: list[set[str]] = []

    def lookup(ids: object) -> dict[str, str]:
        wanted = set(ids)  # type: ignore[call-overload]
        asked.append(wanted)
        return {k: v for k, v in names.items() if k in wanted}

    service = PostmortemService(db, plan, clock, incidents, on_enqueued=lambda: None, names=lookup)
    number = open_incident(db, plan, "names", at=T0)
    incidents.apply(
        number, "U01ALICE", lambda s, t: lifecycle.assign(s, "U01ALICE", t, Role.TECH, "U02BOB")
    )
    incidents.apply(
        number, "U01ALICE", lambda s, t: lifecycle.assign(s, "U01ALICE", t, Role.COMMS, "U09NONAME")
    )
    service.add_action(number, "U01ALICE", NewActionItem("Add a canary", "U02BOB"))
    markdown = service.compile(number, "U01ALICE").markdown
    assert "Alice Wang — made Bob Li the tech lead" in markdown
    assert "made U09NONAME the comms" in markdown
    assert "added action item 1: Add a canary (owner Bob Li)" in markdown
    assert "<@" not in markdown and "&lt;@" not in markdown
    assert {"U02BOB", "U09NONAME"} <= asked[0]  # the people named are looked up too
