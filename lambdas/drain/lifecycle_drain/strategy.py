"""The contract between the generic lifecycle-drain engine and a drain strategy.

The engine (:mod:`lifecycle_drain.engine`) owns everything about the lifecycle action: parsing events,
idempotency, persisted state, scheduling of steps, heartbeats, the deadline alert, completion
and cleanup. A strategy owns only "what does draining this node mean": it is called once per
step, does a bounded amount of work (a handful of API calls, no waiting), and reports a typed
:class:`Progress`:

* ``DONE``: confirmed drained; the engine completes the action with CONTINUE.
* ``IN_PROGRESS``: keep waiting; carries a reason and, when known, pending-work counts (used
  for logs and the deadline alert). The strategy may ask for a shorter delay until its next
  step (e.g. to read the result of a check it just started).
* ``GONE``: the node no longer exists; nothing left to drain.

A step may also name a *wake key* (:attr:`StepResult.wake_key`): a signal, such as the status-change
event of the SSM command it started, that may run the next step before its delayed message. The
engine links the key to the drain and, when the signal arrives, runs the waiting step at once with
:attr:`StrategyContext.woken_by` set. A signal is only a wake-up: the step reads what it waits for
from its source of truth, exactly as a step run by its delayed message does.

A strategy keeps its own state as a JSON-serialisable dict, which the engine persists with the
drain record and hands back on the next step. A strategy must tolerate a step being run again
with the same input state (a retried invocation): its side effects must be safe to repeat.

Two strategies implement it and share the engine unchanged:
:class:`lifecycle_drain.ec2.strategy.Ec2DataPlaneStrategy` (EC2 data-plane instance: target groups
+ on-node check) and :class:`lifecycle_drain.eks.strategy.EksNodeStrategy` (EKS node: cordon +
evict).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from .logs import JsonLogger


class ProgressKind(enum.StrEnum):
    """What a strategy step found."""

    DONE = "DONE"
    IN_PROGRESS = "IN_PROGRESS"
    GONE = "GONE"


@dataclass(frozen=True)
class PendingWork:
    """How much is still pending on the node, as far as the strategy knows."""

    pending_jobs: int | None = None
    oldest_pending_age_seconds: float | None = None
    breakdown: dict[str, Any] = field(default_factory=dict)
    #: When the numbers were measured (epoch seconds), if known.
    measured_at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "pending_jobs": self.pending_jobs,
            "oldest_pending_age_seconds": self.oldest_pending_age_seconds,
            "breakdown": self.breakdown,
            "measured_at": self.measured_at,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> PendingWork | None:
        """Inverse of :meth:`to_dict` (None for None/empty)."""
        if not data:
            return None
        breakdown = data.get("breakdown")
        return cls(
            pending_jobs=data.get("pending_jobs"),
            oldest_pending_age_seconds=data.get("oldest_pending_age_seconds"),
            breakdown=dict(breakdown) if isinstance(breakdown, Mapping) else {},
            measured_at=data.get("measured_at"),
        )


@dataclass(frozen=True)
class Progress:
    """Typed result of one strategy step."""

    kind: ProgressKind
    reason: str
    pending: PendingWork | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def done(cls, reason: str, **details: Any) -> Progress:
        """Drained (confirmed)."""
        return cls(ProgressKind.DONE, reason, None, details)

    @classmethod
    def in_progress(cls, reason: str, pending: PendingWork | None = None, **details: Any) -> Progress:
        """Not drained yet, or cannot tell."""
        return cls(ProgressKind.IN_PROGRESS, reason, pending, details)

    @classmethod
    def gone(cls, reason: str, **details: Any) -> Progress:
        """The node no longer exists."""
        return cls(ProgressKind.GONE, reason, None, details)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (persisted as the record's ``last_progress``)."""
        return {
            "kind": self.kind.value,
            "reason": self.reason,
            "pending": self.pending.to_dict() if self.pending else None,
            "details": self.details,
        }


@dataclass(frozen=True)
class StepResult:
    """What a strategy step returns: progress, its new state, and an optional delay request."""

    progress: Progress
    state: dict[str, Any]
    #: Seconds until the next step; None means the configured poll interval.
    delay_seconds: int | None = None
    #: A signal that may run the next step earlier (see the module docstring); None: only the delay.
    wake_key: str | None = None


@dataclass(frozen=True)
class DrainTarget:
    """The node being drained and the lifecycle action that asked for it."""

    instance_id: str
    asg_name: str
    hook_name: str
    token: str
    origin: str | None = None
    destination: str | None = None
    notification_metadata: str | None = None


@dataclass(frozen=True)
class StrategyContext:
    """Everything a strategy step may use besides its own clients."""

    target: DrainTarget
    now: float
    started_at: float
    step: int
    poll_interval_seconds: int
    log: JsonLogger
    #: The wake key whose signal started this step (None: its delayed message or the lifecycle event).
    woken_by: str | None = None


class DrainStrategy(Protocol):
    """A way of draining one node; see the module docstring for the contract."""

    #: Stable name, persisted with each drain so continuations use the same strategy.
    name: str

    def start(self, ctx: StrategyContext) -> StepResult:
        """First step of a drain (the lifecycle action was just confirmed active)."""
        ...

    def poll(self, ctx: StrategyContext, state: Mapping[str, Any]) -> StepResult:
        """A later step, given the state the previous step returned."""
        ...

    def cleanup(self, ctx: StrategyContext, state: Mapping[str, Any], outcome: str) -> None:
        """Release anything the strategy holds once the drain ended (``outcome``); best effort."""
        ...
