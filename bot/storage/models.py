"""The tables. Uniqueness that matters is enforced here, in the database.

- ``event(source, dedup_key)`` is unique: a re-delivered webhook cannot be stored twice.
- ``incident.group_key`` is unique among incidents that are not closed (a partial index):
  two concurrent events of one group cannot open two incidents.
- ``job.dedup_key`` is unique: a side effect (create the channel, post the board) is
  enqueued once however many times the code that enqueues it runs.

Lengths of what webhooks write (PostgreSQL enforces ``varchar(n)``, SQLite does not, so
the adapters in ``bot.ingest`` bound every value first and both databases answer alike):
titles 200, descriptions 3000, origins 100 are validated or clipped; group keys and dedup
keys are at most ~200 (a longer Alertmanager ``groupKey`` or fingerprint becomes a stable
digest) in columns of 400; the alert URL is ``TEXT``, kept whole (an Alertmanager
``generatorURL`` embeds its query: 2,300 characters is normal); everything else a sender
sends is kept in JSON columns, without NUL or non-finite numbers.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from bot.storage.types import UtcDateTime


def _utc(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UtcDateTime(), nullable=nullable, index=index))


def _json() -> Any:
    return Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


# The predicate of the partial unique index uq_incident_open_group_key: the ingest's
# ON CONFLICT names the index by repeating it, so both use this one expression.
OPEN_GROUP_PREDICATE = text("status != 'closed'")


class IncidentRow(SQLModel, table=True):
    __tablename__ = "incident"
    __table_args__ = (
        Index(
            "uq_incident_open_group_key",
            "group_key",
            unique=True,
            sqlite_where=OPEN_GROUP_PREDICATE,
            postgresql_where=OPEN_GROUP_PREDICATE,
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    type: str = Field(max_length=40, index=True)
    title: str = Field(max_length=200)
    description: str | None = Field(default=None, max_length=3000)
    severity: str = Field(max_length=10)
    status: str = Field(default="open", max_length=20, index=True)
    source: str = Field(max_length=20)
    origin: str | None = Field(default=None, max_length=100)
    # TEXT: a link is only usable whole (see the module docstring).
    url: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    group_key: str | None = Field(default=None, max_length=400)
    occurred_at: datetime | None = _utc()
    opened_at: datetime = _utc(nullable=False, index=True)
    details: dict[str, Any] = _json()
    event_count: int = Field(default=1)
    # The latest monitoring event that joined (grouped or recovered), for the board: when
    # it arrived and its headline ("Recovered: …" for a recovery).
    last_event_at: datetime | None = _utc()
    last_event_title: str | None = Field(default=None, max_length=200)
    # The pending tally (bot.domain.event_tally): events since the last summary that the
    # channel has not heard of yet. The summary job takes and zeroes it in the transaction
    # that writes its timeline entry, so every event is in exactly one summary.
    pending_events: int = Field(default=0)
    pending_recovered: int = Field(default=0)
    pending_since: datetime | None = _utc()
    channel_id: str | None = Field(default=None, max_length=40)
    channel_name: str | None = Field(default=None, max_length=80)
    board_ts: str | None = Field(default=None, max_length=40)
    resolved_at: datetime | None = _utc()
    closed_at: datetime | None = _utc()
    resolution_summary: str | None = Field(default=None, max_length=3000)
    cause_category: str | None = Field(default=None, max_length=40)
    # Bumped by every reopen, so reminders fired for an earlier round can fire again.
    generation: int = Field(default=0)
    # When it was last reopened: step deadlines of the new round count from here.
    reopened_at: datetime | None = _utc()
    # When its next reminder or escalation is due (NULL: none can be as things stand); the
    # reminder scan reads only incidents whose time has come. See bot.storage.next_due.
    next_due_at: datetime | None = _utc(index=True)
    updated_at: datetime = _utc(nullable=False)
    # A private incident: a private room, and outside it only what bot.domain.privacy allows.
    private: bool = Field(default=False, sa_column_kwargs={"server_default": text("false")})
    # Bumped by every /oor private or /oor public: the room move's jobs are keyed by it, so
    # each move happens once however often its jobs are retried.
    privacy_round: int = Field(default=0, sa_column_kwargs={"server_default": text("0")})


class RoleRow(SQLModel, table=True):
    """Who holds a role (commander, tech, comms) in one incident."""

    __tablename__ = "incident_role"

    incident_id: int = Field(foreign_key="incident.id", primary_key=True)
    role: str = Field(primary_key=True, max_length=20)
    user_id: str = Field(max_length=40)
    assigned_at: datetime = _utc(nullable=False)
    assigned_by: str = Field(max_length=40)


class StepRow(SQLModel, table=True):
    """One of the six steps of one incident, with who and when for each change."""

    __tablename__ = "incident_step"

    incident_id: int = Field(foreign_key="incident.id", primary_key=True)
    step: str = Field(primary_key=True, max_length=20)
    position: int
    state: str = Field(default="pending", max_length=20)
    started_at: datetime | None = _utc()
    started_by: str | None = Field(default=None, max_length=40)
    completed_at: datetime | None = _utc()
    completed_by: str | None = Field(default=None, max_length=40)
    note: str | None = Field(default=None, max_length=3000)


class TimelineRow(SQLModel, table=True):
    __tablename__ = "timeline_entry"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    at: datetime = _utc(nullable=False)
    actor: str = Field(max_length=100)
    kind: str = Field(max_length=40)
    text: str = Field(max_length=4000)
    data: dict[str, Any] = _json()


class EventRow(SQLModel, table=True):
    """Every accepted webhook event, once: the idempotency record."""

    __tablename__ = "event"
    __table_args__ = (UniqueConstraint("source", "dedup_key", name="uq_event_source_dedup"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=20)
    dedup_key: str = Field(max_length=400)
    incident_id: int | None = Field(default=None, foreign_key="incident.id", index=True)
    outcome: str = Field(max_length=20)
    status: str = Field(max_length=20)
    received_at: datetime = _utc(nullable=False)
    payload: dict[str, Any] = _json()


class JobRow(SQLModel, table=True):
    """The outbox: side effects committed with the data that asks for them.

    A job is claimed with a lease (``lease_until``); a process that dies mid-job lets the
    lease run out and another process (or itself, restarted) picks it up again.
    """

    __tablename__ = "job"
    __table_args__ = (Index("ix_job_due", "state", "run_after"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=40)
    dedup_key: str = Field(max_length=200, unique=True)
    incident_id: int | None = Field(default=None, foreign_key="incident.id", index=True)
    payload: dict[str, Any] = _json()
    state: str = Field(default="pending", max_length=20)
    attempts: int = Field(default=0)
    run_after: datetime = _utc(nullable=False)
    lease_owner: str | None = Field(default=None, max_length=100)
    lease_until: datetime | None = _utc()
    last_error: str | None = Field(default=None, max_length=2000)
    # A permanent Slack error (invalid_auth, missing_scope) needs a person: the job waits
    # until the next start-up instead of being dropped.
    needs_attention: bool = Field(default=False)
    created_at: datetime = _utc(nullable=False)
    finished_at: datetime | None = _utc()


class NotificationDraftRow(SQLModel, table=True):
    """A customer notification (step 5), from draft to approval and delivery."""

    __tablename__ = "notification_draft"
    # One waiting draft per channel and language: `/oor notify` twice (or two replicas
    # handling two clicks) must not put two drafts of one message up for approval.
    __table_args__ = (
        Index(
            "uq_notification_draft_waiting",
            "incident_id",
            "channel",
            "locale",
            unique=True,
            sqlite_where=text("state = 'draft'"),
            postgresql_where=text("state = 'draft'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    channel: str = Field(max_length=20)  # sms / email / status_page
    locale: str = Field(max_length=10)  # zh-CN / en
    subject: str | None = Field(default=None, max_length=300)
    body: str = Field(max_length=8000)
    state: str = Field(default="draft", max_length=20)  # draft / approved / discarded
    drafted_by: str = Field(max_length=40)
    drafted_at: datetime = _utc(nullable=False)
    edited_by: str | None = Field(default=None, max_length=40)
    edited_at: datetime | None = _utc()
    approved_by: str | None = Field(default=None, max_length=40)
    approved_at: datetime | None = _utc()
    discarded_by: str | None = Field(default=None, max_length=40)
    discarded_at: datetime | None = _utc()
    message_ts: str | None = Field(default=None, max_length=40)
    delivered_at: datetime | None = _utc()
    delivery_status: str | None = Field(default=None, max_length=200)


class ReviewNotesRow(SQLModel, table=True):
    """What only people know, from the review form (step 6)."""

    __tablename__ = "review_notes"

    incident_id: int = Field(foreign_key="incident.id", primary_key=True)
    what_happened: str | None = Field(default=None, max_length=3000)
    root_cause: str | None = Field(default=None, max_length=3000)
    went_well: str | None = Field(default=None, max_length=3000)
    to_improve: str | None = Field(default=None, max_length=3000)
    updated_by: str = Field(max_length=40)
    updated_at: datetime = _utc(nullable=False)


class PostmortemRow(SQLModel, table=True):
    """A compiled post-mortem; compiling again makes a new version, old ones stay."""

    __tablename__ = "postmortem"
    __table_args__ = (UniqueConstraint("incident_id", "version", name="uq_postmortem_version"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    version: int
    markdown: str
    facts: dict[str, Any] = _json()
    compiled_by: str = Field(max_length=40)
    compiled_at: datetime = _utc(nullable=False)
    published_by: str | None = Field(default=None, max_length=40)
    published_at: datetime | None = _utc()
    file_id: str | None = Field(default=None, max_length=40)


class ActionItemRow(SQLModel, table=True):
    __tablename__ = "action_item"
    __table_args__ = (UniqueConstraint("incident_id", "number", name="uq_action_item_number"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    number: int  # 1, 2, 3 … within the incident
    text: str = Field(max_length=1000)
    owner: str | None = Field(default=None, max_length=40)
    due_date: date | None = None
    state: str = Field(default="open", max_length=20, index=True)  # open / done
    created_by: str = Field(max_length=40)
    created_at: datetime = _utc(nullable=False)
    done_by: str | None = Field(default=None, max_length=40)
    done_at: datetime | None = _utc()


class ReminderRow(SQLModel, table=True):
    """A reminder (level 1) or escalation (level 2) that fired: the row is the claim.

    Unique per incident, step, level and reopen round, so however many scheduler replicas
    scan at once, each reminder is sent once.
    """

    __tablename__ = "reminder"
    __table_args__ = (
        UniqueConstraint("incident_id", "step", "level", "generation", name="uq_reminder_once"),
    )

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    step: str = Field(max_length=20)
    level: int
    generation: int = Field(default=0)
    due_at: datetime = _utc(nullable=False)
    fired_at: datetime = _utc(nullable=False)
    fired_by: str = Field(max_length=100)


class SnoozeRow(SQLModel, table=True):
    __tablename__ = "step_snooze"

    incident_id: int = Field(foreign_key="incident.id", primary_key=True)
    step: str = Field(primary_key=True, max_length=20)
    until: datetime = _utc(nullable=False)
    snoozed_by: str = Field(max_length=40)
    snoozed_at: datetime = _utc(nullable=False)


class DigestRunRow(SQLModel, table=True):
    """One row per ISO week: the digest is posted once, whichever replica gets there."""

    __tablename__ = "digest_run"

    week: str = Field(primary_key=True, max_length=10)  # e.g. 2026-W47
    claimed_at: datetime = _utc(nullable=False)
    claimed_by: str = Field(max_length=100)
    late: bool = Field(default=False)
    posted_at: datetime | None = _utc()


class InstallationRow(SQLModel, table=True):
    """When the bot first ran on this database: one row, written once.

    The weekly digest's schedule posts only the digests scheduled from then on, so a new
    installation does not post, "late", a digest for a week before it existed. Databases
    from before this table get the time of their oldest incident, event, job or digest.
    """

    __tablename__ = "installation"

    # Always 1: the primary key keeps it one row.
    id: int = Field(default=1, primary_key=True, sa_column_kwargs={"autoincrement": False})
    installed_at: datetime = _utc(nullable=False)
