"""Auto Scaling lifecycle-hook calls: hook settings, heartbeats, completion.

``RecordLifecycleActionHeartbeat`` and ``CompleteLifecycleAction`` answer ``ValidationError`` /
"No active Lifecycle Action found with token ..." once the action was completed, abandoned or
timed out (or never existed). That is mapped to :class:`LifecycleActionNotActive`, which the
engine treats as "the drain is over", never as a failure to retry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .aws import error_code, error_message

#: Used when the hook cannot be described (deleted meanwhile): the API defaults.
DEFAULT_HEARTBEAT_TIMEOUT = 3600
DEFAULT_RESULT = "ABANDON"
MAX_GLOBAL_TIMEOUT = 172_800
GLOBAL_TIMEOUT_FACTOR = 100

CONTINUE = "CONTINUE"
ABANDON = "ABANDON"


class LifecycleActionNotActive(Exception):
    """The lifecycle action is no longer (or was never) waiting for us."""

    def __init__(self, message: str) -> None:
        """Keep AWS's message for the logs."""
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class HookSettings:
    """The timeouts of a lifecycle hook."""

    heartbeat_timeout: int
    global_timeout: int
    default_result: str
    described: bool = True


def global_timeout_for(heartbeat_timeout: int) -> int:
    """The global timeout AWS applies: min(100 x HeartbeatTimeout, 172800 s)."""
    return min(GLOBAL_TIMEOUT_FACTOR * heartbeat_timeout, MAX_GLOBAL_TIMEOUT)


def _is_not_active(exc: BaseException) -> bool:
    """Whether a heartbeat/complete error means the action is gone for good."""
    if error_code(exc) != "ValidationError":
        return False
    message = error_message(exc).lower()
    return "no active lifecycle action" in message or "not found" in message


class LifecycleHooks:
    """Wraps the Auto Scaling client for one purpose: driving a lifecycle action."""

    def __init__(self, autoscaling: Any) -> None:
        """Use the given Auto Scaling client."""
        self._autoscaling = autoscaling

    def describe(self, asg_name: str, hook_name: str) -> HookSettings:
        """The hook's HeartbeatTimeout, GlobalTimeout and DefaultResult (API defaults if missing)."""
        response = self._autoscaling.describe_lifecycle_hooks(
            AutoScalingGroupName=asg_name, LifecycleHookNames=[hook_name]
        )
        for hook in response.get("LifecycleHooks", []):
            if hook.get("LifecycleHookName") != hook_name:
                continue
            heartbeat = int(hook.get("HeartbeatTimeout") or DEFAULT_HEARTBEAT_TIMEOUT)
            computed = global_timeout_for(heartbeat)
            reported = int(hook.get("GlobalTimeout") or computed)
            return HookSettings(
                heartbeat_timeout=heartbeat,
                # Trust the smaller of the reported and the documented value: an overestimate
                # would let us promise more time than the hook really gives.
                global_timeout=min(reported, computed),
                default_result=str(hook.get("DefaultResult") or DEFAULT_RESULT),
            )
        return HookSettings(
            heartbeat_timeout=DEFAULT_HEARTBEAT_TIMEOUT,
            global_timeout=global_timeout_for(DEFAULT_HEARTBEAT_TIMEOUT),
            default_result=DEFAULT_RESULT,
            described=False,
        )

    def heartbeat(self, asg_name: str, hook_name: str, token: str, instance_id: str) -> None:
        """Record a heartbeat (restarts the hook's heartbeat timeout)."""
        try:
            self._autoscaling.record_lifecycle_action_heartbeat(
                AutoScalingGroupName=asg_name,
                LifecycleHookName=hook_name,
                LifecycleActionToken=token,
                InstanceId=instance_id,
            )
        except Exception as exc:
            if _is_not_active(exc):
                raise LifecycleActionNotActive(error_message(exc)) from exc
            raise

    def complete(self, asg_name: str, hook_name: str, token: str, instance_id: str, result: str) -> None:
        """Complete the lifecycle action with ``CONTINUE`` or ``ABANDON``."""
        if result not in (CONTINUE, ABANDON):
            raise ValueError(f"invalid lifecycle action result {result!r}")
        try:
            self._autoscaling.complete_lifecycle_action(
                AutoScalingGroupName=asg_name,
                LifecycleHookName=hook_name,
                LifecycleActionToken=token,
                InstanceId=instance_id,
                LifecycleActionResult=result,
            )
        except Exception as exc:
            if _is_not_active(exc):
                raise LifecycleActionNotActive(error_message(exc)) from exc
            raise
