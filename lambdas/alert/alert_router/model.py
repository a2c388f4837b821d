"""The normalized alert every input message is turned into."""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

MAX_DEDUP_KEY_LENGTH = 255


class Action(enum.Enum):
    """Whether an alert opens (or updates) an incident or closes it."""

    TRIGGER = "trigger"
    RESOLVE = "resolve"


class Severity(enum.Enum):
    """Alert severity, ordered from most to least urgent."""

    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"

    @classmethod
    def parse(cls, value: object) -> Severity | None:
        """Return the severity named by ``value`` (case-insensitive), or None."""
        if not isinstance(value, str):
            return None
        try:
            return cls(value.strip().lower())
        except ValueError:
            return None


@dataclass(frozen=True)
class Link:
    """A hyperlink attached to an alert (e.g. the AWS console page of the alarm)."""

    href: str
    text: str


@dataclass(frozen=True)
class Alert:
    """One alert, independent of where it came from and where it goes.

    ``dedup_key`` is stable for one underlying problem so that a trigger and its resolve pair up
    and repeated triggers update the same incident. ``source`` names the affected system
    (PagerDuty's ``payload.source``); ``origin`` names the producer of the message.
    """

    dedup_key: str
    action: Action
    severity: Severity
    summary: str
    source: str
    origin: str
    environment: str
    timestamp: datetime
    component: str = ""
    group: str = ""
    event_class: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    links: tuple[Link, ...] = ()

    @property
    def console_url(self) -> str | None:
        """The first link's URL, if any."""
        return self.links[0].href if self.links else None


def make_dedup_key(*parts: str) -> str:
    """Join ``parts`` into a dedup key of at most 255 characters.

    Over-long keys keep a readable prefix and end with a hash of the full key, so they stay
    stable and unique.
    """
    key = ":".join(part.strip() for part in parts)
    if len(key) <= MAX_DEDUP_KEY_LENGTH:
        return key
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return f"{key[: MAX_DEDUP_KEY_LENGTH - len(digest) - 1]}~{digest}"


def truncate(text: str, limit: int) -> str:
    """Return ``text`` cut to at most ``limit`` characters, marking the cut with an ellipsis."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)] + "…"
