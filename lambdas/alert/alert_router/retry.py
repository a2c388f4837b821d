"""Retries with exponential backoff and jitter, bounded by attempts, the receiver's budget and the Lambda
deadline.

One delivery (one alert to one receiver) has one end time: the earlier of the invocation's end minus
:attr:`RetryPolicy.safety_margin` and its start plus :attr:`RetryPolicy.delivery_budget`
(:meth:`Deadline.within`). Every attempt gets at most the time left before it, and the HTTP client holds a
request to its time as a whole (connect, TLS, send and every read), so no attempt, backoff or slow answer
runs past it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

MIN_REQUEST_TIMEOUT = 0.05


@dataclass(frozen=True)
class Outcome:
    """Result of one delivery attempt."""

    ok: bool
    retryable: bool = False
    status: int | None = None
    error: str = ""
    retry_after: float | None = None


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry one delivery."""

    max_attempts: int = 4
    request_timeout: float = 5.0
    base_delay: float = 0.5
    max_delay: float = 8.0
    safety_margin: float = 1.0
    #: What one delivery may take in all (attempts and backoff), within the invocation's time.
    delivery_budget: float = 25.0

    def backoff(self, attempt: int, rng: Callable[[], float]) -> float:
        """Delay after failed attempt number ``attempt`` (1-based): "equal jitter" exponential.

        The delay lies in ``[d/2, d]`` with ``d = min(max_delay, base_delay * 2**(attempt-1))``,
        so it grows with each attempt while spreading concurrent retries apart.
        """
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return ceiling / 2 + rng() * ceiling / 2


class Deadline:
    """The moment the Lambda invocation runs out of time, on a monotonic clock."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        """Start counting ``seconds`` from now."""
        self._clock = clock
        self._end = clock() + seconds

    def remaining(self) -> float:
        """Seconds left (may be negative)."""
        return self._end - self._clock()

    def within(self, seconds: float) -> Deadline:
        """A deadline ``seconds`` from now, or this one if it comes first."""
        nearer = Deadline(seconds, self._clock)
        nearer._end = min(nearer._end, self._end)
        return nearer


def run_with_retries(
    attempt: Callable[[float], Outcome],
    policy: RetryPolicy,
    deadline: Deadline,
    sleep: Callable[[float], None],
    rng: Callable[[], float],
    on_retryable_failure: Callable[[int, Outcome], None] = lambda _n, _o: None,
) -> tuple[Outcome, int]:
    """Call ``attempt(timeout)`` until it succeeds, fails permanently, or attempts/time run out.

    Each call gets ``min(request_timeout, time left - safety_margin)``; no attempt starts (and no
    backoff sleep happens) without at least :data:`MIN_REQUEST_TIMEOUT` of budget for it.
    Returns the last outcome and the number of attempts made.
    """
    outcome: Outcome | None = None
    attempts = 0
    while attempts < policy.max_attempts:
        budget = deadline.remaining() - policy.safety_margin
        if budget < MIN_REQUEST_TIMEOUT:
            break
        attempts += 1
        outcome = attempt(min(policy.request_timeout, budget))
        if outcome.ok or not outcome.retryable:
            break
        on_retryable_failure(attempts, outcome)
        if attempts >= policy.max_attempts:
            break
        delay = policy.backoff(attempts, rng)
        if outcome.retry_after is not None:
            delay = max(delay, min(outcome.retry_after, policy.max_delay))
        if deadline.remaining() - policy.safety_margin - delay < MIN_REQUEST_TIMEOUT:
            break
        sleep(delay)
    if outcome is None:
        outcome = Outcome(ok=False, retryable=True, error="no time left before the Lambda deadline")
    return outcome, attempts
