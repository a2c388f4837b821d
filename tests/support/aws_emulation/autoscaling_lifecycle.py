"""Auto Scaling terminating lifecycle hooks on virtual time, which moto only stores.

Reproduces terminating lifecycle actions (``Terminating:Wait``) with their EventBridge event,
token checks, heartbeats, heartbeat/global timeouts (``min(100 x HeartbeatTimeout, 172800)``)
with the hook's ``DefaultResult``, completion and the instance's termination (or move to the warm
pool) afterwards, and the ``GlobalTimeout`` moto leaves out of ``DescribeLifecycleHooks``.
Details in :class:`LifecycleEmulation`.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import uuid
from typing import TYPE_CHECKING, Any

from tests.support.aws_emulation.account import ACCOUNT_ID, REGION
from tests.support.aws_emulation.api_calls import EmulatedError
from tests.support.aws_emulation.clock import iso

if TYPE_CHECKING:
    from tests.support.aws_emulation.emulation import AwsEmulation

TERMINATING = "autoscaling:EC2_INSTANCE_TERMINATING"
MAX_GLOBAL_TIMEOUT = 172_800


@dataclasses.dataclass
class LifecycleAction:
    """One terminating lifecycle action (one token)."""

    token: str
    asg_name: str
    hook_name: str
    instance_id: str
    origin: str | None
    destination: str | None
    started_at: float
    heartbeat_timeout: int
    global_timeout: int
    default_result: str
    timeout_at: float
    state: str = "Terminating:Wait"
    result: str | None = None
    ended_at: float | None = None
    timed_out: bool = False
    heartbeats: list[float] = dataclasses.field(default_factory=list)
    completions: list[tuple[float, str]] = dataclasses.field(default_factory=list)
    timer: int | None = None

    @property
    def active(self) -> bool:
        """Whether the action still waits (``Terminating:Wait``)."""
        return self.state == "Terminating:Wait"

    @property
    def global_deadline(self) -> float:
        """When the global timeout ends the wait."""
        return self.started_at + self.global_timeout

    def heartbeat_gaps(self) -> list[float]:
        """Intervals between the start, each heartbeat, and the end (or now)."""
        marks = [self.started_at, *self.heartbeats]
        if self.ended_at is not None:
            marks.append(self.ended_at)
        return [later - earlier for earlier, later in itertools.pairwise(marks)]


class LifecycleEmulation:
    """Terminating lifecycle hooks, which moto only stores.

    Reproduces:

    * an instance entering ``Terminating:Wait`` with a fresh ``LifecycleActionToken`` and the
      EventBridge event ``EC2 Instance-terminate Lifecycle Action`` (with or without the warm-pool
      ``Origin`` / ``Destination`` fields) delivered to the drain queue;
    * ``RecordLifecycleActionHeartbeat``: restarts the heartbeat timeout (``now +
      HeartbeatTimeout``) but never past the global timeout (``min(100 x HeartbeatTimeout,
      172800)`` after the start);
    * the timeout: the hook's ``DefaultResult`` is applied and the instance proceeds;
    * ``CompleteLifecycleAction`` with ``CONTINUE`` or ``ABANDON``: for a terminating hook both
      let the termination proceed (into the warm pool when ``Destination`` is ``WarmPool``);
    * token checks: a wrong or finished token, a wrong group or hook, or an instance without an
      active action answers ``ValidationError`` "No active Lifecycle Action found with token
      ..." (or "... with instance ID ..."), exactly what the drain sees after completion.
    """

    def __init__(self, emu: AwsEmulation, *, eventbridge_latency: float = 1.0, termination_delay: float = 5.0) -> None:
        """Attach to the emulation."""
        self._emu = emu
        self.actions: dict[str, LifecycleAction] = {}
        self.eventbridge_latency = eventbridge_latency
        self.termination_delay = termination_delay

    # -- test-facing -----------------------------------------------------------

    def hook_settings(self, asg_name: str, hook_name: str | None) -> tuple[str, int, str]:
        """Name, HeartbeatTimeout and DefaultResult of the group's terminating hook (from moto)."""
        hooks = self._emu.internal("autoscaling").describe_lifecycle_hooks(AutoScalingGroupName=asg_name)[
            "LifecycleHooks"
        ]
        for hook in hooks:
            if hook.get("LifecycleTransition") != TERMINATING:
                continue
            if hook_name is None or hook["LifecycleHookName"] == hook_name:
                return hook["LifecycleHookName"], int(hook["HeartbeatTimeout"]), str(hook["DefaultResult"])
        raise LookupError(f"no terminating lifecycle hook on {asg_name}")

    def begin_termination(
        self,
        instance_id: str,
        asg_name: str,
        *,
        hook_name: str | None = None,
        origin: str | None = "AutoScalingGroup",
        destination: str | None = "EC2",
        include_origin_destination: bool = True,
        notification_metadata: str | None = None,
        deliver_event: bool = True,
    ) -> LifecycleAction:
        """Put the instance into ``Terminating:Wait`` and emit the lifecycle event."""
        name, heartbeat_timeout, default_result = self.hook_settings(asg_name, hook_name)
        now = self._emu.clock.now()
        action = LifecycleAction(
            token=str(uuid.uuid4()),
            asg_name=asg_name,
            hook_name=name,
            instance_id=instance_id,
            origin=origin if include_origin_destination else None,
            destination=destination if include_origin_destination else None,
            started_at=now,
            heartbeat_timeout=heartbeat_timeout,
            global_timeout=min(100 * heartbeat_timeout, MAX_GLOBAL_TIMEOUT),
            default_result=default_result,
            timeout_at=now + heartbeat_timeout,
        )
        self.actions[action.token] = action
        prefix = "Warmed:" if self._emu.fleet.in_warm_pool(instance_id) else ""
        self._emu.fleet.lifecycle_state[instance_id] = f"{prefix}Terminating:Wait"
        self._arm_timeout(action)
        if deliver_event:
            body = json.dumps(self.event_document(action, notification_metadata=notification_metadata))
            self._emu.clock.call_later(
                self.eventbridge_latency, lambda: self._emu.queue.send(body), f"eventbridge {action.token}"
            )
        return action

    def event_document(self, action: LifecycleAction, *, notification_metadata: str | None = None) -> dict[str, Any]:
        """The EventBridge event for a lifecycle action (Origin/Destination only when set)."""
        detail: dict[str, Any] = {
            "LifecycleActionToken": action.token,
            "AutoScalingGroupName": action.asg_name,
            "LifecycleHookName": action.hook_name,
            "EC2InstanceId": action.instance_id,
            "LifecycleTransition": TERMINATING,
        }
        if notification_metadata is not None:
            detail["NotificationMetadata"] = notification_metadata
        if action.origin is not None:
            detail["Origin"] = action.origin
        if action.destination is not None:
            detail["Destination"] = action.destination
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "EC2 Instance-terminate Lifecycle Action",
            "source": "aws.autoscaling",
            "account": ACCOUNT_ID,
            "time": iso(action.started_at).replace(".000000", ""),
            "region": REGION,
            "resources": [
                f"arn:aws:autoscaling:{REGION}:{ACCOUNT_ID}:autoScalingGroup:{uuid.uuid4()}"
                f":autoScalingGroupName/{action.asg_name}"
            ],
            "detail": detail,
        }

    def action_for(self, instance_id: str) -> LifecycleAction | None:
        """The latest action of an instance."""
        found = [action for action in self.actions.values() if action.instance_id == instance_id]
        return found[-1] if found else None

    # -- API -------------------------------------------------------------------------

    def record_heartbeat(self, params: dict[str, Any]) -> dict[str, Any]:
        """RecordLifecycleActionHeartbeat."""
        action = self._find(params)
        now = self._emu.clock.now()
        action.heartbeats.append(now)
        action.timeout_at = min(now + action.heartbeat_timeout, action.global_deadline)
        self._arm_timeout(action)
        return {}

    def complete(self, params: dict[str, Any]) -> dict[str, Any]:
        """CompleteLifecycleAction."""
        result = params.get("LifecycleActionResult")
        if result not in ("CONTINUE", "ABANDON"):
            raise EmulatedError("ValidationError", f"Invalid LifecycleActionResult: {result}")
        action = self._find(params)
        now = self._emu.clock.now()
        action.completions.append((now, result))
        self._end(action, "Completed", result)
        return {}

    # -- internals --------------------------------------------------------------------

    def _find(self, params: dict[str, Any]) -> LifecycleAction:
        """The active action addressed by a heartbeat/complete request, or the AWS error."""
        token = params.get("LifecycleActionToken")
        instance_id = params.get("InstanceId")
        asg_name = params.get("AutoScalingGroupName")
        hook_name = params.get("LifecycleHookName")
        if token:
            action = self.actions.get(token)
            if (
                action is None
                or not action.active
                or action.asg_name != asg_name
                or action.hook_name != hook_name
                or (instance_id and instance_id != action.instance_id)
            ):
                raise EmulatedError("ValidationError", f"No active Lifecycle Action found with token {token}")
            return action
        if instance_id:
            for action in self.actions.values():
                if (
                    action.active
                    and action.instance_id == instance_id
                    and action.asg_name == asg_name
                    and action.hook_name == hook_name
                ):
                    return action
            raise EmulatedError("ValidationError", f"No active Lifecycle Action found with instance ID {instance_id}")
        raise EmulatedError("ValidationError", "Either LifecycleActionToken or InstanceId must be specified")

    def _arm_timeout(self, action: LifecycleAction) -> None:
        """(Re)schedule the action's timeout."""
        self._emu.clock.cancel(action.timer)
        action.timer = self._emu.clock.call_at(
            action.timeout_at, lambda: self._on_timeout(action), f"hook timeout {action.token}"
        )

    def _on_timeout(self, action: LifecycleAction) -> None:
        """The heartbeat or global timeout ran out: apply the DefaultResult."""
        if action.active and self._emu.clock.now() >= action.timeout_at:
            action.timed_out = True
            self._end(action, "TimedOut", action.default_result)

    def _end(self, action: LifecycleAction, state: str, result: str) -> None:
        """Finish the wait state and let the instance proceed."""
        self._emu.clock.cancel(action.timer)
        action.state = state
        action.result = result
        action.ended_at = self._emu.clock.now()
        going_to_pool = action.destination == "WarmPool"
        self._emu.fleet.lifecycle_state[action.instance_id] = (
            "Warmed:Pending" if going_to_pool else "Terminating:Proceed"
        )
        if going_to_pool:
            self._emu.clock.call_later(
                self.termination_delay,
                lambda: self._emu.move_to_warm_pool(action.instance_id, action.asg_name),
                f"to warm pool {action.instance_id}",
            )
        else:
            self._emu.clock.call_later(
                self.termination_delay,
                lambda: self._emu.terminate_instance(action.instance_id),
                f"terminate {action.instance_id}",
            )


def patch_hooks(parsed: dict[str, Any]) -> None:
    """Add the ``GlobalTimeout`` moto leaves out of a DescribeLifecycleHooks response."""
    for hook in parsed.get("LifecycleHooks", []):
        hook["GlobalTimeout"] = min(100 * int(hook.get("HeartbeatTimeout", 3600)), MAX_GLOBAL_TIMEOUT)
