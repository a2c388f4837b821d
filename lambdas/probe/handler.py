"""Lambda entry point of the health probe (``handler.handler``), run every minute by EventBridge.

Each invocation probes ``PROBE_SAMPLES`` times (default 6), ``PROBE_SAMPLE_INTERVAL_SECONDS`` apart
(default 10), so the high-resolution Up/Degraded series has a point every 10 s and an alarm can page
within a minute. Deployed at the root of its own zip beside the ``health_probe`` package; see README.md.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import boto3
from health_probe.config import ProbeConfigError, ProbeSettings, load_settings
from health_probe.evaluate import Verdict
from health_probe.logs import log
from health_probe.probe import run_probe

SAFETY_MARGIN_SECONDS = 2.0


def run_samples(
    settings: ProbeSettings,
    cloudwatch: Any,
    remaining_seconds: Callable[[], float],
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> list[Verdict]:
    """Probe on a fixed 10 s grid until the samples are done or the invocation's time runs short."""
    verdicts: list[Verdict] = []
    start = monotonic()
    for i in range(settings.samples):
        due = start + i * settings.sample_interval_seconds
        wait = due - monotonic()
        if remaining_seconds() - max(wait, 0.0) < settings.timeout_seconds + SAFETY_MARGIN_SECONDS:
            log(logging.INFO, "probe_samples_cut_short", done=len(verdicts), planned=settings.samples)
            break
        if wait > 0:
            sleep(wait)
        verdicts.append(run_probe(settings, cloudwatch))
    return verdicts


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Probe the data plane's /health every 10 s for a minute and publish Up/Degraded/LatencyMs."""
    try:
        settings = load_settings()
    except ProbeConfigError as exc:
        log(logging.ERROR, "probe_misconfigured", error=str(exc))
        raise

    def remaining() -> float:
        getter = getattr(context, "get_remaining_time_in_millis", None)
        return getter() / 1000.0 if getter else float("inf")

    verdicts = run_samples(settings, boto3.client("cloudwatch"), remaining)
    last = verdicts[-1] if verdicts else None
    return {
        "samples": len(verdicts),
        "up": int(last.up) if last else None,
        "degraded": int(last.degraded) if last else None,
        "status": last.status if last else None,
        "latency_ms": last.latency_ms if last else None,
        "reasons": list(last.reasons) if last else [],
        "failed_samples": sum(1 for v in verdicts if v.failed),
    }
