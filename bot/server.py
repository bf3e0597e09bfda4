"""``oor-bot serve``: migrate, build the app, serve it with uvicorn (or Socket Mode)."""

from __future__ import annotations

import asyncio

import structlog
import uvicorn

from bot.app import SANDBOX_PREFIX, OorApp, create_app
from bot.config import Settings
from bot.domain.plan import load_plan
from bot.storage.db import Database
from bot.storage.migrate import upgrade

log = structlog.get_logger(__name__)


def migrate(settings: Settings) -> None:
    db = Database(settings.database_url)
    try:
        upgrade(db.engine)
    finally:
        db.dispose()


def serve(settings: Settings) -> None:
    plan = load_plan(settings.plan_path)
    migrate(settings)
    app = create_app(settings, plan=plan)
    _announce(app)
    if app.settings.slack_app_token is not None:
        asyncio.run(_serve_with_socket_mode(app))
        return
    uvicorn.run(
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
    )


async def _serve_with_socket_mode(app: OorApp) -> None:
    """Slack events over Socket Mode; webhooks and health still over HTTP."""
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    assert app.settings.slack_app_token is not None
    handler = AsyncSocketModeHandler(app.bolt, app.settings.slack_app_token.get_secret_value())
    config = uvicorn.Config(
        app.asgi,
        host=app.settings.host,
        port=app.settings.port,
        log_level="warning",
        access_log=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    await handler.connect_async()
    try:
        await server.serve()
    finally:
        await handler.close_async()
