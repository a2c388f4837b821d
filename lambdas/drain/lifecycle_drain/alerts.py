"""Drain alerts published to SNS.

Message (JSON, consumed by the alert router, which pairs a trigger and its resolve per
environment and instance)::

    {"source": "rudder-ha.drain", "kind": "drain_deadline_exceeded" | "drain_completed",
     "environment": ..., "instance_id": ..., "asg_name": ..., "summary": ...,
     "timestamp": ISO-8601, "details": {...}}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .clock import iso8601

ALERT_SOURCE = "rudder-ha.drain"
KIND_DEADLINE_EXCEEDED = "drain_deadline_exceeded"
KIND_COMPLETED = "drain_completed"
_SUBJECT_MAX = 100


class AlertPublisher:
    """Publishes drain alerts to one SNS topic."""

    def __init__(self, sns: Any, topic_arn: str, environment: str) -> None:
        """Publish to ``topic_arn`` for ``environment``."""
        self._sns = sns
        self._topic_arn = topic_arn
        self._environment = environment

    def message(
        self,
        *,
        kind: str,
        instance_id: str,
        asg_name: str,
        summary: str,
        details: Mapping[str, Any],
        now: float,
    ) -> dict[str, Any]:
        """The alert document (without sending it)."""
        return {
            "source": ALERT_SOURCE,
            "kind": kind,
            "environment": self._environment,
            "instance_id": instance_id,
            "asg_name": asg_name,
            "summary": summary,
            "timestamp": iso8601(now),
            "details": dict(details),
        }

    def publish(
        self,
        *,
        kind: str,
        instance_id: str,
        asg_name: str,
        summary: str,
        details: Mapping[str, Any],
        now: float,
    ) -> str:
        """Send one alert; return the SNS message id."""
        document = self.message(
            kind=kind, instance_id=instance_id, asg_name=asg_name, summary=summary, details=details, now=now
        )
        subject = f"rudder-ha {self._environment}: {kind} {instance_id}"[:_SUBJECT_MAX]
        response = self._sns.publish(
            TopicArn=self._topic_arn,
            Subject=subject,
            Message=json.dumps(document, default=str),
            MessageAttributes={
                "source": {"DataType": "String", "StringValue": ALERT_SOURCE},
                "kind": {"DataType": "String", "StringValue": kind},
                "environment": {"DataType": "String", "StringValue": self._environment},
            },
        )
        return str(response.get("MessageId", ""))
