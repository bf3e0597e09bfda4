"""The app factory: the one place where settings, plan, storage, Slack and HTTP are wired.

Nothing is global: every call builds an independent app (tests build many in a process).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from pydantic import SecretStr
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount

from bot.api.routes import api_routes
from bot.chat.board import BoardLines
from bot.chat.port import ChatPlatform
from bot.config import ConfigError, Settings
from bot.domain.clock import Clock, SystemClock
from bot.domain.plan import Plan
from bot.domain.plan_file import load_plan
from bot.http import TimingMiddleware, ops_routes
from bot.incidents.archive import RoomArchiver
from bot.incidents.ingest import IngestService
from bot.incidents.room_setup import ChannelSetup
from bot.incidents.service import IncidentService
from bot.ingest.auth import WebhookAuthenticator
from bot.ingest.group_commit import GroupCommit
from bot.ingest.routes import WebhookDeps, webhook_routes
from bot.metrics import Metrics
from bot.resources import TEMPLATES_DIR
from bot.slack.authorizer import Authorizer
from bot.slack.bolt_app import build_bolt_app
from bot.slack.command_context import CommandContext
from bot.slack.command_handlers import CommandHandlers
from bot.slack.command_table import CommandTable
from bot.slack.declare import DeclareFlow
from bot.slack.directory import Directory
from bot.slack.events_route import slack_events_route
from bot.slack.gateway import SlackGateway, build_web_client
from bot.slack.interactions import Interactions
from bot.slack.listeners import register_listeners
from bot.slack.platform import SlackPlatform, SlackRenderers
from bot.slack.renderers import register_core_renderers
from bot.slack.replies import Replies
from bot.slack.socket_mode import RetryPolicy, SocketModeConnection
from bot.storage import jobs
from bot.storage.db import Database
from bot.storage.migrate import is_up_to_date
from bot.ticks import Ticks
from bot.wiring import Wiring
from bot.worker import OutboxTurn, OutboxWorker, WorkerOptions

log = structlog.get_logger(__name__)

# A feature plugs itself in through a Wiring (see bot/features.py for the default set).
Feature = Callable[[Wiring], None]

SANDBOX_PREFIX = "/sandbox/slack"
SANDBOX_WEBHOOK_TOKEN = "sandbox-webhook-token"


@dataclass
class OorApp:
    settings: Settings
    plan: Plan
    clock: Clock
    db: Database
    metrics: Metrics
    gateway: SlackGateway
    platform: ChatPlatform
    worker: OutboxWorker
    ingest: IngestService
    incidents: IncidentService
    bolt: AsyncApp
    asgi: Starlette
    emulator: Any = None  # bot.sandbox.emulator.Emulator in sandbox mode
    pagerduty_emulator: Any = None  # bot.sandbox.pagerduty.PagerDutyEmulator in sandbox mode
    wiring: Wiring | None = None
    commands: CommandHandlers | None = None  # every /oor word: the core's and the features'
    socket_mode: SocketModeConnection | None = None  # with SLACK_APP_TOKEN

    @property
    def api_url(self) -> str:
        return self.settings.slack_api_url


def create_app(
    settings: Settings,
    *,
    plan: Plan | None = None,
    clock: Clock | None = None,
    worker_options: WorkerOptions | None = None,
    start_worker: bool = True,
    platform: ChatPlatform | None = None,
    features: Iterable[Feature] | None = None,
) -> OorApp:
    """``platform``: the chat platform the outbox jobs use; Slack (the gateway) by default.
    The Slack listeners are wired either way; with another platform they are not reached.
    ``features``: the features to install (default: all of :data:`bot.features.FEATURES`);
    a test may build an app with a few."""
    if features is None:
        from bot.features import FEATURES

        features = FEATURES
    plan = plan or load_plan(settings.plan_path)
    clock = clock or SystemClock()
    emulator = pagerduty_emulator = None
    if settings.sandbox:
        from bot.sandbox.pagerduty.sandbox import sandbox_pagerduty

        settings, emulator = _sandbox_settings(settings)
        # PagerDuty emulated too, unless a real PagerDuty token is set.
        settings, plan, pagerduty_emulator = sandbox_pagerduty(
            settings, plan, _sandbox_bot_url(settings), clock
        )
    settings.check_complete()
    assert settings.slack_bot_token is not None
    signing_secret = settings.slack_signing_secret

    db = Database(settings.database_url)
    metrics = Metrics()
    turn = OutboxTurn()  # outbox jobs run Python one at a time, Slack waits overlap
    gateway = SlackGateway(
        build_web_client(
            settings.slack_bot_token.get_secret_value(),
            settings.slack_api_url,
            settings.slack_timeout_seconds,
        ),
        metrics,
        while_waiting=turn.lent,
    )
    directory = Directory(gateway)
    renderers = SlackRenderers()
    board_lines = BoardLines()  # features add theirs through the Wiring
    register_core_renderers(renderers, plan, clock, board_lines)
    platform = platform or SlackPlatform(gateway, directory, renderers)
    ingest = IngestService(db, plan)
    worker_options = worker_options or WorkerOptions(
        threads=settings.worker_threads,
        lease=timedelta(seconds=settings.job_lease_seconds),
        grace=settings.shutdown_grace_seconds,
    )
    # The worker needs the handlers and the handlers need to wake the worker: build the
    # worker with an empty table and fill it in.
    handlers: dict[str, Any] = {}
    worker = OutboxWorker(db, handlers, clock, metrics, worker_options, turn=turn)

    def count_pending() -> dict[str, int]:
        with db.session() as session:
            return jobs.pending_counts(session)

    metrics.watch_pending_jobs(count_pending)

    def check_ready() -> str | None:
        try:
            return None if is_up_to_date(db.engine) else "database schema is not migrated"
        except Exception as exc:
            return f"database unreachable: {type(exc).__name__}"

    service = IncidentService(db, clock, on_enqueued=worker.wake, plan=plan)
    declare = DeclareFlow(ingest, clock, on_stored=worker.wake)
    context = CommandContext(service, Authorizer(gateway, directory, plan), gateway)
    bolt = build_bolt_app(
        token=settings.slack_bot_token.get_secret_value(),
        signing_secret=signing_secret.get_secret_value() if signing_secret else None,
        api_url=settings.slack_api_url,
    )
    replies = Replies(gateway, context)
    interactions = Interactions(bolt, replies)
    table = CommandTable()
    commands = CommandHandlers(context, service, declare, plan, table)
    commands.register()
    register_listeners(bolt, interactions, replies, commands, context, declare, plan)
    ticks = Ticks()
    wiring = Wiring(
        settings=settings,
        plan=plan,
        clock=clock,
        db=db,
        metrics=metrics,
        platform=platform,
        renderers=renderers,
        worker=worker,
        incidents=service,
        commands=context,
        replies=replies,
        _table=table,
        _interactions=interactions,
        _ticks=ticks,
        _job_handlers=handlers,
        board_lines=board_lines,
    )
    # The core's outbox jobs, through the same registry as the features' (a kind claimed
    # twice fails here, at start-up).
    wiring.add_job_handlers(ChannelSetup(db, platform, plan, clock, worker.wake).handlers())
    wiring.add_job_handlers(RoomArchiver(db, platform, plan.archive_channel_on_close).handlers())
    for install in features:
        install(wiring)
    if pagerduty_emulator is not None:  # the emulated PagerDuty retries its webhooks
        from bot.sandbox.pagerduty.sandbox import retry_webhooks

        wiring.add_tick("sandbox.pagerduty.webhooks", 5.0, retry_webhooks(pagerduty_emulator))
    socket_mode = None
    if settings.slack_app_token is not None:
        socket_mode = SocketModeConnection(
            bolt,
            settings.slack_app_token.get_secret_value(),
            settings.slack_api_url,
            timeout=settings.slack_timeout_seconds,
            retry=RetryPolicy(cap=settings.socket_mode_retry_max_seconds),
        )

    group_commit = GroupCommit(ingest.ingest_many)
    wiring.on_stop.append(group_commit.close)
    authenticator = WebhookAuthenticator(
        secret=settings.webhook_secret.get_secret_value() if settings.webhook_secret else None,
        token=settings.webhook_token.get_secret_value() if settings.webhook_token else None,
    )
    routes: list[BaseRoute] = [
        *ops_routes(metrics, check_ready, socket_mode.readiness if socket_mode else None),
        *webhook_routes(
            WebhookDeps(authenticator, group_commit, plan, clock, metrics, on_stored=worker.wake)
        ),
        # Slack's HTTP requests need the signing secret to be verified; in Socket Mode
        # without one there is no such route at all (404), never an unverified one.
        *(
            [slack_events_route(AsyncSlackRequestHandler(bolt))]
            if signing_secret is not None
            else []
        ),
        *api_routes(
            db,
            settings.api_token.get_secret_value() if settings.api_token else None,
            _secret(settings.api_private_token),
        ),
        *wiring.routes,
    ]
    if emulator is not None:
        from bot.sandbox.emulator import create_emulator_app
        from bot.sandbox.ui import SandboxTarget, SandboxUI

        routes.append(Mount(SANDBOX_PREFIX, app=create_emulator_app(emulator)))
        bot_url = _sandbox_bot_url(settings)
        if pagerduty_emulator is not None:
            from bot.sandbox.pagerduty import create_pagerduty_app
            from bot.sandbox.pagerduty.sandbox import PREFIX as PAGERDUTY_PREFIX

            routes.append(Mount(PAGERDUTY_PREFIX, app=create_pagerduty_app(pagerduty_emulator)))
        # Set, not learned: a mounted app's request.base_url lacks the mount path, so the
        # response_urls the emulator hands out would miss /sandbox/slack and 404.
        emulator.base_url = f"{bot_url}{SANDBOX_PREFIX}/"
        assert signing_secret is not None  # the sandbox makes one up
        sandbox_ui = SandboxUI(
            emulator,
            SandboxTarget(
                base_url=bot_url,
                signing_secret=signing_secret.get_secret_value(),
                webhook_token=(
                    settings.webhook_token.get_secret_value() if settings.webhook_token else None
                ),
                webhook_secret=(
                    settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
                ),
            ),
            templates_dir=TEMPLATES_DIR,
            tz=plan.tz,
            pagerduty=pagerduty_emulator,
        )
        routes.extend(sandbox_ui.routes())
        wiring.on_stop.append(sandbox_ui.close)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        if start_worker:
            worker.start()
            for hook in wiring.on_start:
                hook()
            ticks.start()
        if socket_mode is not None:
            # In the background: the HTTP server serves webhooks and health whatever Slack does.
            socket_mode.start()
        try:
            yield
        finally:
            if socket_mode is not None:
                await socket_mode.stop()
            # Commands acked before the stop: their work is done and answered first.
            await replies.aclose()
            # HTTP requests have finished (uvicorn drains them first). Running jobs get
            # what is left of the grace period (it started at the signal, see
            # bot/server.py), the rest is given back; then the ticks stop.
            if start_worker:
                await asyncio.to_thread(worker.stop)
                await asyncio.to_thread(ticks.stop)
                for hook in wiring.on_stop:
                    hook()
            db.dispose()

    asgi = Starlette(routes=routes, lifespan=lifespan)
    asgi.add_middleware(TimingMiddleware, metrics=metrics)
    if emulator is not None:
        from bot.sandbox.host_check import HostCheckMiddleware

        asgi.add_middleware(HostCheckMiddleware, port=settings.port, hosts=[settings.host])
    return OorApp(
        settings=settings,
        plan=plan,
        clock=clock,
        db=db,
        metrics=metrics,
        gateway=gateway,
        platform=platform,
        worker=worker,
        ingest=ingest,
        incidents=service,
        wiring=wiring,
        commands=commands,
        bolt=bolt,
        asgi=asgi,
        emulator=emulator,
        pagerduty_emulator=pagerduty_emulator,
        socket_mode=socket_mode,
    )


def _sandbox_bot_url(settings: Settings) -> str:
    """Where the sandbox's bot serves (its emulators and webhooks are under it)."""
    return settings.slack_api_url.removesuffix(f"{SANDBOX_PREFIX}/api/")


def _sandbox_settings(settings: Settings) -> tuple[Settings, Any]:
    """No Slack token: run against the built-in emulator, served by this same server."""
    from bot.sandbox.emulator import Emulator
    from bot.sandbox.workspace import SANDBOX_BOT_TOKEN, seed_demo_workspace

    if settings.slack_app_token is not None:
        raise ConfigError(
            "SLACK_APP_TOKEN: set SLACK_BOT_TOKEN too (Socket Mode receives Slack's requests; "
            "the bot token makes the Web API calls)"
        )
    emulator = Emulator(bot_token=SANDBOX_BOT_TOKEN)
    seed_demo_workspace(emulator)
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    updates: dict[str, Any] = {
        "slack_bot_token": SANDBOX_BOT_TOKEN,
        "slack_signing_secret": settings.slack_signing_secret or secrets.token_hex(16),
        "slack_api_url": f"http://{host}:{settings.port}{SANDBOX_PREFIX}/api/",
    }
    if settings.webhook_secret is None and settings.webhook_token is None:
        updates["webhook_token"] = SANDBOX_WEBHOOK_TOKEN
    from pydantic import SecretStr

    for key in ("slack_bot_token", "slack_signing_secret", "webhook_token"):
        if key in updates and isinstance(updates[key], str):
            updates[key] = SecretStr(updates[key])
    return settings.model_copy(update=updates), emulator


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None
