"""Probe settings, read from the Lambda's environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_TIMEOUT_SECONDS = 5.0
DEFAULT_SAMPLES = 6
"""Probes per invocation: the schedule runs once a minute, the samples fill it every 10 s."""
DEFAULT_SAMPLE_INTERVAL_SECONDS = 10.0
DEFAULT_NAMESPACE = "RudderHA"
MAX_BODY_BYTES = 64 * 1024


class ProbeConfigError(ValueError):
    """The probe cannot run with its configuration (e.g. HEALTH_URL missing or not http(s))."""


@dataclass(frozen=True)
class ProbeSettings:
    """What to probe, how patiently, and where to publish."""

    health_url: str
    timeout_seconds: float
    namespace: str
    environment: str
    ca_bundle: str | None
    max_body_bytes: int = MAX_BODY_BYTES
    samples: int = DEFAULT_SAMPLES
    sample_interval_seconds: float = DEFAULT_SAMPLE_INTERVAL_SECONDS


def _timeout(raw: str) -> float:
    """Parse PROBE_TIMEOUT_SECONDS; invalid or non-positive values fall back to the default."""
    try:
        value = float(raw)
    except ValueError:
        return DEFAULT_TIMEOUT_SECONDS
    return value if value > 0 else DEFAULT_TIMEOUT_SECONDS


def _positive_float(raw: str, default: float) -> float:
    try:
        value = float(raw)
    except ValueError:
        return default
    return value if value > 0 else default


def _positive_int(raw: str, default: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        return default
    return value if value > 0 else default


def load_settings(environ: Mapping[str, str] | None = None) -> ProbeSettings:
    """Build :class:`ProbeSettings`, raising :class:`ProbeConfigError` for an unusable URL."""
    env = os.environ if environ is None else environ
    url = env.get("HEALTH_URL", "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ProbeConfigError("HEALTH_URL must be an absolute http(s) URL")
    return ProbeSettings(
        health_url=url,
        timeout_seconds=_timeout(env.get("PROBE_TIMEOUT_SECONDS", "").strip() or str(DEFAULT_TIMEOUT_SECONDS)),
        namespace=env.get("METRIC_NAMESPACE", "").strip() or DEFAULT_NAMESPACE,
        environment=env.get("ENVIRONMENT", "").strip() or "unknown",
        ca_bundle=env.get("PROBE_CA_BUNDLE", "").strip() or None,
        samples=_positive_int(env.get("PROBE_SAMPLES", "").strip(), DEFAULT_SAMPLES),
        sample_interval_seconds=_positive_float(
            env.get("PROBE_SAMPLE_INTERVAL_SECONDS", "").strip(), DEFAULT_SAMPLE_INTERVAL_SECONDS
        ),
    )
