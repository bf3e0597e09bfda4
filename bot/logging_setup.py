"""structlog configuration for the ``oor-bot`` process (console or JSON lines).

Secrets never reach a log line: settings hold them as ``SecretStr`` and nothing logs
request headers or bodies.
"""

from __future__ import annotations

import logging

import structlog


def configure_logging(
    level: str = "info", fmt: str = "console", *, cache_loggers: bool = True
) -> None:
    """``cache_loggers``: each logger resolves its configuration once, on first use (cheaper
    per line). Tests that run the CLI in-process turn it off, or a logger first used there
    would ignore ``structlog.testing.capture_logs`` in later tests."""
    numeric = getattr(logging, level.upper(), logging.INFO)
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        cache_logger_on_first_use=cache_loggers,
    )
    logging.basicConfig(level=max(numeric, logging.WARNING), format="%(name)s: %(message)s")
