"""Delivers one alert to every configured receiver concurrently and independently."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from . import logs
from .http_client import InvalidUrlError, TransportError, post_json
from .model import Alert
from .receivers.base import Receiver
from .receivers.registry import ReceiverSpec
from .retry import Deadline, Outcome, RetryPolicy, run_with_retries
from .secret_store import SecretStore, SecretUnavailableError


@dataclass(frozen=True)
class DeliveryResult:
    """What happened to one alert at one receiver."""

    receiver: str
    ok: bool
    attempts: int = 0
    status: int | None = None
    error: str = ""
    skipped: bool = False


@dataclass(frozen=True)
class Delivery:
    """The collaborators a delivery needs; tests swap ``sleep`` and ``rng``."""

    secrets: SecretStore
    policy: RetryPolicy
    sleep: Callable[[float], None]
    rng: Callable[[], float]


def _attempt(receiver: Receiver, body: dict[str, object]) -> Callable[[float], Outcome]:
    """Return a one-shot sender for ``body`` with a per-request timeout argument."""

    def send(timeout: float) -> Outcome:
        try:
            response = post_json(receiver.url, body, timeout)
        except TransportError as exc:
            return Outcome(ok=False, retryable=True, error=str(exc))
        outcome = receiver.classify(response)
        if not outcome.ok:
            logs.warning(
                "delivery_rejected",
                receiver=receiver.name,
                status=response.status,
                retryable=outcome.retryable,
                response_body=response.body[:300],
            )
        return outcome

    return send


def deliver_one(alert: Alert, spec: ReceiverSpec, delivery: Delivery, deadline: Deadline) -> DeliveryResult:
    """Send ``alert`` to one receiver with retries; never raises."""
    try:
        receiver = spec.build(delivery.secrets.get(spec.secret_name))
        body = receiver.build(alert)
        if body is None:
            logs.info(
                "delivery_skipped",
                receiver=spec.name,
                dedup_key=alert.dedup_key,
                severity=alert.severity.value,
            )
            return DeliveryResult(spec.name, ok=True, skipped=True)

        def log_retry(attempt: int, outcome: Outcome) -> None:
            logs.warning(
                "delivery_attempt_failed",
                receiver=spec.name,
                attempt=attempt,
                status=outcome.status,
                error=outcome.error,
                dedup_key=alert.dedup_key,
            )

        outcome, attempts = run_with_retries(
            _attempt(receiver, body), delivery.policy, deadline, delivery.sleep, delivery.rng, log_retry
        )
        return DeliveryResult(spec.name, outcome.ok, attempts, outcome.status, outcome.error)
    except SecretUnavailableError as exc:
        return DeliveryResult(spec.name, ok=False, error=f"secret unavailable ({exc})")
    except InvalidUrlError as exc:
        return DeliveryResult(spec.name, ok=False, error=str(exc))
    except Exception as exc:  # one receiver's bug must not affect the others
        return DeliveryResult(spec.name, ok=False, error=f"unexpected error ({type(exc).__name__})")


def deliver(
    alert: Alert, specs: Sequence[ReceiverSpec], delivery: Delivery, deadline: Deadline
) -> list[DeliveryResult]:
    """Deliver ``alert`` to all ``specs`` in parallel threads; logs every final result."""
    if not specs:
        return []
    with ThreadPoolExecutor(max_workers=len(specs), thread_name_prefix="deliver") as pool:
        futures = [pool.submit(deliver_one, alert, spec, delivery, deadline) for spec in specs]
        results = [future.result() for future in futures]
    for result in results:
        fields = {
            "receiver": result.receiver,
            "dedup_key": alert.dedup_key,
            "action": alert.action.value,
            "attempts": result.attempts,
            "status": result.status,
        }
        if result.ok and not result.skipped:
            logs.info("delivered", **fields)
        elif not result.ok:
            logs.error("delivery_failed", error=result.error, **fields)
    return results
