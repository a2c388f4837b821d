"""Time for the drill: a clock that can be replaced in tests, and the backoff of its AWS polling."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol


class Clock(Protocol):
    """Where the drill reads the time and waits (tests pass a virtual clock: no real sleeps)."""

    def now(self) -> float:
        """Seconds since the epoch."""
        ...

    def sleep(self, seconds: float) -> None:
        """Waits ``seconds``."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> float:
        """``time.time()``."""
        return time.time()

    def sleep(self, seconds: float) -> None:
        """``time.sleep`` (never negative)."""
        time.sleep(max(0.0, seconds))


@dataclass
class Backoff:
    """How often AWS is asked: ``base`` seconds after a change, growing by ``factor`` while nothing changes
    (up to ``ceiling``), doubled on throttling (up to ``throttled_ceiling``)."""

    base: float = 1.0
    factor: float = 1.5
    ceiling: float = 5.0
    throttled_ceiling: float = 30.0
    interval: float = 1.0

    def changed(self) -> float:
        """Something moved: ask again soon."""
        self.interval = self.base
        return self.interval

    def unchanged(self) -> float:
        """Nothing moved: ask a little less often."""
        self.interval = min(self.ceiling, self.interval * self.factor)
        return self.interval

    def throttled(self) -> float:
        """AWS asked to slow down."""
        self.interval = min(self.throttled_ceiling, max(self.interval, self.base) * 2)
        return self.interval
