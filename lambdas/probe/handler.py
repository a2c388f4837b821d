"""Lambda entry point of the health probe (``handler.handler``), run every minute by EventBridge.

Deployed at the root of its own zip beside the ``health_probe`` package; see README.md.
"""

from __future__ import annotations

import logging
from typing import Any

import boto3
from health_probe.config import ProbeConfigError, load_settings
from health_probe.logs import log
from health_probe.probe import run_probe


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Probe the data plane's /health once and publish Up/Degraded/LatencyMs."""
    try:
        settings = load_settings()
    except ProbeConfigError as exc:
        log(logging.ERROR, "probe_misconfigured", error=str(exc))
        raise
    verdict = run_probe(settings, boto3.client("cloudwatch"))
    return {
        "up": int(verdict.up),
        "degraded": int(verdict.degraded),
        "status": verdict.status,
        "latency_ms": verdict.latency_ms,
        "reasons": list(verdict.reasons),
    }
