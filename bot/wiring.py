"""What a feature gets to plug itself into the app, in one place.

The app factory builds the core (storage, Slack gateway, outbox worker, Bolt app, the
six-step commands) and then hands a :class:`Wiring` to each feature's ``install``
function, which registers its job handlers, ``/oor`` words, Bolt listeners, HTTP routes
and start/stop hooks. Features never reach for globals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slack_bolt.async_app import AsyncApp
from starlette.routing import BaseRoute

from bot.chat.port import ChatPlatform
from bot.config import Settings
from bot.domain.clock import Clock
from bot.domain.plan import Plan
from bot.incidents.service import IncidentService
from bot.metrics import Metrics
from bot.slack.command_handlers import CommandHandlers
from bot.slack.directory import Directory
from bot.slack.gateway import SlackGateway
from bot.slack.platform import SlackRenderers
from bot.storage.db import Database
from bot.worker import JobHandler, OutboxWorker


@dataclass
class Wiring:
    settings: Settings
    plan: Plan
    clock: Clock
    db: Database
    metrics: Metrics
    gateway: SlackGateway
    directory: Directory
    # The chat platform the outbox jobs talk to (Slack unless the app was given another),
    # and the Slack renderings of message kinds, where features register their own.
    platform: ChatPlatform
    renderers: SlackRenderers
    worker: OutboxWorker
    incidents: IncidentService
    commands: CommandHandlers
    bolt: AsyncApp
    job_handlers: dict[str, JobHandler]
    routes: list[BaseRoute] = field(default_factory=list)
    on_start: list[Callable[[], None]] = field(default_factory=list)
    on_stop: list[Callable[[], None]] = field(default_factory=list)
    # Anything a feature exposes for tests and the CLI, by name.
    exposed: dict[str, Any] = field(default_factory=dict)
