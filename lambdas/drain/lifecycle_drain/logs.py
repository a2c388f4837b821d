"""Structured JSON logging for the drain Lambda.

Each log line is one JSON object: ``{"level", "event", "message"?, ...fields}``. Loggers can be
bound to context fields (token, instance, ASG) so every line of one drain carries them. Lines go
through the standard :mod:`logging` module (logger ``rudder_ha.drain``), which Lambda forwards to
CloudWatch Logs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

LOGGER_NAME = "rudder_ha.drain"


def _json_default(value: object) -> str:
    """Render values json cannot (sets, exceptions, enums) as text."""
    if isinstance(value, set | frozenset):
        return json.dumps(sorted(str(item) for item in value))
    return str(value)


class JsonLogger:
    """Writes one JSON object per line, with bound context fields."""

    def __init__(self, name: str = LOGGER_NAME, context: Mapping[str, Any] | None = None) -> None:
        """Create a logger writing to the stdlib logger ``name``."""
        self._logger = logging.getLogger(name)
        if self._logger.level == logging.NOTSET:
            self._logger.setLevel(logging.INFO)
        self._context: dict[str, Any] = dict(context or {})

    @property
    def name(self) -> str:
        """Name of the underlying stdlib logger."""
        return self._logger.name

    def bind(self, **fields: Any) -> JsonLogger:
        """A logger whose lines also carry ``fields`` (None values are left out)."""
        merged = {**self._context, **{key: value for key, value in fields.items() if value is not None}}
        return JsonLogger(self._logger.name, merged)

    def render(self, level: str, event: str, fields: Mapping[str, Any]) -> str:
        """The JSON line for one log record."""
        record: dict[str, Any] = {"level": level, "event": event, **self._context}
        record.update({key: value for key, value in fields.items() if value is not None})
        return json.dumps(record, default=_json_default, sort_keys=False)

    def _emit(self, level: int, name: str, event: str, fields: Mapping[str, Any]) -> None:
        """Render and emit when the level is enabled."""
        if self._logger.isEnabledFor(level):
            self._logger.log(level, self.render(name, event, fields))

    def debug(self, event: str, **fields: Any) -> None:
        """Log a debug line."""
        self._emit(logging.DEBUG, "debug", event, fields)

    def info(self, event: str, **fields: Any) -> None:
        """Log an info line."""
        self._emit(logging.INFO, "info", event, fields)

    def warning(self, event: str, **fields: Any) -> None:
        """Log a warning line."""
        self._emit(logging.WARNING, "warning", event, fields)

    def error(self, event: str, **fields: Any) -> None:
        """Log an error line."""
        self._emit(logging.ERROR, "error", event, fields)
