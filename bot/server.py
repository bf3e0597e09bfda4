"""``oor-bot serve``: migrate, build the app, serve it with uvicorn.

In Socket Mode the app itself (its lifespan) connects to Slack in the background, so the
HTTP server (webhooks, health, metrics) serves from the start whatever Slack does.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import math
import os
import signal
import socket
import threading
from collections.abc import Callable, Generator
from functools import partial
from types import FrameType

import structlog
import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.app import SANDBOX_PREFIX, OorApp, create_app
from bot.config import Settings
from bot.domain.plan import Plan
from bot.domain.plan_file import load_plan
from bot.storage.migrate import upgrade_url
from bot.supervisor import Supervisor

log = structlog.get_logger(__name__)


def migrate(settings: Settings) -> None:
    upgrade_url(settings.database_url)
    log.info("database schema up to date", pid=os.getpid())


def serve(settings: Settings, processes: int = 1) -> int:
    """Serve until stopped; the exit status.

    With ``processes`` > 1 the parent migrates (once, before any process serves), binds the
    port and supervises that many forked copies of the single-process server on it.
    """
    plan = load_plan(settings.plan_path)
    migrate(settings)
    if processes == 1:
        _serve_process(settings, plan)
        return 0
    sock = uvicorn.Config(app=_no_app, host=settings.host, port=settings.port).bind_socket()
    log.info("oor-bot serving with several processes", processes=processes, pid=os.getpid())
    # What start-up built is shared with every child copy-on-write: keep the collector
    # from touching (and so copying) it in each of them.
    gc.collect()
    gc.freeze()
    try:
        return Supervisor(processes, partial(_serve_process, settings, plan), sock).run()
    finally:
        sock.close()


def _serve_process(settings: Settings, plan: Plan, sock: socket.socket | None = None) -> None:
    """One server process: the whole app, on its own port or on a socket it shares."""
    app = create_app(settings, plan=plan)
    _announce(app)
    # uvicorn.run, taken apart to learn when start-up is over and when stopping begins.
    config = _uvicorn_config(app, shared=sock is not None)
    with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
        server = GracefulServer(config, on_signal=app.worker.stop_claiming)
        sockets = None if sock is None else [sock]
        runner.run(_serve_http(server, app, on_started=settle_heap, sockets=sockets))


async def _no_app(scope: Scope, receive: Receive, send: Send) -> None:
    """Only there to let uvicorn's Config bind the socket the children serve on."""
    raise RuntimeError("the supervisor serves nothing itself")


def with_process_header(app: ASGIApp) -> ASGIApp:
    """Name the process that answered (``x-oor-process: <pid>``) when several share a
    port: which one served a request is then in the response (and in a load balancer's
    logs), not a guess."""
    header = (b"x-oor-process", str(os.getpid()).encode())

    async def named(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def send_named(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), header]}
            await send(message)

        await app(scope, receive, send_named)

    return named


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


class GracefulServer(uvicorn.Server):
    """uvicorn's server, except that a SIGTERM or SIGINT it shut down for ends the process
    with status 0.

    uvicorn (0.29+) raises the signal again once its graceful shutdown is over, so that
    the default handler ends the process: a clean stop then reads as "killed by SIGTERM"
    (status 143) to Kubernetes, systemd and Docker. This installs the same handler on the
    same signals and puts the previous ones back, without raising the signal again. A
    second SIGINT still forces the exit (uvicorn's ``handle_exit``).

    ``on_signal`` runs inside the signal handler, before anything else can claim work.
    """

    def __init__(self, config: uvicorn.Config, on_signal: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_signal = on_signal

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._on_signal()
        super().handle_exit(sig, frame)

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        if threading.current_thread() is not threading.main_thread():
            yield  # signals reach the main thread only (tests serve from others)
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


async def _serve_http(
    server: uvicorn.Server,
    app: OorApp,
    on_started: Callable[[], None],
    sockets: list[socket.socket] | None = None,
) -> None:
    """Serve until a signal; the outbox starts stopping the moment it arrives.

    uvicorn first lets in-flight requests finish (up to the grace period) and only then
    runs the app's shutdown; the worker's grace period must not wait for that, so it
    starts here, alongside. The signal handler itself only stops claiming; the rest takes
    locks, so it is done from here, watching uvicorn's flags.
    """

    async def watch() -> None:
        while not server.started:
            await asyncio.sleep(0.05)
        on_started()
        while not server.should_exit:
            await asyncio.sleep(0.05)
        app.worker.begin_stop()
        while not server.force_exit:  # a second Ctrl+C: give everything back now
            await asyncio.sleep(0.05)
        app.worker.end_grace()

    watcher = asyncio.create_task(watch())
    try:
        await server.serve(sockets=sockets)
    finally:
        watcher.cancel()
        if server.force_exit:
            app.worker.end_grace()


def _uvicorn_config(app: OorApp, shared: bool = False) -> uvicorn.Config:
    return uvicorn.Config(
        with_process_header(app.asgi) if shared else app.asgi,
        host=app.settings.host,
        port=app.settings.port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        # In-flight requests get the same grace period as running outbox jobs, in parallel.
        timeout_graceful_shutdown=math.ceil(app.settings.shutdown_grace_seconds),
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
