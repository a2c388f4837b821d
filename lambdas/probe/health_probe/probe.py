"""One probe run: fetch /health, evaluate, log, publish."""

from __future__ import annotations

import logging
import os
import ssl
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from .config import ProbeSettings
from .evaluate import Verdict, evaluate
from .fetch import get
from .logs import log
from .metrics import MetricPublishError, publish

_CONTEXTS: dict[tuple[str | None, int, int], ssl.SSLContext] = {}
"""Verifying contexts by (CA bundle, its mtime_ns, its size): loading the trust store costs tens of
milliseconds of CPU, and a warm Lambda probes every minute, several samples a run."""


def tls_context(settings: ProbeSettings) -> ssl.SSLContext:
    """Default verifying context, trusting ``PROBE_CA_BUNDLE`` instead when it is set; one per bundle file as
    it is now (a bundle replaced in place is read again)."""
    bundle = settings.ca_bundle
    key: tuple[str | None, int, int] = (None, 0, 0)
    if bundle:
        try:
            stat = os.stat(bundle)
        except OSError:
            return ssl.create_default_context(cafile=bundle)  # the ssl module reports the file as before
        key = (bundle, stat.st_mtime_ns, stat.st_size)
    if key not in _CONTEXTS:
        _CONTEXTS.clear()  # one bundle per function: keep only the current one
        _CONTEXTS[key] = ssl.create_default_context(cafile=bundle)
    return _CONTEXTS[key]


def _safe_url(url: str) -> str:
    """The URL without user info or query string, for logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def run_probe(settings: ProbeSettings, cloudwatch: Any) -> Verdict:
    """Probe once and publish; raises :class:`MetricPublishError` after logging a publish failure."""
    timestamp = datetime.now(UTC)
    result = get(settings.health_url, settings.timeout_seconds, settings.max_body_bytes, tls_context(settings))
    verdict = evaluate(result)
    log(
        logging.WARNING if verdict.failed else logging.INFO,
        "health_check",
        environment=settings.environment,
        url=_safe_url(settings.health_url),
        HealthCheckFailed=verdict.failed,
        up=int(verdict.up),
        degraded=int(verdict.degraded),
        answered_by=verdict.answered_by,
        status=verdict.status,
        latency_ms=None if verdict.latency_ms is None else round(verdict.latency_ms, 1),
        reasons=list(verdict.reasons),
        health=verdict.health,
    )
    try:
        publish(cloudwatch, verdict, settings, timestamp)
    except MetricPublishError as exc:
        log(logging.ERROR, "metric_publish_failed", namespace=settings.namespace, error=str(exc))
        raise
    return verdict
