"""Settings of the alert router, read once per container from the environment."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
DEFAULT_DELIVERY_BUDGET_SECONDS = 25.0
"""What one alert may take at one receiver, every attempt and backoff included (the function runs 60 s)."""
TEST_LOOPBACK_SWITCH = "ALERT_ROUTER_TEST_ALLOW_LOOPBACK"
"""Tests only: ``1`` lets receiver URLs point at loopback (``http`` or ``https``, any port) so local test
servers can stand in for the receivers. The deployed configuration never sets it, and it is ignored inside
the Lambda runtime (``AWS_LAMBDA_RUNTIME_API`` set), whose Runtime API listens on loopback."""
LAMBDA_RUNTIME_API = "AWS_LAMBDA_RUNTIME_API"


@dataclass(frozen=True)
class Settings:
    """Everything the router reads from its environment variables.

    The three ``*_parameter`` fields name where a receiver's secret lives (an SSM parameter
    name, or a Secrets Manager ARN); an empty value disables that receiver.
    """

    project: str
    environment: str
    region: str
    pagerduty_routing_key_parameter: str
    victorops_url_parameter: str
    slack_webhook_url_parameter: str
    pagerduty_events_url: str
    request_timeout_seconds: float
    max_attempts: int
    delivery_budget_seconds: float
    secret_cache_ttl_seconds: float
    log_level: str
    #: Loopback receiver URLs accepted (tests only: :data:`TEST_LOOPBACK_SWITCH`).
    allow_loopback_receivers: bool = False
    #: The switch was set inside the Lambda runtime and ignored (logged as an error).
    loopback_switch_ignored: bool = False


def _float(environ: Mapping[str, str], name: str, default: float, minimum: float) -> float:
    """Read a positive float, falling back to ``default`` when unset or invalid."""
    try:
        value = float(environ.get(name, "") or default)
    except ValueError:
        return default
    if not math.isfinite(value):
        return default
    return max(value, minimum)


def _int(environ: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    """Read an integer, falling back to ``default`` when unset or invalid."""
    try:
        value = int(environ.get(name, "") or default)
    except ValueError:
        return default
    return max(value, minimum)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from ``environ`` (default: the process environment)."""
    env = os.environ if environ is None else environ
    switch = env.get(TEST_LOOPBACK_SWITCH, "").strip().lower() in ("1", "true")
    in_lambda = bool(env.get(LAMBDA_RUNTIME_API, "").strip())
    return Settings(
        project=env.get("PROJECT", "").strip() or "rudder-ha",
        environment=env.get("ENVIRONMENT", "").strip() or "unknown",
        region=(env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "").strip(),
        pagerduty_routing_key_parameter=env.get("PAGERDUTY_ROUTING_KEY_PARAMETER", "").strip(),
        victorops_url_parameter=env.get("VICTOROPS_URL_PARAMETER", "").strip(),
        slack_webhook_url_parameter=env.get("SLACK_WEBHOOK_URL_PARAMETER", "").strip(),
        pagerduty_events_url=env.get("PAGERDUTY_EVENTS_URL", "").strip() or DEFAULT_PAGERDUTY_EVENTS_URL,
        request_timeout_seconds=_float(env, "DELIVERY_TIMEOUT_SECONDS", 5.0, 0.05),
        max_attempts=_int(env, "DELIVERY_MAX_ATTEMPTS", 4, 1),
        delivery_budget_seconds=_float(env, "DELIVERY_BUDGET_SECONDS", DEFAULT_DELIVERY_BUDGET_SECONDS, 0.05),
        secret_cache_ttl_seconds=_float(env, "SECRET_CACHE_TTL_SECONDS", 300.0, 0.0),
        log_level=env.get("LOG_LEVEL", "").strip().upper() or "INFO",
        allow_loopback_receivers=switch and not in_lambda,
        loopback_switch_ignored=switch and in_lambda,
    )
