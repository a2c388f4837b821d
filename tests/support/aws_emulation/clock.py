"""Virtual time shared by every emulated part (and the Kubernetes API emulation).

Reproduces nothing of AWS by itself: AWS timers (hook timeouts, target draining, SQS delays, SSM
command progress) all run on this clock, so a multi-hour drain runs in seconds.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from datetime import UTC, datetime


def iso(epoch: float) -> str:
    """ISO-8601 text of a virtual time."""
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class VirtualClock:
    """The emulated time shared by every part, with a timer queue.

    Reproduces nothing of AWS by itself: it is the single source of "now" for the emulated
    services and the Lambda under test (it satisfies the Lambda's ``Clock`` protocol). Timers
    (hook timeouts, end of target draining, SSM command progress) fire in time order while the
    clock advances; time never goes backwards.
    """

    def __init__(self, start: float = 1_767_225_600.0) -> None:
        """Start at ``start`` (epoch seconds; default 2026-01-01T00:00:00Z)."""
        self._now = float(start)
        self._timers: list[tuple[float, int, Callable[[], None], str]] = []
        self._cancelled: set[int] = set()
        self._ids = itertools.count(1)
        self.start = float(start)

    def now(self) -> float:
        """Current virtual time."""
        return self._now

    def elapsed(self) -> float:
        """Virtual seconds since the clock started."""
        return self._now - self.start

    def call_at(self, at: float, callback: Callable[[], None], label: str = "") -> int:
        """Run ``callback`` when the clock reaches ``at``; return a handle for :meth:`cancel`."""
        handle = next(self._ids)
        heapq.heappush(self._timers, (max(at, self._now), handle, callback, label))
        return handle

    def call_later(self, delay: float, callback: Callable[[], None], label: str = "") -> int:
        """Run ``callback`` ``delay`` seconds from now."""
        return self.call_at(self._now + delay, callback, label)

    def cancel(self, handle: int | None) -> None:
        """Cancel a timer (no-op for None or a fired timer)."""
        if handle is not None:
            self._cancelled.add(handle)

    def next_timer_at(self) -> float | None:
        """When the next live timer fires (None without timers)."""
        while self._timers and self._timers[0][1] in self._cancelled:
            heapq.heappop(self._timers)
        return self._timers[0][0] if self._timers else None

    def advance_to(self, when: float) -> None:
        """Move to ``when``, firing due timers in order (each at its own time)."""
        while True:
            nxt = self.next_timer_at()
            if nxt is None or nxt > when:
                break
            at, _handle, callback, _label = heapq.heappop(self._timers)
            self._now = max(self._now, at)
            callback()
        self._now = max(self._now, when)

    def advance(self, seconds: float) -> None:
        """Move forward by ``seconds``."""
        self.advance_to(self._now + seconds)
