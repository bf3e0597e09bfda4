"""Alert storms are summarised: one channel line per incident and window, each event told
exactly once across retries, crashes and concurrent jobs. SQLite and PostgreSQL, against
the emulator; time is a ManualClock, the outbox runs in the test's thread."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlmodel import col, select

from bot.domain.clock import ManualClock
from bot.domain.events import EventStatus, OorEvent, PaymentDetails
from bot.domain.plan import Plan
from bot.domain.types import OorType, Severity
from bot.incidents.event_summary import EventSummaries
from bot.incidents.ingest import IngestService
from bot.incidents.job_kinds import JobKind
from bot.incidents.room_setup import ChannelSetup
from bot.metrics import Metrics
from bot.sandbox.emulator import Emulator, EmulatorServer
from bot.sandbox.workspace import seed_demo_workspace
from bot.slack.directory import Directory
from bot.slack.gateway import SlackGateway, build_web_client
from bot.slack.platform import SlackPlatform, SlackRenderers
from bot.slack.renderers import register_core_renderers
from bot.storage import jobs
from bot.storage.db import Database
from bot.storage.models import IncidentRow, JobRow, TimelineRow
from bot.worker import OutboxWorker, WorkerOptions
from tests.conftest import assert_calls_keep_the_contract
from tests.support import BOT_TOKEN

# 12:30:00 in the plan's zone (Asia/Shanghai), on a window boundary.
START = datetime(2026, 11, 25, 4, 30, tzinfo=UTC)
LEASE = timedelta(seconds=60)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def emulator(clock: ManualClock) -> Iterator[Emulator]:
    """Slack's rate limits, on the test's clock: a storm's summaries stay within them."""
    emu = Emulator(bot_token=BOT_TOKEN, clock=lambda: clock.now().timestamp())
    seed_demo_workspace(emu)
    yield emu
    assert_calls_keep_the_contract(emu)


class Rig:
    def __init__(
        self, db: Database, plan: Plan, emulator: Emulator, api_url: str, clock: ManualClock
    ) -> None:
        self.db, self.plan, self.emulator, self.clock = db, plan, emulator, clock
        client = build_web_client(BOT_TOKEN, api_url, timeout=5)
        gateway = SlackGateway(client, Metrics(), monotonic=lambda: clock.now().timestamp())
        renderers = SlackRenderers()
        register_core_renderers(renderers, plan, clock)
        platform = SlackPlatform(gateway, Directory(gateway), renderers)
        self.summaries = EventSummaries(db, platform, plan, self.clock)
        setup = ChannelSetup(db, platform, plan, self.clock)
        self.worker = OutboxWorker(
            db, setup.handlers(), self.clock, Metrics(), WorkerOptions(threads=2, lease=LEASE)
        )
        self.ingest = IngestService(db, plan)
        self.sent = 0

    def event(self, title: str | None = None, **changes: Any) -> None:
        self.sent += 1
        event = OorEvent(
            source="native",
            dedup_key=f"evt-{self.sent}",
            type=OorType.PAYMENT_FAILURE,
            title=title or f"Alipay error rate, alert {self.sent}",
            group_key="alipay",
            severity=Severity.SEV2,
            details=PaymentDetails(payment_method="alipay"),
        )
        self.ingest.ingest([replace(event, **changes)], now=self.clock.now())

    def at(self, seconds: float) -> None:
        self.clock.set(START + timedelta(seconds=seconds))

    def run(self) -> int:
        return self.worker.run_due_jobs()

    @property
    def channel_id(self) -> str:
        with self.db.session() as session:
            channel_id = session.exec(select(IncidentRow.channel_id)).one()
        assert channel_id is not None
        return channel_id

    def lines(self, mark: str = "📈") -> list[str]:
        """The channel's messages starting with ``mark`` (summaries by default)."""
        return [m["text"] for m in self.emulator.messages(self.channel_id) if m["text"][:1] == mark]

    def timeline(self, kind: str = "events") -> list[str]:
        with self.db.session() as session:
            rows = session.exec(select(TimelineRow).order_by(col(TimelineRow.id))).all()
        return [r.text for r in rows if r.kind == kind]

    def pending(self) -> int:
        with self.db.session() as session:
            return session.exec(select(IncidentRow.pending_events)).one()

    def summary_jobs(self) -> list[JobRow]:
        with self.db.session() as session:
            return list(
                session.exec(select(JobRow).where(JobRow.kind == JobKind.SUMMARIZE_EVENTS)).all()
            )


@pytest.fixture
def rig(
    db: Database,
    plan: Plan,
    emulator: Emulator,
    emulator_server: EmulatorServer,
    clock: ManualClock,
) -> Iterator[Rig]:
    rig = Rig(db, plan, emulator, emulator_server.api_url, clock)
    rig.event("Alipay channel blocked")  # opens the incident at 12:30:00
    rig.run()  # channel, board, invitations
    yield rig


def test_a_storm_is_one_summary_line_a_window(rig: Rig) -> None:
    for i in range(300):  # 300 grouped events from 12:30:01 to 12:30:16
        rig.at(1 + i * 0.05)
        rig.event()
    rig.run()
    assert rig.lines() == [] and rig.timeline() == []  # not yet: the window is open
    rig.at(31)  # a window after the first grouped event
    rig.run()
    assert rig.lines() == [
        "📈 300 more monitoring events, 12:30:01–12:30:15 UTC+8; latest: Alipay error rate, "
        "alert 301"
    ]
    assert rig.timeline() == [rig.lines()[0].removeprefix("📈 ")]
    assert rig.pending() == 0

    rig.at(40)
    for _ in range(3):
        rig.event("<!channel> pay & see <https://evil.example|bank>")
    rig.run()
    assert len(rig.lines()) == 1  # the next window is still open
    rig.at(70)
    rig.run()
    assert rig.lines()[1] == (
        "📈 3 more monitoring events, 12:30:40 UTC+8; latest: &lt;!channel&gt; pay &amp; see "
        "&lt;https://evil.example|bank&gt;"
    )
    rig.at(200)
    rig.run()
    assert len(rig.lines()) == 2  # nothing new, nothing said


def test_severity_raises_and_a_windows_first_recovery_are_said_at_once(rig: Rig) -> None:
    rig.at(1)
    rig.event("Alipay error rate 80%", severity=Severity.SEV1)
    rig.run()
    assert rig.lines("🚦") == [
        "🚦 Severity raised SEV2 → SEV1 by a related event: Alipay error rate 80%"
    ]
    for i in range(5):
        rig.at(2 + i)
        rig.event("Alipay error rate", status=EventStatus.RESOLVED, dedup_key=f"ok-{i}")
    rig.run()
    assert rig.lines("💚") == ["💚 Monitor reports recovered: Alipay error rate"]
    rig.at(40)
    rig.run()
    # The raise was told; the four other recoveries are in the window's summary.
    assert rig.lines() == [
        "📈 4 more monitoring events (all recoveries), 12:30:03–12:30:06 UTC+8; "
        "latest: Recovered: Alipay error rate"
    ]
    assert rig.timeline("severity") and len(rig.timeline("recovered")) == 1


def test_a_summary_retried_after_a_failed_post_tells_its_tally_once(
    rig: Rig, emulator: Emulator
) -> None:
    for i in range(5):
        rig.at(1 + i)
        rig.event()
    rig.at(31)
    # Fails the attempt, through slack_sdk's own two retries in place.
    emulator.faults.add(method="chat.postMessage", status=500, times=3)
    rig.run()
    assert rig.lines() == [] and rig.pending() == 0  # the tally was taken and written down
    assert len(rig.timeline()) == 1
    for i in range(2):  # meanwhile: they find the failed job waiting and join it
        rig.at(32 + i)
        rig.event()
    rig.at(40)
    rig.run()
    assert [line.split(",")[0] for line in rig.lines()] == ["📈 5 more monitoring events"]
    assert rig.pending() == 2
    rig.at(75)  # the two of them get a summary of their own, a window later
    rig.run()
    assert [line.split(",")[0] for line in rig.lines()] == [
        "📈 5 more monitoring events",
        "📈 2 more monitoring events",
    ]
    assert len(rig.timeline()) == 2 and rig.pending() == 0


def test_a_summary_posted_by_a_process_that_died_is_not_posted_again(rig: Rig) -> None:
    for i in range(4):
        rig.at(1 + i)
        rig.event()
    rig.at(10)
    rig.run()  # the board's refresh
    rig.at(31)
    with rig.db.engine.begin() as conn:
        (job,) = jobs.claim_due(conn, now=rig.clock.now(), owner="dead", lease=LEASE, limit=10)
    rig.summaries.summarize(job)  # posted, then the process died before marking it done
    assert len(rig.lines()) == 1
    rig.at(31 + LEASE.total_seconds() + 1)
    assert rig.run() == 1  # taken over: finds its tally and its post, says nothing new
    assert len(rig.lines()) == 1 and len(rig.timeline()) == 1
    assert [j.state for j in rig.summary_jobs()] == ["done"]


def test_summary_jobs_running_at_once_tell_each_event_once(rig: Rig) -> None:
    for i in range(7):
        rig.at(1 + i)
        rig.event()
    rig.at(10)
    rig.run()  # the board's refresh
    with rig.db.session() as session:  # a second job for the same incident, as after a retry
        jobs.enqueue(
            session, JobKind.SUMMARIZE_EVENTS, now=rig.clock.now(), dedup_key="another",
            incident_id=1,
        )  # fmt: skip
    rig.at(31)
    with rig.db.engine.begin() as conn:
        claimed = jobs.claim_due(
            conn, now=rig.clock.now(), owner=rig.worker.owner, lease=LEASE, limit=10
        )
    assert len(claimed) == 2
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(rig.worker.run_job, claimed))
    assert [line.split(",")[0] for line in rig.lines()] == ["📈 7 more monitoring events"]
    assert len(rig.timeline()) == 1


def test_events_before_the_channel_exists_are_in_its_first_summary(
    db: Database,
    plan: Plan,
    emulator: Emulator,
    emulator_server: EmulatorServer,
    clock: ManualClock,
) -> None:
    rig = Rig(db, plan, emulator, emulator_server.api_url, clock)
    emulator.faults.add(method="conversations.create", status=500)  # Slack is down
    rig.event("Alipay channel blocked")
    for i in range(3):
        rig.at(1 + i)
        rig.event()
    rig.at(31)
    rig.run()
    assert rig.summary_jobs()[0].state == "pending" and rig.pending() == 3
    emulator.faults.clear()
    rig.at(100)
    rig.run()
    rig.at(103)  # the summary looked again after the channel was created
    rig.run()
    assert [line.split(",")[0] for line in rig.lines()] == ["📈 3 more monitoring events"]


def test_a_summary_for_an_archived_channel_stays_in_the_timeline(
    rig: Rig, emulator_server: EmulatorServer
) -> None:
    for i in range(2):
        rig.at(1 + i)
        rig.event()
    WebClient(token=BOT_TOKEN, base_url=emulator_server.api_url).conversations_archive(
        channel=rig.channel_id
    )  # closed with archive_channel_on_close meanwhile
    rig.at(31)
    rig.run()
    assert rig.lines() == [] and len(rig.timeline()) == 1
    assert [j.state for j in rig.summary_jobs()] == ["done"]  # not retried for ever
