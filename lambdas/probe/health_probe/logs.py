"""One structured JSON line per log event."""

from __future__ import annotations

import json
import logging
from typing import Any

_logger = logging.getLogger("health_probe")
_logger.setLevel(logging.INFO)  # the Lambda runtime's root logger defaults to WARNING


def log(level: int, event: str, **fields: Any) -> None:
    """Write ``{"level", "event", **fields}`` as one JSON line."""
    _logger.log(level, json.dumps({"level": logging.getLevelName(level), "event": event, **fields}, default=str))
