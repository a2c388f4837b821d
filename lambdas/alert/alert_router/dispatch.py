"""Delivers one alert to every configured receiver concurrently and independently.

Each delivery (one alert, one receiver) has one deadline: the invocation's end minus a reserve, or the
receiver's budget (``DELIVERY_BUDGET_SECONDS``), whichever comes first; every attempt, backoff and answer
fits in it. A receiver URL that is not ``https://`` to a host on that receiver's allowlist (or points at
loopback) is refused before anything is sent, with one ``delivery_refused`` error line naming the
receiver, the host and why.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

from . import logs
from .http_client import InvalidUrlError, TransportError, check_url, post_json
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
    """The collaborators a delivery needs; tests swap ``sleep`` and ``rng``.

    ``allow_loopback`` (tests only, see ``config.TEST_LOOPBACK_SWITCH``) accepts loopback receiver URLs;
    ``tls`` replaces the system trust store (tests with their own CA).
    """

    secrets: SecretStore
    policy: RetryPolicy
    sleep: Callable[[float], None]
    rng: Callable[[], float]
    allow_loopback: bool = False
    tls: ssl.SSLContext | None = None


def _host(url: str) -> str | None:
    """The host of a URL, for the logs (never the path or query, which may hold a secret)."""
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


def _attempt(receiver: Receiver, body: dict[str, object], delivery: Delivery) -> Callable[[float], Outcome]:
    """Return a one-shot sender for ``body``; its argument is the attempt's whole time."""

    def send(timeout: float) -> Outcome:
        try:
            response = post_json(
                receiver.url,
                body,
                timeout,
                allowed_hosts=receiver.allowed_hosts,
                allow_loopback=delivery.allow_loopback,
                tls=delivery.tls,
            )
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
    """Send ``alert`` to one receiver with retries, within its deadline; never raises."""
    own = deadline.within(delivery.policy.delivery_budget + delivery.policy.safety_margin)
    try:
        receiver = spec.build(delivery.secrets.get(spec.secret_name))
        try:
            check_url(receiver.url, spec.allowed_hosts, allow_loopback=delivery.allow_loopback)
        except InvalidUrlError as exc:
            logs.error(
                "delivery_refused",
                receiver=spec.name,
                reason=str(exc),
                host=_host(receiver.url),
                allowed_hosts=sorted(spec.allowed_hosts),
                dedup_key=alert.dedup_key,
                note="nothing was sent; fix the receiver's secret",
            )
            return DeliveryResult(spec.name, ok=False, error=f"refused: {exc}")
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
            _attempt(receiver, body, delivery), delivery.policy, own, delivery.sleep, delivery.rng, log_retry
        )
        return DeliveryResult(spec.name, outcome.ok, attempts, outcome.status, outcome.error)
    except SecretUnavailableError as exc:
        return DeliveryResult(spec.name, ok=False, error=f"secret unavailable ({exc})")
    except InvalidUrlError as exc:  # e.g. the host resolved to a loopback address: nothing was sent
        logs.error("delivery_refused", receiver=spec.name, reason=str(exc), dedup_key=alert.dedup_key)
        return DeliveryResult(spec.name, ok=False, error=f"refused: {exc}")
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
