"""The kinds of message the core posts, with their typed data.

Each platform registers a renderer per kind (Slack: :mod:`bot.slack.platform`); features
declare their own kinds beside their models and register renderers when installed.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.incident import IncidentSnapshot

# data: the notice payload (dict: text, kind, actor, mentions) of a timeline entry
NOTICE = "notice"
# data: the IncidentSnapshot; the pinned status board
BOARD = "board"
# data: Announcement; one line in the plan's broadcast room
ANNOUNCEMENT = "announcement"
# data: PrivateAnnouncement; the broadcast line of a private incident (nothing of its facts)
PRIVATE_ANNOUNCEMENT = "private_announcement"
# data: the tally's sentence (str); one line for a window of monitoring events
EVENT_SUMMARY = "event_summary"


@dataclass(frozen=True)
class Announcement:
    incident: IncidentSnapshot
    room: str  # the incident's room, to link to


@dataclass(frozen=True)
class PrivateAnnouncement:
    """All the broadcast room learns of a private incident: its key and its commander (the
    role holder, else the plan's first commander), never its title, facts or room."""

    key: str
    commander: str | None
