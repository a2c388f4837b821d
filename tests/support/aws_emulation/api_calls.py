"""API calls through the emulated clients: the call log, injected faults and emulated error answers.

Reproduces how AWS fails a call: an error code and message with an HTTP status (botocore turns
it into the usual ``ClientError``), throttling and 5xx answers, and - with a fault in the
"after" phase - a request that took effect but whose response was lost.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable
from typing import Any


class EmulatedError(Exception):
    """An AWS error answer produced by the emulation (becomes a botocore ClientError)."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        """Keep the AWS error code, message and HTTP status."""
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


@dataclasses.dataclass
class ApiCall:
    """One API call made through an emulated client."""

    at: float
    service: str
    operation: str
    params: dict[str, Any]
    emulated: bool
    error_code: str | None = None


class CallLog:
    """Every API call made through :meth:`AwsEmulation.client`, in order (for assertions and the benchmark)."""

    def __init__(self) -> None:
        """Start empty."""
        self.calls: list[ApiCall] = []

    def add(self, call: ApiCall) -> None:
        """Append a call."""
        self.calls.append(call)

    def of(self, operation: str, *, service: str | None = None, ok_only: bool = False) -> list[ApiCall]:
        """Calls of one operation (optionally only the successful ones)."""
        return [
            call
            for call in self.calls
            if call.operation == operation
            and (service is None or call.service == service)
            and (not ok_only or call.error_code is None)
        ]

    def count(self, operation: str | None = None, *, service: str | None = None) -> int:
        """Number of calls (of one operation / service)."""
        return sum(
            1
            for call in self.calls
            if (operation is None or call.operation == operation) and (service is None or call.service == service)
        )

    def by_operation(self, since: float | None = None, until: float | None = None) -> Counter[str]:
        """Call counts keyed ``service:Operation`` within a time window."""
        return Counter(
            f"{call.service}:{call.operation}"
            for call in self.calls
            if (since is None or call.at >= since) and (until is None or call.at <= until)
        )


@dataclasses.dataclass
class Fault:
    """An injected error for matching calls."""

    service: str
    operation: str
    code: str
    message: str
    times: int = 1
    status: int = 400
    #: "before": the call has no effect; "after": the call takes effect, then the caller gets
    #: the error (a lost response).
    phase: str = "before"
    when: Callable[[dict[str, Any]], bool] | None = None
    fired: int = 0


class FaultInjector:
    """Scripted failures of individual API calls (throttling, 5xx, lost responses)."""

    def __init__(self) -> None:
        """No faults."""
        self.faults: list[Fault] = []

    def add(
        self,
        service: str,
        operation: str,
        code: str = "ServiceUnavailable",
        message: str = "injected fault",
        *,
        times: int = 1,
        status: int = 503,
        phase: str = "before",
        when: Callable[[dict[str, Any]], bool] | None = None,
    ) -> Fault:
        """Make the next ``times`` matching calls fail with ``code``."""
        if phase not in ("before", "after"):
            raise ValueError("phase must be 'before' or 'after'")
        fault = Fault(service, operation, code, message, times, status, phase, when)
        self.faults.append(fault)
        return fault

    def take(self, service: str, operation: str, params: dict[str, Any], phase: str) -> Fault | None:
        """The fault to apply to this call now, if any (consumes one use)."""
        for fault in self.faults:
            if (
                fault.fired < fault.times
                and fault.phase == phase
                and fault.service == service
                and fault.operation == operation
                and (fault.when is None or fault.when(params))
            ):
                fault.fired += 1
                return fault
        return None
