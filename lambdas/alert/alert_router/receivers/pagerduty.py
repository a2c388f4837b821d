"""PagerDuty Events API v2 (``POST /v2/enqueue``; 202 Accepted on success).

Triggers carry the full payload; resolves carry only routing key, action and dedup key.
``info`` triggers are not sent: they would open an incident, and info is for the record only.
"""

from __future__ import annotations

from typing import Any

from ..model import Action, Alert, Severity, truncate
from .base import Receiver

MAX_SUMMARY = 1024
CLIENT = "rudder-ha alert router"


def pagerduty_timestamp(alert: Alert) -> str:
    """ISO-8601 UTC timestamp with milliseconds, e.g. ``2024-05-01T10:00:00.000Z``."""
    return alert.timestamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class PagerDutyReceiver(Receiver):
    """Sends Events API v2 events to one routing key."""

    name = "pagerduty"
    allowed_hosts = frozenset({"events.pagerduty.com", "events.eu.pagerduty.com"})
    """The Events API v2 hosts of the US and EU service regions."""

    def __init__(self, events_url: str, routing_key: str) -> None:
        """Target ``events_url`` with the integration's ``routing_key``."""
        self._url = events_url
        self._routing_key = routing_key

    @property
    def url(self) -> str:
        """The Events API endpoint."""
        return self._url

    def build(self, alert: Alert) -> dict[str, Any] | None:
        """Return the Events API v2 body for ``alert``."""
        base = {"routing_key": self._routing_key, "dedup_key": alert.dedup_key}
        if alert.action is Action.RESOLVE:
            return {**base, "event_action": "resolve"}
        if alert.severity is Severity.INFO:
            return None
        payload: dict[str, Any] = {
            "summary": truncate(alert.summary, MAX_SUMMARY),
            "source": alert.source or f"{alert.group or alert.environment}",
            "severity": alert.severity.value,
            "timestamp": pagerduty_timestamp(alert),
            "custom_details": {**alert.details, "environment": alert.environment, "origin": alert.origin},
        }
        for key, value in (
            ("component", alert.component),
            ("group", alert.group),
            ("class", alert.event_class),
        ):
            if value:
                payload[key] = value
        body: dict[str, Any] = {**base, "event_action": "trigger", "payload": payload, "client": CLIENT}
        if alert.links:
            body["links"] = [{"href": link.href, "text": link.text} for link in alert.links]
            body["client_url"] = alert.links[0].href
        return body
