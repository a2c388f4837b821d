"""Splunk On-Call (VictorOps) REST endpoint integration.

The integration URL already holds the API key and routing key. ``entity_id`` is the dedup key,
so a ``RECOVERY`` closes the incident its ``CRITICAL``/``WARNING`` opened.
"""

from __future__ import annotations

import json
from typing import Any

from ..model import Action, Alert, Severity, truncate
from .base import Receiver

MONITORING_TOOL = "rudder-ha alert router"
MESSAGE_TYPES = {Severity.CRITICAL: "CRITICAL", Severity.WARNING: "WARNING", Severity.INFO: "INFO"}
MAX_DISPLAY_NAME = 255
MAX_STATE_MESSAGE = 8000


class VictorOpsReceiver(Receiver):
    """Posts REST-endpoint alerts."""

    name = "victorops"
    allowed_hosts = frozenset({"alert.victorops.com"})
    """The REST endpoint integration host."""

    def __init__(self, integration_url: str) -> None:
        """Target the integration URL (a secret)."""
        self._url = integration_url

    @property
    def url(self) -> str:
        """The integration URL."""
        return self._url

    def build(self, alert: Alert) -> dict[str, Any]:
        """Return the REST endpoint body for ``alert``."""
        message_type = "RECOVERY" if alert.action is Action.RESOLVE else MESSAGE_TYPES[alert.severity]
        details = json.dumps(alert.details, indent=2, sort_keys=True, default=str)
        body: dict[str, Any] = {
            "message_type": message_type,
            "entity_id": alert.dedup_key,
            "entity_display_name": truncate(alert.summary, MAX_DISPLAY_NAME),
            "state_message": truncate(f"{alert.summary}\n\n{details}", MAX_STATE_MESSAGE),
            "state_start_time": int(alert.timestamp.timestamp()),
            "monitoring_tool": MONITORING_TOOL,
            "environment": alert.environment,
            "severity": alert.severity.value,
            "origin": alert.origin,
            "source": alert.source,
        }
        for link in alert.links:
            body[f"vo_annotate.u.{link.text}"] = link.href
        return body
