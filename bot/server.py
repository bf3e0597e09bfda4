"""``oor-bot serve``: migrate, build the app, serve it with uvicorn.

In Socket Mode the app itself (its lifespan) connects to Slack in the background, so the
HTTP server (webhooks, health, metrics) serves from the start whatever Slack does.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable

import structlog
import uvicorn

from bot.app import SANDBOX_PREFIX, OorApp, create_app
from bot.config import Settings
from bot.domain.plan_file import load_plan
from bot.storage.migrate import upgrade_url

log = structlog.get_logger(__name__)


def migrate(settings: Settings) -> None:
    upgrade_url(settings.database_url)


def serve(settings: Settings) -> None:
    plan = load_plan(settings.plan_path)
    migrate(settings)
    app = create_app(settings, plan=plan)
    _announce(app)
    # uvicorn.run, taken apart only to learn when start-up is over.
    config = _uvicorn_config(app)
    with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
        runner.run(_serve_http(uvicorn.Server(config), on_started=settle_heap))


# A full collection only after 100 collections of the middle generation (Python's default
# is 10). With the start-up heap frozen, the oldest generation holds mostly requests still
# in progress; under slash-command load (150/s, or 16 connections unpaced) walking them
# took 30-130 ms every 2-3 seconds, and with 100 no full collection came in a 15 s run.
GC_THRESHOLDS = (700, 10, 100)


def settle_heap() -> None:
    """Take what start-up built out of the garbage collector's reach.

    Start-up leaves ~200k long-lived objects (modules, SQLAlchemy mappers and compiled
    statements, Bolt, pydantic models, the plan). Python's full collections walk all of
    them, holding the GIL for 80-170 ms while every request waits; measured, those pauses
    were most of the webhook and ack latency tail. Frozen objects are never collected —
    they live as long as the process anyway — so later full collections only walk what
    was allocated since.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


async def _serve_http(server: uvicorn.Server, on_started: Callable[[], None]) -> None:
    async def when_started() -> None:
        while not server.started:
            await asyncio.sleep(0.05)
        on_started()

    watcher = asyncio.create_task(when_started())
    try:
        await server.serve()
    finally:
        watcher.cancel()


def _uvicorn_config(app: OorApp) -> uvicorn.Config:
    return uvicorn.Config(
        app.asgi,
        host=app.settings.host,
        port=app.settings.port,
        log_level="warning",
        access_log=False,
        lifespan="on",
    )


def _announce(app: OorApp) -> None:
    base = f"http://{app.settings.host}:{app.settings.port}"
    if app.emulator is not None:
        # The page is what a newcomer wants: a browsable address (not 0.0.0.0) in the message.
        host = "127.0.0.1" if app.settings.host in ("0.0.0.0", "::") else app.settings.host
        page = f"http://{host}:{app.settings.port}/sandbox"
        log.warning(f"SANDBOX MODE: open {page} in your browser to use the bot", page=page)
        log.warning(
            "SANDBOX MODE: no SLACK_BOT_TOKEN, so Slack is the built-in emulator",
            emulator=f"{base}{SANDBOX_PREFIX}/_emulator/state",
            webhook=f"{base}/webhooks/oor",
            webhook_auth="Authorization: Bearer sandbox-webhook-token",
        )
    log.info(
        "oor-bot serving",
        url=base,
        plan=str(app.settings.plan_path),
        database=app.db.engine.url.render_as_string(hide_password=True),
        slack="socket mode" if app.socket_mode is not None else "http (/slack/events)",
    )
