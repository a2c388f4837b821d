"""Helpers shared by the message parsers: field access, timestamps, AWS console links."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from ..errors import UnsupportedMessageError

_CONSOLE_DOMAINS = {
    "aws": "console.aws.amazon.com",
    "aws-us-gov": "console.amazonaws-us-gov.com",
    "aws-cn": "console.amazonaws.cn",
}
_REGION_PATTERN = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")


def require_str(document: dict[str, Any], key: str) -> str:
    """Return the non-empty string ``document[key]`` or raise :class:`UnsupportedMessageError`."""
    value = document.get(key)
    if not isinstance(value, str) or not value.strip():
        raise UnsupportedMessageError(f"missing or invalid field {key!r}")
    return value.strip()


def optional_str(document: dict[str, Any], key: str) -> str:
    """Return ``document[key]`` as a stripped string, or "" when absent or not a scalar."""
    value = document.get(key)
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def optional_dict(document: dict[str, Any], key: str) -> dict[str, Any]:
    """Return ``document[key]`` when it is a JSON object, else an empty dict."""
    value = document.get(key)
    return value if isinstance(value, dict) else {}


def parse_timestamp(value: object, default: datetime) -> datetime:
    """Parse an ISO-8601 timestamp (CloudWatch's ``+0000`` and EventBridge's ``Z`` forms) as UTC."""
    if isinstance(value, str) and value.strip():
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            return default
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return default


def slug(text: str) -> str:
    """Lower-case ``text`` with runs of other characters collapsed into single dashes."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def partition_for_region(region: str) -> str:
    """Return the AWS partition of ``region``."""
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    if region.startswith("cn-"):
        return "aws-cn"
    return "aws"


def region_from_arn(arn: str) -> tuple[str, str] | None:
    """Return ``(partition, region)`` of an ARN, or None when it is not one."""
    parts = arn.split(":")
    if len(parts) < 6 or parts[0] != "arn" or not _REGION_PATTERN.match(parts[3]):
        return None
    return parts[1], parts[3]


def console_base(region: str, partition: str | None = None) -> str | None:
    """Return ``https://<region>.<console domain>`` or None when the region is unknown."""
    if not _REGION_PATTERN.match(region):
        return None
    domain = _CONSOLE_DOMAINS.get(partition or partition_for_region(region))
    return f"https://{region}.{domain}" if domain else None


def alarm_console_url(region: str, alarm_name: str, partition: str | None = None) -> str | None:
    """Return the CloudWatch console page of an alarm."""
    base = console_base(region, partition)
    if base is None:
        return None
    return f"{base}/cloudwatch/home?region={region}#alarmsV2:alarm/{quote(alarm_name, safe='')}"


def asg_console_url(region: str, asg_name: str) -> str | None:
    """Return the EC2 console's activity page of an Auto Scaling group."""
    base = console_base(region)
    if base is None or not asg_name:
        return None
    return f"{base}/ec2/home?region={region}#AutoScalingGroupDetails:id={quote(asg_name, safe='')};view=activity"


def instance_console_url(region: str, instance_id: str) -> str | None:
    """Return the EC2 console page of an instance."""
    base = console_base(region)
    if base is None or not instance_id:
        return None
    return f"{base}/ec2/home?region={region}#InstanceDetails:instanceId={quote(instance_id, safe='')}"
