"""The alert router: SNS event in, deliveries out, failure policy applied.

Failure policy: records are independent. A record that cannot be parsed is logged and dropped.
An alert that at least one receiver accepted (or deliberately skipped) counts as delivered, and
receivers that failed are logged as errors. Only when every configured receiver failed for some
alert does the invocation raise :class:`AlertDeliveryError` - after all records were tried - so
that Lambda's asynchronous retries and the on-failure destination take over. Receivers that
already succeeded may then see the alert again; PagerDuty and Splunk On-Call deduplicate by key.
No configured receiver at all is logged as an error but does not raise (retrying cannot help).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from . import logs
from .config import TEST_LOOPBACK_SWITCH, Settings, load_settings
from .dispatch import Delivery, deliver
from .errors import AlertDeliveryError, UnsupportedMessageError
from .normalize import normalize
from .receivers.registry import configured_receivers
from .retry import Deadline, RetryPolicy
from .secret_store import SecretStore
from .sns import iter_records, parse_record

DEFAULT_BUDGET_SECONDS = 60.0


def remaining_seconds(context: object) -> float:
    """Seconds the invocation has left, from the Lambda context (a default without one)."""
    getter = getattr(context, "get_remaining_time_in_millis", None)
    if callable(getter):
        try:
            return float(getter()) / 1000.0
        except (TypeError, ValueError):
            pass
    return DEFAULT_BUDGET_SECONDS


class AlertRouter:
    """Routes every record of an SNS event; one instance lives as long as the container."""

    def __init__(
        self,
        settings: Settings,
        secrets: SecretStore,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Wire the router; nothing touches AWS until the first alert."""
        self.settings = settings
        self._clock = clock
        policy = RetryPolicy(
            max_attempts=settings.max_attempts,
            request_timeout=settings.request_timeout_seconds,
            delivery_budget=settings.delivery_budget_seconds,
        )
        self._delivery = Delivery(
            secrets=secrets, policy=policy, sleep=sleep, rng=rng, allow_loopback=settings.allow_loopback_receivers
        )
        self._specs = configured_receivers(settings)
        if settings.allow_loopback_receivers:
            logs.warning("test_only_loopback_receivers_allowed", switch=TEST_LOOPBACK_SWITCH)
        if settings.loopback_switch_ignored:
            logs.error(
                "test_switch_ignored",
                switch=TEST_LOOPBACK_SWITCH,
                reason="set inside the Lambda runtime; loopback receivers stay refused",
            )

    def handle(self, event: object, context: object) -> dict[str, Any]:
        """Process one Lambda invocation; returns a summary, raises only per the failure policy."""
        deadline = Deadline(remaining_seconds(context), self._clock)
        summary: dict[str, Any] = {
            "records": 0,
            "alerts": 0,
            "dropped": 0,
            "failed": 0,
            "partially_failed": 0,
        }
        try:
            records = list(iter_records(event))
        except UnsupportedMessageError as exc:
            logs.warning("event_dropped", reason=exc.reason)
            return summary
        if not records:
            logs.warning("event_dropped", reason="event has no records")
            return summary
        if not self._specs:
            logs.error("no_receivers_configured", records=len(records))

        failed_keys: list[str] = []
        for index, record in records:
            summary["records"] += 1
            outcome = self._route_record(index, record, deadline)
            if outcome is None:
                summary["dropped"] += 1
                continue
            summary["alerts"] += 1
            dedup_key, ok_count, failed_count = outcome
            if failed_count and not ok_count:
                summary["failed"] += 1
                failed_keys.append(dedup_key)
            elif failed_count:
                summary["partially_failed"] += 1
        logs.info("invocation_done", **summary)
        if failed_keys:
            logs.error("all_receivers_failed", dedup_keys=failed_keys)
            raise AlertDeliveryError(f"every configured receiver failed for {len(failed_keys)} alert(s)")
        return summary

    def _route_record(self, index: int, record: object, deadline: Deadline) -> tuple[str, int, int] | None:
        """Parse and deliver one record; returns (dedup key, successes, failures) or None if dropped."""
        message_id = ""
        try:
            message = parse_record(index, record)
            message_id = message.message_id
            alert = normalize(message.message, self.settings, message.timestamp)
        except UnsupportedMessageError as exc:
            logs.warning("message_dropped", reason=exc.reason, record_index=index, message_id=message_id)
            return None
        except Exception as exc:  # a parser bug must not lose the other records
            logs.error(
                "message_dropped",
                reason=f"parser error ({type(exc).__name__})",
                record_index=index,
                message_id=message_id,
            )
            return None
        logs.info(
            "alert_received",
            record_index=index,
            message_id=message_id,
            dedup_key=alert.dedup_key,
            action=alert.action.value,
            severity=alert.severity.value,
            origin=alert.origin,
            environment=alert.environment,
        )
        results = deliver(alert, self._specs, self._delivery, deadline)
        ok_count = sum(1 for r in results if r.ok)
        return alert.dedup_key, ok_count, len(results) - ok_count


def build_router(
    sleep: Callable[[float], None] = time.sleep,
    rng: Callable[[], float] = random.random,
    clock: Callable[[], float] = time.monotonic,
) -> AlertRouter:
    """Create a router from the process environment (the Lambda's configuration)."""
    settings = load_settings()
    logs.configure(settings.log_level)
    secrets = SecretStore(settings.secret_cache_ttl_seconds, clock=clock)
    return AlertRouter(settings, secrets, sleep=sleep, rng=rng, clock=clock)
