"""Messages from the project's own drain Lambda (``"source": "rudder-ha.drain"``).

Shape: ``{"source", "kind", "environment", "instance_id", "asg_name", "summary", "details"}``;
``kind`` and ``instance_id`` are required. The dedup key is per environment and instance, so
``drain_deadline_exceeded`` (critical trigger) and a later ``drain_completed`` (resolve) of the
same instance pair up. Other kinds: ``*_completed``/``*_succeeded``/``*_resolved`` resolve;
``*_exceeded``/``*_failed``/``*_error`` trigger as critical; anything else triggers as info
(Slack and the Splunk On-Call timeline only; PagerDuty is not paged for info). An optional
``severity`` field (critical/warning/info) overrides a trigger's severity.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..config import Settings
from ..model import Action, Alert, Link, Severity, make_dedup_key, truncate
from .common import instance_console_url, optional_dict, optional_str, parse_timestamp, require_str

DRAIN_SOURCE = "rudder-ha.drain"
_RESOLVE_SUFFIXES = ("_completed", "_succeeded", "_resolved")
_CRITICAL_SUFFIXES = ("_exceeded", "_failed", "_error")


def is_drain_message(document: dict[str, Any]) -> bool:
    """Tell whether ``document`` comes from the drain Lambda."""
    return document.get("source") == DRAIN_SOURCE


def classify_kind(kind: str) -> tuple[Action, Severity]:
    """Return the action and default severity of a drain message ``kind``."""
    if kind.endswith(_RESOLVE_SUFFIXES):
        return Action.RESOLVE, Severity.INFO
    if kind.endswith(_CRITICAL_SUFFIXES):
        return Action.TRIGGER, Severity.CRITICAL
    return Action.TRIGGER, Severity.INFO


def parse_drain_message(document: dict[str, Any], settings: Settings, received_at: datetime) -> Alert:
    """Turn one drain Lambda message into an :class:`Alert`."""
    kind = require_str(document, "kind")
    instance_id = require_str(document, "instance_id")
    environment = optional_str(document, "environment") or settings.environment
    asg_name = optional_str(document, "asg_name")
    action, severity = classify_kind(kind)
    override = Severity.parse(document.get("severity"))
    if override is not None and action is Action.TRIGGER:
        severity = override

    where = f"{instance_id} ({asg_name})" if asg_name else instance_id
    text = optional_str(document, "summary") or f"{kind.replace('_', ' ')} on {where}"
    console = instance_console_url(settings.region, instance_id)
    return Alert(
        dedup_key=make_dedup_key(settings.project, environment, "drain", instance_id),
        action=action,
        severity=severity,
        summary=truncate(f"[{environment}] {text}", 1024),
        source=instance_id,
        origin=DRAIN_SOURCE,
        environment=environment,
        timestamp=parse_timestamp(document.get("timestamp") or document.get("time"), received_at),
        component=asg_name,
        group=f"{settings.project}-{environment}",
        event_class=kind,
        details={
            **optional_dict(document, "details"),
            "kind": kind,
            "instance_id": instance_id,
            "asg_name": asg_name,
        },
        links=(Link(console, "EC2 instance"),) if console else (),
    )
