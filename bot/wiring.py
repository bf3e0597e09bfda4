"""What a feature gets to plug itself into the app, in one place.

The app factory builds the core (storage, the chat platform, the outbox worker, the
six-step commands) and then hands a :class:`Wiring` to each feature's ``install``
function. Through it a feature registers everything it adds — ``/oor`` words with their
help lines, outbox job handlers, buttons and forms, HTTP routes, periodic ticks, message
renderers, start/stop hooks — and nothing in the core names a feature. A job kind, a
command word or a tick registered twice is a :class:`WiringError` at start-up.

Features get the chat platform and its renderers, the command context (the incident
here, permission, applying a step change, opening a form) and the reply helpers; not the
Slack gateway, the Bolt app or the core's command handlers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.routing import BaseRoute

from bot.chat.board import BoardLines, BoardLineSource
from bot.chat.port import ChatPlatform
from bot.config import Settings
from bot.domain.clock import Clock
from bot.domain.plan import Plan
from bot.incidents.service import IncidentService
from bot.metrics import Metrics
from bot.slack.command_context import CommandContext
from bot.slack.command_table import (
    CommandHandler,
    CommandTable,
    DuplicateCommand,
    HelpLine,
    HelpSection,
)
from bot.slack.interactions import ButtonHandler, FormHandler, Interactions
from bot.slack.platform import SlackRenderers
from bot.slack.replies import Replies
from bot.storage.db import Database
from bot.ticks import DuplicateTick, Tick, Ticks
from bot.worker import JobHandler, OutboxWorker

__all__ = ["HelpLine", "HelpSection", "Wiring", "WiringError"]


class WiringError(ValueError):
    """Two parts of the app claim the same thing (a job kind, a command word, a tick)."""


@dataclass
class Wiring:
    settings: Settings
    plan: Plan
    clock: Clock
    db: Database
    metrics: Metrics
    # The chat platform the outbox jobs talk to (Slack unless the app was given another),
    # and the Slack renderings of message kinds, where features register their own.
    platform: ChatPlatform
    renderers: SlackRenderers
    worker: OutboxWorker
    incidents: IncidentService
    commands: CommandContext
    replies: Replies
    _table: CommandTable = field(repr=False)
    _interactions: Interactions = field(repr=False)
    _ticks: Ticks = field(repr=False)
    # Filled here, read by the outbox worker (the same dict).
    _job_handlers: dict[str, JobHandler] = field(repr=False)
    # What features add to the status board (read by the board's renderer: the same object).
    board_lines: BoardLines = field(default_factory=BoardLines)
    routes: list[BaseRoute] = field(default_factory=list)
    on_start: list[Callable[[], None]] = field(default_factory=list)
    on_stop: list[Callable[[], None]] = field(default_factory=list)
    # Anything a feature exposes for tests and the CLI, by name.
    exposed: dict[str, Any] = field(default_factory=dict)

    # -- /oor words ----------------------------------------------------------------------
    def add_command(
        self, words: Iterable[str], handler: CommandHandler, *, help: Iterable[HelpLine] = ()
    ) -> None:
        """``words``: the canonical word first, then its aliases; ``help``: its lines in
        ``/oor help``."""
        try:
            self._table.add(words, handler, help)
        except DuplicateCommand as exc:
            raise WiringError(str(exc)) from None

    @property
    def command_words(self) -> Mapping[str, str]:
        return self._table.words

    # -- outbox jobs -----------------------------------------------------------------------
    def add_job_handler(self, kind: str, handler: JobHandler) -> None:
        if kind in self._job_handlers:
            raise WiringError(f"the outbox job kind {kind!r} has a handler already")
        self._job_handlers[kind] = handler

    def add_job_handlers(self, handlers: Mapping[str, JobHandler]) -> None:
        for kind, handler in handlers.items():
            self.add_job_handler(kind, handler)

    @property
    def job_kinds(self) -> list[str]:
        return list(self._job_handlers)

    # -- buttons and forms -------------------------------------------------------------------
    def on_button(
        self, action_id: str | re.Pattern[str], handle: ButtonHandler, what: str = "button"
    ) -> None:
        self._interactions.on_button(action_id, handle, what)

    def on_form(self, callback_id: str, handle: FormHandler, what: str = "form") -> None:
        self._interactions.on_form(callback_id, handle, what)

    # -- the status board ------------------------------------------------------------------
    def add_board_lines(self, source: BoardLineSource) -> None:
        """``source(incident)`` gives lines shown on the incident's board, asked at every
        rendering; a feature that changes them enqueues a board refresh itself."""
        self.board_lines.add(source)

    # -- HTTP and time ---------------------------------------------------------------------
    def add_routes(self, routes: Iterable[BaseRoute]) -> None:
        self.routes.extend(routes)

    def add_tick(
        self,
        name: str,
        every_seconds: float,
        fn: Callable[[], None],
        *,
        first_in: float | None = None,
        on_stop: Callable[[], None] | None = None,
    ) -> Tick:
        """A periodic tick on the app's one scheduler (:mod:`bot.ticks`), started and
        stopped with the app; ``first_in`` seconds to the first run (default: one
        interval; 0: at start)."""
        try:
            return self._ticks.add_tick(name, every_seconds, fn, first_in=first_in, on_stop=on_stop)
        except DuplicateTick as exc:
            raise WiringError(str(exc)) from None

    @property
    def tick_names(self) -> list[str]:
        return self._ticks.names()
