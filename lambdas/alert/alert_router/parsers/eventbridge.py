"""EventBridge events forwarded to SNS as raw JSON (no input transformer).

These have no "resolved" counterpart, so every one is a trigger; the dedup key is per Auto
Scaling group and event type, so repeated failures of one group add to one open incident
instead of opening new ones. Known Auto Scaling types get the severities in
:data:`AUTOSCALING_SEVERITIES`; any other ``... Successful`` type is ``info`` and any other
event is ``warning``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..config import Settings
from ..model import Action, Alert, Link, Severity, make_dedup_key, truncate
from .common import asg_console_url, optional_dict, optional_str, parse_timestamp, require_str, slug

AUTOSCALING_SEVERITIES = {
    "EC2 Instance Launch Unsuccessful": Severity.CRITICAL,
    "EC2 Instance Terminate Unsuccessful": Severity.WARNING,
}


def is_eventbridge_event(document: dict[str, Any]) -> bool:
    """Tell whether ``document`` looks like an EventBridge event."""
    return "detail-type" in document and "source" in document


def _severity(detail_type: str) -> Severity:
    """Severity of an event type (see the module docstring)."""
    if detail_type in AUTOSCALING_SEVERITIES:
        return AUTOSCALING_SEVERITIES[detail_type]
    if detail_type.endswith(" Successful"):
        return Severity.INFO
    return Severity.WARNING


def parse_eventbridge_event(document: dict[str, Any], settings: Settings, received_at: datetime) -> Alert:
    """Turn one EventBridge event into a trigger-only :class:`Alert`."""
    detail_type = require_str(document, "detail-type")
    source = require_str(document, "source")
    detail = optional_dict(document, "detail")
    region = optional_str(document, "region") or settings.region
    raw_resources = document.get("resources")
    resources = [r for r in raw_resources if isinstance(r, str)] if isinstance(raw_resources, list) else []
    asg_name = optional_str(detail, "AutoScalingGroupName")
    instance_id = optional_str(detail, "EC2InstanceId")
    cause = (
        optional_str(detail, "StatusMessage") or optional_str(detail, "Cause") or optional_str(detail, "Description")
    )

    if asg_name:
        dedup_key = make_dedup_key(settings.project, settings.environment, "asg", asg_name, slug(detail_type))
        subject = f"{asg_name} ({instance_id})" if instance_id else asg_name
    else:
        first_resource = resources[0] if resources else ""
        dedup_key = make_dedup_key(
            settings.project, settings.environment, "event", source, slug(detail_type), first_resource
        )
        subject = first_resource or source

    headline = f"[{settings.environment}] {detail_type}: {subject}"
    console = asg_console_url(region, asg_name)
    return Alert(
        dedup_key=dedup_key,
        action=Action.TRIGGER,
        severity=_severity(detail_type),
        summary=truncate(f"{headline} - {cause}" if cause else headline, 1024),
        source=instance_id or asg_name or subject,
        origin=source,
        environment=settings.environment,
        timestamp=parse_timestamp(document.get("time"), received_at),
        component=asg_name,
        group=f"{settings.project}-{settings.environment}",
        event_class=detail_type,
        details={
            "detail_type": detail_type,
            "source": source,
            "account": optional_str(document, "account"),
            "region": region,
            "event_id": optional_str(document, "id"),
            "resources": resources,
            "detail": detail,
        },
        links=(Link(console, "Auto Scaling group activity"),) if console else (),
    )
