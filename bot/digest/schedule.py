"""When the weekly digest is due, which ISO week it covers, and the claim that makes it once.

Weeks are ISO weeks in the plan's time zone (``2026-W47``: Monday 00:00 to the next Monday
00:00, local time). The digest scheduled in week *W* covers week *W − 1*.

Exactly once across replicas: whoever inserts the ``digest_run`` row for a week (its
primary key) also enqueues the outbox job that posts it, in the same transaction. A
replica that loses the insert gets a unique violation (or sees the row) and does nothing;
the outbox job's dedup key ``digest:{week}`` guards the same way.

Only the times scheduled since the bot was installed count: the ``installation`` row
(one row, written by whichever process starts first, with its clock) says since when. So
a new installation posts its first digest at its first scheduled time, not at once, "late",
for a week before it existed; an installation that was down over a scheduled time posts
that digest when it is back, marked late. Databases from before the row was introduced
get the time of their oldest record (migration 0005).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy.exc import IntegrityError

from bot.domain.plan_sections import DigestSchedule
from bot.storage import jobs
from bot.storage.db import Database
from bot.storage.models import DigestRunRow, InstallationRow

log = structlog.get_logger(__name__)

DIGEST_JOB = "digest.post"
# Claimed this long after its scheduled time, a digest is marked "posted late": the bot
# was down (or every replica was) when it was due.
DEFAULT_LATE_AFTER = timedelta(minutes=10)

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


@dataclass(frozen=True)
class IsoWeek:
    year: int
    week: int

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        """``2026-W47`` -> IsoWeek(2026, 47); ValueError for anything else."""
        match = _WEEK.match(text.strip())
        if not match:
            raise ValueError(f"{text!r}: expected an ISO week like 2026-W47")
        year, week = int(match[1]), int(match[2])
        try:
            date.fromisocalendar(year, week, 1)
        except ValueError:
            raise ValueError(f"{text!r}: {year} has no ISO week {week}") from None
        return cls(year, week)

    @classmethod
    def of(cls, day: date) -> IsoWeek:
        iso = day.isocalendar()
        return cls(iso.year, iso.week)

    @classmethod
    def containing(cls, moment: datetime, tz: ZoneInfo) -> IsoWeek:
        return cls.of(moment.astimezone(tz).date())

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    def previous(self) -> IsoWeek:
        return IsoWeek.of(self.monday - timedelta(days=7))

    def next(self) -> IsoWeek:
        return IsoWeek.of(self.monday + timedelta(days=7))

    def days(self) -> list[date]:
        return [self.monday + timedelta(days=i) for i in range(7)]

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """[start, end) in aware UTC: local Monday 00:00 to the next local Monday 00:00."""
        return local_midnight(self.monday, tz), local_midnight(self.next().monday, tz)


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=tz).astimezone(UTC)


def most_recent_slot(now: datetime, schedule: DigestSchedule, tz: ZoneInfo) -> datetime:
    """The latest scheduled time (weekday + HH:MM, local) at or before ``now``, in UTC."""
    local = now.astimezone(tz)
    back = (local.weekday() - schedule.weekday_index) % 7
    day = local.date() - timedelta(days=back)
    slot = datetime.combine(day, schedule.time_of_day, tzinfo=tz)
    if slot.astimezone(UTC) > now:
        slot = datetime.combine(day - timedelta(days=7), schedule.time_of_day, tzinfo=tz)
    return slot.astimezone(UTC)


def week_for_slot(slot: datetime, tz: ZoneInfo) -> IsoWeek:
    """The week a scheduled digest covers: the ISO week before the slot's (local) week."""
    return IsoWeek.containing(slot, tz).previous()


@dataclass(frozen=True)
class DueDigest:
    week: IsoWeek
    slot: datetime
    late: bool


def due_digest(
    now: datetime,
    schedule: DigestSchedule,
    tz: ZoneInfo,
    late_after: timedelta = DEFAULT_LATE_AFTER,
) -> DueDigest:
    """The digest the most recent scheduled time asks for (posted or not)."""
    slot = most_recent_slot(now, schedule, tz)
    return DueDigest(week_for_slot(slot, tz), slot, late=now - slot > late_after)


def claim(
    db: Database,
    week: IsoWeek,
    *,
    now: datetime,
    owner: str,
    late: bool = False,
    manual: bool = False,
) -> bool:
    """Insert the week's ``digest_run`` row and enqueue its post, in one transaction.

    True for the one caller that wins; False when the week was already claimed (now or by a
    concurrent replica, whose insert makes ours fail with a unique violation).
    """
    key = str(week)
    try:
        with db.session() as session:
            if session.get(DigestRunRow, key) is not None:
                return False
            session.add(DigestRunRow(week=key, claimed_at=now, claimed_by=owner[:100], late=late))
            session.flush()  # the PK conflict surfaces here, before the job is enqueued
            jobs.enqueue(
                session,
                DIGEST_JOB,
                now=now,
                dedup_key=f"digest:{key}",
                payload={"week": key, "late": late, "manual": manual},
            )
    except IntegrityError:
        return False
    log.info("digest_claimed", week=key, late=late, owner=owner, manual=manual)
    return True


def claimed_run(db: Database, week: IsoWeek) -> DigestRunRow | None:
    with db.session() as session:
        return session.get(DigestRunRow, str(week))


def check_and_claim(
    db: Database,
    schedule: DigestSchedule,
    tz: ZoneInfo,
    *,
    now: datetime,
    owner: str,
    late_after: timedelta = DEFAULT_LATE_AFTER,
) -> DueDigest | None:
    """One scheduler tick: claim the most recent scheduled digest unless its week has a
    ``digest_run`` row or it was scheduled before the bot was installed. Returns the digest
    this call claimed, else None."""
    due = due_digest(now, schedule, tz, late_after)
    if due.slot < installed_at(db, now):
        return None  # not a missed run: the bot did not exist yet
    if claimed_run(db, due.week) is not None:
        return None
    return due if claim(db, due.week, now=now, owner=owner, late=due.late) else None


def installed_at(db: Database, now: datetime) -> datetime:
    """When the bot was installed on this database; the first call anywhere records ``now``.

    Replicas starting together race on the row's primary key: one insert wins and every
    process then reads the same time.
    """
    with db.session() as session:
        row = session.get(InstallationRow, 1)
        if row is not None:
            return row.installed_at
    try:
        with db.session() as session:
            session.add(InstallationRow(id=1, installed_at=now))
    except IntegrityError:
        with db.session() as session:
            row = session.get(InstallationRow, 1)
            assert row is not None
            return row.installed_at
    log.info("installation_recorded", installed_at=now.isoformat())
    return now
