"""Names of the core's outbox jobs (side effects on the chat platform). Handlers live in
:mod:`bot.incidents.room_setup` and :mod:`bot.incidents.event_summary`."""

from __future__ import annotations

from enum import StrEnum


class JobKind(StrEnum):
    CREATE_CHANNEL = "create_channel"
    INVITE_RESPONDERS = "invite_responders"
    DESCRIBE_CHANNEL = "describe_channel"  # topic and purpose
    ADD_BOOKMARKS = "add_bookmarks"
    POST_BOARD = "post_board"  # post and pin the status board
    ANNOUNCE = "announce"  # one line in the plan's broadcast channel
    POST_NOTICE = "post_notice"  # a one-line message in the incident channel
    REFRESH_BOARD = "refresh_board"  # chat.update of the pinned board
    # The same, for grouped events: delayed a little, so a storm refreshes it a few times
    # a minute; a key of its own, so a waiting one never delays a step change's refresh.
    REFRESH_BOARD_EVENTS = "refresh_board_events"
    SUMMARIZE_EVENTS = "summarize_events"  # one line for the events of a window (a storm)
    ARCHIVE_CHANNEL = "archive_channel"  # on close, when the plan says archive_channel_on_close


# Enqueued together once the channel exists. Each is idempotent on its own, so they can
# run in any order and on any replica.
AFTER_CHANNEL_CREATED = (
    JobKind.INVITE_RESPONDERS,
    JobKind.DESCRIBE_CHANNEL,
    JobKind.POST_BOARD,
    JobKind.ADD_BOOKMARKS,
    JobKind.ANNOUNCE,
)
