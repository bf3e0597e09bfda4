"""Opening an incident in Slack: the outbox job handlers, one per side effect.

Every handler reads the incident fresh from the database, does one idempotent piece of
Slack work and records what it learned (the channel id, the board's ts). Any of them can
be retried, on any replica, after any crash.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog

from bot.domain.clock import Clock
from bot.domain.incident import IncidentSnapshot
from bot.domain.naming import incident_channel_name
from bot.domain.plan import Plan
from bot.incidents.job_kinds import AFTER_CHANNEL_CREATED, JobKind
from bot.outbox.outcomes import NotReady
from bot.slack.channels import ChannelIds, call_joining, find_channel
from bot.slack.directory import Directory
from bot.slack.event_summary import EventSummaries
from bot.slack.gateway import SlackCallError, SlackGateway, SlackPermanent
from bot.slack.posting import post_once
from bot.slack.text import channel_link, escape, local_time, mention, truncate
from bot.slack.views import SlackMessage
from bot.slack.views.status_board import build_status_board
from bot.storage import incidents as repo
from bot.storage import jobs
from bot.storage.db import Database
from bot.storage.jobs import ClaimedJob
from bot.worker import JobHandler

log = structlog.get_logger(__name__)

NOTICE_ICONS = {
    "step": "▶️",
    "record": "📝",
    "finding": "🔎",
    "role": "👤",
    "severity": "🚦",
    "status": "📌",
    "grouped": "➕",
    "recovered": "💚",
}

INVITE_BATCH = 100  # Slack accepts up to 1000 users per call; smaller batches fail smaller
TOPIC_LIMIT = 250
MAX_NAME_ATTEMPTS = 20
# bookmarks.add: link has maxLength 2048 (tests/fixtures/slack_methods/methods/bookmarks.add.json).
BOOKMARK_LINK_MAX = 2048


class ChannelSetup:
    def __init__(
        self,
        db: Database,
        gateway: SlackGateway,
        directory: Directory,
        plan: Plan,
        clock: Clock,
        on_enqueued: Callable[[], None] = lambda: None,
    ) -> None:
        self._db = db
        self._gateway = gateway
        self._directory = directory
        self._plan = plan
        self._clock = clock
        self._on_enqueued = on_enqueued
        self._channel_ids = ChannelIds(gateway)
        self._summaries = EventSummaries(db, gateway, plan, clock, on_enqueued)

    def handlers(self) -> dict[str, JobHandler]:
        return {
            JobKind.CREATE_CHANNEL: self.create_channel,
            JobKind.INVITE_RESPONDERS: self.invite_responders,
            JobKind.DESCRIBE_CHANNEL: self.describe_channel,
            JobKind.ADD_BOOKMARKS: self.add_bookmarks,
            JobKind.POST_BOARD: self.post_board,
            JobKind.ANNOUNCE: self.announce,
            JobKind.POST_NOTICE: self.post_notice,
            JobKind.REFRESH_BOARD: self.refresh_board,
            JobKind.REFRESH_BOARD_EVENTS: self.refresh_board,
            **self._summaries.handlers(),
        }

    # -- helpers -----------------------------------------------------------------
    def _incident(self, job: ClaimedJob) -> IncidentSnapshot:
        assert job.incident_id is not None
        with self._db.session() as session:
            incident = repo.snapshot(session, job.incident_id)
        if incident is None:
            raise SlackPermanent(job.kind, f"incident {job.incident_id} not found")
        return incident

    def _channel_of(self, job: ClaimedJob) -> tuple[IncidentSnapshot, str]:
        incident = self._incident(job)
        if incident.channel_id is None:
            raise NotReady("the incident channel is not created yet")
        return incident, incident.channel_id

    def _timeline(self, incident_id: int, kind: str, text: str) -> None:
        with self._db.session() as session:
            repo.add_timeline(
                session, incident_id, at=self._clock.now(), actor="oor-bot", kind=kind, text=text
            )

    def _notice(
        self, incident_id: int, key: str, text: str, mentions: tuple[str, ...] = ()
    ) -> None:
        """Say something in the incident channel, once (its own job, own retries)."""
        with self._db.session() as session:
            jobs.enqueue(
                session,
                JobKind.POST_NOTICE,
                now=self._clock.now(),
                dedup_key=f"{JobKind.POST_NOTICE}:{incident_id}:{key}",
                incident_id=incident_id,
                payload={"text": text, "kind": "responders", "mentions": list(mentions)},
            )
        self._on_enqueued()

    # -- the channel -----------------------------------------------------------------
    def create_channel(self, job: ClaimedJob) -> None:
        incident = self._incident(job)
        if incident.channel_id is None:
            channel = self._create_or_adopt(incident)
            with self._db.session() as session:
                row = repo.get_row(session, incident.number, for_update=True)
                assert row is not None
                if row.channel_id is None:
                    row.channel_id = str(channel["id"])
                    row.channel_name = str(channel["name"])
                    row.updated_at = self._clock.now()
                    session.add(row)
                    repo.add_timeline(
                        session,
                        incident.number,
                        at=self._clock.now(),
                        actor="oor-bot",
                        kind="channel",
                        text=f"Incident channel #{channel['name']} created",
                    )
        # Enqueueing is idempotent, so a retried job after a crash just finds them there.
        with self._db.session() as session:
            for kind in AFTER_CHANNEL_CREATED:
                jobs.enqueue(
                    session,
                    kind,
                    now=self._clock.now(),
                    dedup_key=f"{kind}:{incident.number}",
                    incident_id=incident.number,
                )
        self._on_enqueued()

    def _create_or_adopt(self, incident: IncidentSnapshot) -> dict[str, Any]:
        for attempt in range(MAX_NAME_ATTEMPTS):
            name = incident_channel_name(incident.number, incident.type, incident.title, attempt)
            try:
                data = self._gateway.call("conversations.create", name=name, is_private=False)
                return dict(data["channel"])
            except SlackCallError as exc:
                if exc.error != "name_taken":
                    raise SlackPermanent(exc.method, exc.error) from None
            # Taken: maybe by us, in an attempt that died before recording the channel.
            existing = find_channel(self._gateway, name)
            if (
                existing
                and existing.get("creator") == self._gateway.bot_user_id()
                and not existing.get("is_archived")
            ):
                log.info("incident_channel_adopted", incident=incident.key, channel=name)
                return existing
        raise SlackPermanent("conversations.create", "no free channel name")

    def invite_responders(self, job: ClaimedJob) -> None:
        incident, channel_id = self._channel_of(job)
        resolution = self._directory.resolve(self._plan.all_responder_refs(incident.type))
        bot = self._gateway.bot_user_id()
        users = [u for u in resolution.user_ids if u != bot]
        if incident.source == "slack" and incident.origin and incident.origin not in users:
            users.append(incident.origin)  # whoever declared it by hand joins too
        failures = list(resolution.unresolved)
        failed_users: list[str] = []
        for start in range(0, len(users), INVITE_BATCH):
            batch = users[start : start + INVITE_BATCH]
            try:
                self._gateway.call("conversations.invite", channel=channel_id, users=batch)
                continue
            except SlackCallError as exc:
                if exc.error == "already_in_channel" and len(batch) == 1:
                    continue
            # Slack refuses the whole batch for one bad user: find out who, one by one.
            for user in batch:
                try:
                    self._gateway.call("conversations.invite", channel=channel_id, users=[user])
                except SlackCallError as exc:
                    if exc.error != "already_in_channel":
                        failures.append((mention(user), exc.error))
                        failed_users.append(user)
        self._timeline(
            incident.number,
            "responders",
            f"{len(users)} responders from the plan are in the channel"
            + (f"; {len(failures)} could not be added" if failures else ""),
        )
        if failures:
            listed = ", ".join(f"{who} ({why})" for who, why in failures)
            self._notice(
                incident.number,
                "invite-failures",
                f"⚠️ Could not add these responders named in the plan: {listed}. "
                "Please add them by hand and fix the plan.",
                mentions=tuple(failed_users),
            )

    def describe_channel(self, job: ClaimedJob) -> None:
        incident, channel_id = self._channel_of(job)
        tz = self._plan.tz
        topic = (
            f"{incident.severity.label} {incident.type.label} · {incident.title} · {incident.key}"
        )
        purpose = (
            f"{incident.key}: {incident.type.label} ({incident.type.label_zh}) opened "
            f"{local_time(incident.opened_at, tz)} from {incident.origin or incident.source}. "
            "Work it with /oor."
        )
        self._gateway.call(
            "conversations.setTopic", channel=channel_id, topic=truncate(escape(topic), TOPIC_LIMIT)
        )
        self._gateway.call(
            "conversations.setPurpose",
            channel=channel_id,
            purpose=truncate(escape(purpose), TOPIC_LIMIT),
        )

    def add_bookmarks(self, job: ClaimedJob) -> None:
        incident, channel_id = self._channel_of(job)
        wanted: list[tuple[str, str]] = []
        if incident.url:
            wanted.append(("Alert source", incident.url))
        runbook = self._plan.for_type(incident.type).runbook_url
        if runbook:
            wanted.append((f"Runbook: {incident.type.label}", str(runbook)))
        if not wanted:
            return
        existing = self._gateway.call("bookmarks.list", channel_id=channel_id)
        have = {b.get("link") for b in existing.get("bookmarks", [])}
        for title, url in wanted:
            if len(url) > BOOKMARK_LINK_MAX:
                continue  # Slack would refuse it; the board says where the full link is
            if url.startswith(("http://", "https://")) and url not in have:
                self._gateway.call(
                    "bookmarks.add", channel_id=channel_id, title=title, type="link", link=url
                )

    # -- the board ---------------------------------------------------------------------
    def _board(self, incident: IncidentSnapshot) -> SlackMessage:
        runbook = self._plan.for_type(incident.type).runbook_url
        return build_status_board(
            incident,
            tz=self._plan.tz,
            now=self._clock.now(),
            runbook_url=str(runbook) if runbook else None,
            partners=self._plan.partners_for(incident.type, incident.payment_method),
        )

    def post_board(self, job: ClaimedJob) -> None:
        incident, channel_id = self._channel_of(job)
        ts = incident.board_ts
        if ts is None:
            ts = post_once(self._gateway, channel_id, self._board(incident), job)
            with self._db.session() as session:
                row = repo.get_row(session, incident.number, for_update=True)
                assert row is not None
                if row.board_ts is None:
                    row.board_ts = ts
                    session.add(row)
        try:
            self._gateway.call("pins.add", channel=channel_id, timestamp=ts)
        except SlackCallError as exc:
            if exc.error != "already_pinned":
                raise

    def refresh_board(self, job: ClaimedJob) -> None:
        incident = self._incident(job)
        if incident.channel_id is None or incident.board_ts is None:
            return  # the board is not posted yet; when it is, it shows the current state
        board = self._board(incident)
        self._gateway.call(
            "chat.update", channel=incident.channel_id, ts=incident.board_ts, **board.as_args()
        )

    # -- messages ------------------------------------------------------------------------
    def post_notice(self, job: ClaimedJob) -> None:
        # Frequent (every step change says so in the channel): it reads only the channel id.
        assert job.incident_id is not None
        with self._db.engine.connect() as conn:
            try:
                channel_id = repo.channel_id_of(conn, job.incident_id)
            except LookupError:
                raise SlackPermanent(job.kind, f"incident {job.incident_id} not found") from None
        if channel_id is None:
            raise NotReady("the incident channel is not created yet")
        post_once(self._gateway, channel_id, SlackMessage(text=notice_text(job.payload)), job)

    def announce(self, job: ClaimedJob) -> None:
        target = self._plan.broadcast_channel
        if not target:
            return
        incident, channel_id = self._channel_of(job)
        channel = self._channel_ids.resolve(str(target))
        message = SlackMessage(
            text=f"🚨 *{incident.key}* {incident.severity.label} {incident.type.label} — "
            f"{escape(incident.title)} → {channel_link(channel_id)}"
        )
        call_joining(
            self._gateway,
            channel,
            lambda: post_once(self._gateway, channel, message, job, unfurl_links=False),
        )


def notice_text(payload: dict[str, Any]) -> str:
    """The one-line channel message for a timeline entry: outside text escaped, only the
    actor and the users the bot itself named become mentions."""
    text = escape(str(payload.get("text", "")))
    for user in payload.get("mentions", []):
        text = text.replace(f"&lt;@{user}&gt;", mention(user))
    icon = NOTICE_ICONS.get(str(payload.get("kind", "")), "•")
    actor = payload.get("actor")
    return f"{icon} {mention(str(actor))} {text}" if actor else f"{icon} {text}"
