"""structlog set-up: one JSON event per line on stdout."""

from __future__ import annotations

import logging
import sys

import structlog

from inspectd.config.logs import LoggingConfig


def configure_logging(settings: LoggingConfig) -> None:
    """Route structlog (and stdlib logging, e.g. paho) to stdout as JSON lines or console lines."""
    level = getattr(logging, settings.level.upper())
    renderer = structlog.processors.JSONRenderer() if settings.json else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        # No file argument: each line goes to the sys.stdout of the moment, not one captured at set-up.
        logger_factory=structlog.PrintLoggerFactory(),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=max(level, logging.WARNING), stream=sys.stdout, format="%(name)s %(levelname)s %(message)s")
