"""Time source of the drain Lambda.

Every module reads the time through a :class:`Clock` handed to it, never through ``time`` directly,
so tests can drive a whole multi-hour drain in virtual time. Nothing in the Lambda sleeps: waiting
is done by re-enqueueing a delayed SQS message.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the current time as seconds since the Unix epoch."""

    def now(self) -> float:
        """Current time (epoch seconds, UTC)."""
        ...


class SystemClock:
    """The wall clock (the default in Lambda)."""

    def now(self) -> float:
        """Current wall-clock time."""
        return time.time()


def iso8601(epoch_seconds: float) -> str:
    """Format epoch seconds as an ISO-8601 UTC timestamp with a ``Z`` suffix."""
    return datetime.fromtimestamp(epoch_seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso8601(text: str) -> float | None:
    """Parse an ISO-8601 timestamp (as in an EventBridge envelope's ``time``); None when unparsable."""
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()
