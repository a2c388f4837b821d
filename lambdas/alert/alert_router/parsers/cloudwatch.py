"""CloudWatch alarm state-change notifications (the JSON CloudWatch publishes to SNS).

Severity convention, first match wins:

1. a ``severity=critical|warning|info`` token (``:`` also accepted, case-insensitive) anywhere
   in ``AlarmDescription``;
2. a ``critical``/``crit``, ``warning``/``warn`` or ``info`` word in ``AlarmName`` (words are
   split on any non-alphanumeric character, e.g. ``prod-rudder-up-critical``);
3. otherwise ``critical``: an alarm nobody labelled is assumed to matter.

States: ``ALARM`` triggers at that severity; ``OK`` resolves; ``INSUFFICIENT_DATA`` triggers
at most at ``warning`` (the metric stopped arriving, which is worth a look but is not proof of
an outage) on the same dedup key, so it is never a resolve and a later ``OK`` closes it.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from ..config import Settings
from ..errors import UnsupportedMessageError
from ..model import Action, Alert, Link, Severity, make_dedup_key, truncate
from .common import (
    alarm_console_url,
    optional_dict,
    optional_str,
    parse_timestamp,
    region_from_arn,
    require_str,
)

ORIGIN = "cloudwatch"
STATES = ("ALARM", "OK", "INSUFFICIENT_DATA")
_SEVERITY_TOKEN = re.compile(r"\bseverity\s*[=:]\s*(critical|warning|info)\b", re.IGNORECASE)
_NAME_WORDS = {
    "critical": Severity.CRITICAL,
    "crit": Severity.CRITICAL,
    "warning": Severity.WARNING,
    "warn": Severity.WARNING,
    "info": Severity.INFO,
}


def is_cloudwatch_alarm(document: dict[str, Any]) -> bool:
    """Tell whether ``document`` looks like a CloudWatch alarm notification."""
    return "AlarmName" in document and "NewStateValue" in document


def alarm_severity(alarm_name: str, description: str) -> Severity:
    """Apply the module's severity convention to an alarm."""
    token = _SEVERITY_TOKEN.search(description)
    if token:
        return Severity(token.group(1).lower())
    for word in re.split(r"[^a-z0-9]+", alarm_name.lower()):
        if word in _NAME_WORDS:
            return _NAME_WORDS[word]
    return Severity.CRITICAL


def _dimensions(trigger: dict[str, Any]) -> dict[str, str]:
    """Return the metric's dimensions as name -> value (CloudWatch uses lower-case keys here)."""
    result: dict[str, str] = {}
    raw = trigger.get("Dimensions")
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, dict):
            name = item.get("name", item.get("Name"))
            value = item.get("value", item.get("Value"))
            if isinstance(name, str) and value is not None:
                result[name] = str(value)
    return result


def parse_cloudwatch_alarm(document: dict[str, Any], settings: Settings, received_at: datetime) -> Alert:
    """Turn one alarm notification into an :class:`Alert`."""
    name = require_str(document, "AlarmName")
    state = optional_str(document, "NewStateValue")
    if state not in STATES:
        raise UnsupportedMessageError("unknown NewStateValue")
    description = optional_str(document, "AlarmDescription")
    arn = optional_str(document, "AlarmArn")
    account = optional_str(document, "AWSAccountId")
    partition, region = region_from_arn(arn) or ("aws", settings.region)
    identity = arn or f"arn:{partition}:cloudwatch:{region}:{account}:alarm:{name}"
    trigger = optional_dict(document, "Trigger")
    dimensions = _dimensions(trigger)
    reason = optional_str(document, "NewStateReason")

    severity = alarm_severity(name, description)
    if state == "OK":
        action, headline = Action.RESOLVE, f"{name} is OK"
    elif state == "ALARM":
        action, headline = Action.TRIGGER, f"{name} is in ALARM"
    else:
        action, headline = Action.TRIGGER, f"{name} has INSUFFICIENT_DATA"
        severity = Severity.INFO if severity is Severity.INFO else Severity.WARNING

    console = alarm_console_url(region, name, partition)
    return Alert(
        dedup_key=make_dedup_key(settings.project, settings.environment, "alarm", identity),
        action=action,
        severity=severity,
        summary=truncate(f"[{settings.environment}] {headline}" + (f": {reason}" if reason else ""), 1024),
        source=",".join(f"{k}={v}" for k, v in dimensions.items()) or name,
        origin=ORIGIN,
        environment=settings.environment,
        timestamp=parse_timestamp(document.get("StateChangeTime"), received_at),
        component=optional_str(trigger, "Namespace"),
        group=f"{settings.project}-{settings.environment}",
        event_class=optional_str(trigger, "MetricName") or "alarm",
        details={
            "alarm_name": name,
            "alarm_description": description,
            "alarm_arn": arn,
            "account": account,
            "region": optional_str(document, "Region"),
            "new_state": state,
            "old_state": optional_str(document, "OldStateValue"),
            "reason": reason,
            "state_change_time": optional_str(document, "StateChangeTime"),
            "namespace": optional_str(trigger, "Namespace"),
            "metric_name": optional_str(trigger, "MetricName"),
            "dimensions": dimensions,
            "threshold": trigger.get("Threshold"),
            "comparison_operator": optional_str(trigger, "ComparisonOperator"),
        },
        links=(Link(console, "CloudWatch alarm"),) if console else (),
    )
