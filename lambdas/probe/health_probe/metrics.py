"""Publishes a verdict as CloudWatch metrics: Up, Degraded and (when answered) LatencyMs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .config import ProbeSettings
from .evaluate import Verdict


class MetricPublishError(RuntimeError):
    """PutMetricData failed; raised so the Lambda's Errors metric shows it."""


def metric_data(verdict: Verdict, settings: ProbeSettings, timestamp: datetime) -> list[dict[str, Any]]:
    """Build the PutMetricData entries, all with dimension ``Environment``."""
    dimensions = [{"Name": "Environment", "Value": settings.environment}]
    data: list[dict[str, Any]] = [
        {"MetricName": "Up", "Value": 1.0 if verdict.up else 0.0, "Unit": "Count"},
        {"MetricName": "Degraded", "Value": 1.0 if verdict.degraded else 0.0, "Unit": "Count"},
    ]
    if verdict.latency_ms is not None:
        data.append({"MetricName": "LatencyMs", "Value": round(verdict.latency_ms, 3), "Unit": "Milliseconds"})
    # High resolution (1 s storage): alarms can then evaluate 10-second periods.
    return [{**item, "Dimensions": dimensions, "Timestamp": timestamp, "StorageResolution": 1} for item in data]


def publish(cloudwatch: Any, verdict: Verdict, settings: ProbeSettings, timestamp: datetime) -> None:
    """Send the metrics; wrap any failure in :class:`MetricPublishError`."""
    try:
        cloudwatch.put_metric_data(Namespace=settings.namespace, MetricData=metric_data(verdict, settings, timestamp))
    except Exception as exc:  # botocore ClientError/BotoCoreError: report, do not guess
        raise MetricPublishError(f"PutMetricData failed ({type(exc).__name__})") from exc
