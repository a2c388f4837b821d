"""Structured JSON log lines, with every known secret value scrubbed before it is written."""

from __future__ import annotations

import json
import logging
import threading
from typing import Any
from urllib.parse import urlsplit

LOGGER_NAME = "alert_router"
REDACTED = "[REDACTED]"
_MIN_SECRET_LENGTH = 6

_logger = logging.getLogger(LOGGER_NAME)
_secrets: set[str] = set()
_lock = threading.Lock()


def configure(level: str) -> None:
    """Set the router's log level (the Lambda runtime's root logger defaults to WARNING)."""
    _logger.setLevel(getattr(logging, level, logging.INFO))


def register_secret(value: str) -> None:
    """Remember ``value`` (and, for URLs, their path and query) so it never reaches a log line."""
    candidates = {value.strip()}
    parts = urlsplit(value.strip())
    if parts.scheme and parts.netloc:
        candidates.update({parts.path, parts.query})
    with _lock:
        _secrets.update(c for c in candidates if len(c) >= _MIN_SECRET_LENGTH)


def scrub(text: str) -> str:
    """Replace every registered secret inside ``text``; longest first so overlaps vanish whole."""
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text


def log(level: int, event: str, **fields: Any) -> None:
    """Write one JSON log line ``{"event": ..., **fields}`` at ``level``."""
    if not _logger.isEnabledFor(level):
        return
    line = json.dumps({"level": logging.getLevelName(level), "event": event, **fields}, default=str)
    _logger.log(level, scrub(line))


def info(event: str, **fields: Any) -> None:
    """Log at INFO."""
    log(logging.INFO, event, **fields)


def warning(event: str, **fields: Any) -> None:
    """Log at WARNING."""
    log(logging.WARNING, event, **fields)


def error(event: str, **fields: Any) -> None:
    """Log at ERROR."""
    log(logging.ERROR, event, **fields)
