"""Logging: structlog to stderr, in English, with every event passed through redaction."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from dsnlink.redaction import redact


def _redact_processor(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    # Exceptions are rendered before this step (format_exc_info), so their text is redacted too.
    return redact(dict(event_dict))  # type: ignore[no-any-return]


def configure_logging(level: str = "WARNING", *, json: bool = False) -> None:
    """Configure structlog and the standard library's logging for this process."""
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.WARNING)
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            _redact_processor,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=numeric, stream=sys.stderr, force=True)
    # httpx logs request lines at INFO; they could carry idflux but never secrets. Keep quiet.
    logging.getLogger("httpx").setLevel(max(numeric, logging.WARNING))
    # alembic announces its context on every schema check: noise for people.
    logging.getLogger("alembic").setLevel(max(numeric, logging.WARNING))


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
