"""Emulation of the AWS behaviour the drain Lambda depends on and moto does not model.

moto (``mock_aws``) keeps the resources and answers most calls: DynamoDB (including conditional
writes), SQS queues, SNS, EC2 instances, Auto Scaling groups and hooks (describe), ELBv2 load
balancers and target groups (describe). What it lacks is time and a few state machines, which
this module adds, all on one :class:`VirtualClock`:

* :class:`LifecycleEmulation` - terminating lifecycle actions (``Terminating:Wait``), token
  checks, heartbeats, heartbeat/global timeouts with the hook's ``DefaultResult``, completion
  and the instance's termination (or return to the warm pool) afterwards.
* :class:`TargetGroupEmulation` - ELBv2 target states (``initial`` -> ``healthy``; deregistered
  targets ``draining`` for the deregistration delay, then gone).
* :class:`RunCommandEmulation` - SSM Run Command that really runs the on-node check (the script
  ``ami/bin/rudder-drain-check`` as a subprocess against a throwaway PostgreSQL, or scripted
  outcomes) and reports it through ``GetCommandInvocation``.
* :class:`VirtualQueue` - SQS delivery semantics on virtual time (``DelaySeconds`` <= 900,
  visibility timeout, redelivery, receive counts, dead-letter queue, duplicates).
* :class:`FleetOverlay` - instance membership moto does not track: lifecycle states during
  hooks, warm-pool instances, traffic sources.

How it plugs into boto3 (documented choice): :meth:`AwsEmulation.client` creates ordinary boto3
clients (moto intercepts them at ``before-send``) and registers three botocore event hooks on
each of them:

* ``before-parameter-build`` keeps a copy of the caller's API parameters in the request context;
* ``before-call`` records the call in the :class:`CallLog`, applies injected faults and, for the
  operations routed to the emulation (see :data:`ROUTED_OPERATIONS`), returns the emulated
  ``(http_response, parsed)`` pair: botocore then skips the HTTP layer (so moto never sees these
  calls) and raises the usual ``ClientError`` subclass for error responses;
* ``after-call`` patches moto's responses where it is incomplete (``GlobalTimeout``, lifecycle
  states, warm-pool instances, traffic sources) and can turn a successful response into an error
  to emulate "the request took effect but the response was lost".

Parameter validation by botocore still applies to every call, emulated or not.

:class:`LambdaDriver` delivers queue messages to a handler like the Lambda SQS event source
mapping (batches, partial batch responses, throttling) and advances the virtual clock between
deliveries, so a multi-hour drain runs in seconds. :func:`provision_data_plane` creates the
resources of one environment (VPC subnets, ALB + target group, launch template, Auto Scaling
group with a terminating hook, DynamoDB table, SQS queue + DLQ, SNS topic, SSM document).
"""

from __future__ import annotations

import copy
import dataclasses
import heapq
import importlib
import itertools
import json
import os
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

REPO_ROOT = Path(__file__).resolve().parents[2]
DRAIN_LAMBDA_DIR = REPO_ROOT / "lambdas" / "drain"
DRAIN_CHECK_SCRIPT = REPO_ROOT / "ami" / "bin" / "rudder-drain-check"
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
TERMINATING = "autoscaling:EC2_INSTANCE_TERMINATING"
MAX_GLOBAL_TIMEOUT = 172_800
SSM_STDOUT_LIMIT = 24_000
SSM_STDERR_LIMIT = 8_000

#: (service, operation) pairs answered by the emulation instead of moto.
ROUTED_OPERATIONS = frozenset(
    {
        ("autoscaling", "RecordLifecycleActionHeartbeat"),
        ("autoscaling", "CompleteLifecycleAction"),
        ("elbv2", "RegisterTargets"),
        ("elbv2", "DeregisterTargets"),
        ("elbv2", "DescribeTargetHealth"),
        ("ssm", "SendCommand"),
        ("ssm", "GetCommandInvocation"),
        ("sqs", "SendMessage"),
        ("sqs", "ChangeMessageVisibility"),
    }
)


class EmulatedError(Exception):
    """An AWS error answer produced by the emulation (becomes a botocore ClientError)."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        """Keep the AWS error code, message and HTTP status."""
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


def _iso(epoch: float) -> str:
    """ISO-8601 text of a virtual time."""
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# ---------------------------------------------------------------------------
# Virtual time
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# Call log and fault injection
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# Fleet overlay (instance membership moto does not track)
# ---------------------------------------------------------------------------


class FleetOverlay:
    """Auto Scaling membership details moto does not model.

    Reproduces: the ``LifecycleState`` of an instance in a lifecycle wait state
    (``Terminating:Wait``, ``Terminating:Proceed``), warm-pool instances (listed by
    ``DescribeWarmPool``, not among the group's ``Instances``), instances that left the group,
    and ``TrafficSources`` attached to a group (moto's group description has none).
    """

    def __init__(self) -> None:
        """Nothing overridden."""
        self.lifecycle_state: dict[str, str] = {}
        self.removed: set[str] = set()
        self.warm_pool: dict[str, dict[str, str]] = {}
        self.traffic_sources: dict[str, list[dict[str, str]]] = {}

    def in_warm_pool(self, instance_id: str) -> str | None:
        """The group name whose warm pool holds the instance."""
        for group, members in self.warm_pool.items():
            if instance_id in members:
                return group
        return None

    def patch_groups(self, parsed: dict[str, Any]) -> None:
        """Apply the overlay to a DescribeAutoScalingGroups response."""
        for group in parsed.get("AutoScalingGroups", []):
            name = group.get("AutoScalingGroupName")
            pool = self.warm_pool.get(name, {})
            kept = []
            for item in group.get("Instances", []):
                instance_id = item.get("InstanceId")
                if instance_id in self.removed or instance_id in pool:
                    continue
                if instance_id in self.lifecycle_state:
                    item["LifecycleState"] = self.lifecycle_state[instance_id]
                kept.append(item)
            group["Instances"] = kept
            sources = self.traffic_sources.get(name)
            if sources:
                group["TrafficSources"] = [dict(source) for source in sources]

    def patch_warm_pool(self, parsed: dict[str, Any], group_name: str) -> None:
        """Fill a DescribeWarmPool response with the overlay's warm-pool instances."""
        parsed["Instances"] = [
            {
                "InstanceId": instance_id,
                "InstanceType": "t3.large",
                "AvailabilityZone": f"{REGION}a",
                "LifecycleState": self.lifecycle_state.get(instance_id, state),
                "HealthStatus": "Healthy",
            }
            for instance_id, state in self.warm_pool.get(group_name, {}).items()
            if instance_id not in self.removed
        ]


# ---------------------------------------------------------------------------
# Auto Scaling lifecycle actions
# ---------------------------------------------------------------------------


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
            "time": _iso(action.started_at).replace(".000000", ""),
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


# ---------------------------------------------------------------------------
# ELBv2 target states
# ---------------------------------------------------------------------------


@dataclasses.dataclass
class TargetRecord:
    """One registration (target id + port) in a target group."""

    target_group_arn: str
    target_id: str
    port: int
    registered_at: float
    state_override: str | None = None
    draining_until: float | None = None
    timer: int | None = None


class TargetGroupEmulation:
    """ELBv2 target registration states (moto jumps from registered straight to "unused").

    Reproduces: a registered target is ``initial`` for its first health checks, then
    ``healthy`` (``unused`` / ``Target.NotInUse`` when no load balancer uses the group);
    ``DeregisterTargets`` puts it into ``draining`` (``Target.DeregistrationInProgress``) for the
    group's ``deregistration_delay.timeout_seconds`` (read from moto), after which it is no
    longer listed; ``DescribeTargetHealth`` without ``Targets`` lists registered targets only,
    with ``Targets`` it answers ``unused`` / ``Target.NotRegistered`` for unknown ones; an
    unknown group answers ``TargetGroupNotFound``; a terminated instance is deregistered
    (draining, then gone).
    """

    def __init__(self, emu: AwsEmulation, *, initial_seconds: float = 15.0) -> None:
        """Attach to the emulation."""
        self._emu = emu
        self.initial_seconds = initial_seconds
        self.targets: dict[str, dict[tuple[str, int], TargetRecord]] = {}
        self.deregistrations: list[tuple[float, str, str, int]] = []

    def _group(self, arn: str) -> dict[str, Any]:
        """The moto description of a target group (TargetGroupNotFound if unknown)."""
        try:
            groups = self._emu.internal("elbv2").describe_target_groups(TargetGroupArns=[arn])["TargetGroups"]
        except Exception as exc:
            raise EmulatedError("TargetGroupNotFound", f"One or more target groups not found: {arn}") from exc
        if not groups:
            raise EmulatedError("TargetGroupNotFound", f"One or more target groups not found: {arn}")
        return groups[0]

    def _delay(self, arn: str) -> float:
        """The group's deregistration delay."""
        attributes = self._emu.internal("elbv2").describe_target_group_attributes(TargetGroupArn=arn)["Attributes"]
        for attribute in attributes:
            if attribute["Key"] == "deregistration_delay.timeout_seconds":
                return float(attribute["Value"])
        return 300.0

    # -- test-facing -------------------------------------------------------------------

    def register(self, arn: str, target_id: str, port: int | None = None, *, healthy_now: bool = False) -> None:
        """Register a target (optionally already past its initial health checks)."""
        self.register_targets(
            {"TargetGroupArn": arn, "Targets": [{"Id": target_id, **({"Port": port} if port else {})}]}
        )
        if healthy_now:
            for record in self.targets[arn].values():
                if record.target_id == target_id:
                    record.registered_at = self._emu.clock.now() - self.initial_seconds

    def set_health(self, arn: str, target_id: str, state: str | None) -> None:
        """Force a health state (e.g. ``unhealthy``) for a registered target (None to clear)."""
        for record in self.targets.get(arn, {}).values():
            if record.target_id == target_id:
                record.state_override = state

    def registrations_of(self, target_id: str) -> list[TargetRecord]:
        """All current registrations of a target."""
        return [record for group in self.targets.values() for record in group.values() if record.target_id == target_id]

    def remove_instance(self, instance_id: str) -> None:
        """A terminated instance: its registrations drain, then disappear."""
        for arn, group in self.targets.items():
            for record in list(group.values()):
                if record.target_id == instance_id and record.draining_until is None:
                    self._start_draining(arn, record)

    # -- API ---------------------------------------------------------------------------

    def register_targets(self, params: dict[str, Any]) -> dict[str, Any]:
        """RegisterTargets."""
        arn = params["TargetGroupArn"]
        group = self._group(arn)
        now = self._emu.clock.now()
        bucket = self.targets.setdefault(arn, {})
        for target in params.get("Targets", []):
            port = int(target.get("Port") or group.get("Port") or 80)
            key = (target["Id"], port)
            existing = bucket.get(key)
            if existing is not None:
                self._emu.clock.cancel(existing.timer)
            bucket[key] = TargetRecord(arn, target["Id"], port, registered_at=now)
        return {}

    def deregister_targets(self, params: dict[str, Any]) -> dict[str, Any]:
        """DeregisterTargets: registered targets start draining."""
        arn = params["TargetGroupArn"]
        self._group(arn)
        bucket = self.targets.setdefault(arn, {})
        for target in params.get("Targets", []):
            matches = [
                record
                for record in bucket.values()
                if record.target_id == target["Id"] and ("Port" not in target or record.port == int(target["Port"]))
            ]
            for record in matches:
                if record.draining_until is None:
                    self.deregistrations.append((self._emu.clock.now(), arn, record.target_id, record.port))
                    self._start_draining(arn, record)
        return {}

    def describe_target_health(self, params: dict[str, Any]) -> dict[str, Any]:
        """DescribeTargetHealth."""
        arn = params["TargetGroupArn"]
        group = self._group(arn)
        bucket = self.targets.get(arn, {})
        in_use = bool(group.get("LoadBalancerArns"))
        descriptions: list[dict[str, Any]] = []
        if params.get("Targets"):
            for target in params["Targets"]:
                matches = [
                    record
                    for record in bucket.values()
                    if record.target_id == target["Id"] and ("Port" not in target or record.port == int(target["Port"]))
                ]
                if matches:
                    descriptions.extend(self._describe(record, in_use) for record in matches)
                else:
                    port = int(target.get("Port") or group.get("Port") or 80)
                    descriptions.append(
                        {
                            "Target": {"Id": target["Id"], "Port": port},
                            "HealthCheckPort": str(port),
                            "TargetHealth": {
                                "State": "unused",
                                "Reason": "Target.NotRegistered",
                                "Description": "Target is not registered to the target group",
                            },
                        }
                    )
        else:
            descriptions = [self._describe(record, in_use) for record in bucket.values()]
        return {"TargetHealthDescriptions": descriptions}

    # -- internals ----------------------------------------------------------------------

    def _describe(self, record: TargetRecord, in_use: bool) -> dict[str, Any]:
        """One TargetHealthDescription."""
        now = self._emu.clock.now()
        if record.draining_until is not None:
            health = {
                "State": "draining",
                "Reason": "Target.DeregistrationInProgress",
                "Description": "Target deregistration is in progress",
            }
        elif record.state_override:
            health = {"State": record.state_override, "Reason": "Target.FailedHealthChecks", "Description": "forced"}
        elif not in_use:
            health = {
                "State": "unused",
                "Reason": "Target.NotInUse",
                "Description": "Target group is not configured to receive traffic from the load balancer",
            }
        elif now < record.registered_at + self.initial_seconds:
            health = {
                "State": "initial",
                "Reason": "Elb.InitialHealthChecking",
                "Description": "Initial health checks in progress",
            }
        else:
            health = {"State": "healthy"}
        return {
            "Target": {"Id": record.target_id, "Port": record.port},
            "HealthCheckPort": str(record.port),
            "TargetHealth": health,
        }

    def _start_draining(self, arn: str, record: TargetRecord) -> None:
        """Begin the deregistration delay of one registration."""
        delay = self._delay(arn)
        record.draining_until = self._emu.clock.now() + delay
        key = (record.target_id, record.port)

        def remove() -> None:
            current = self.targets.get(arn, {}).get(key)
            if current is record:
                del self.targets[arn][key]

        record.timer = self._emu.clock.call_at(record.draining_until, remove, f"drained {record.target_id}")


# ---------------------------------------------------------------------------
# SSM Run Command
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CheckExecution:
    """What running the check on an instance produced."""

    exit_code: int
    stdout: str
    stderr: str = ""


#: Runs the on-node check for an instance id.
CheckRunner = Callable[[str], CheckExecution]


class ScriptCheckRunner:
    """Runs the real ``rudder-drain-check`` as a subprocess.

    Reproduces the instance side of the check: the script, its ``psql`` client and a real
    PostgreSQL. ``env`` gives the ``JOBS_DB_*`` variables (per instance when callable); the
    script gets no other database settings (``--env-file /dev/null``).
    """

    def __init__(
        self,
        env: Mapping[str, str] | Callable[[str], Mapping[str, str]],
        *,
        script: Path = DRAIN_CHECK_SCRIPT,
        timeout_seconds: float = 5.0,
    ) -> None:
        """Prepare to run ``script`` with the given database environment."""
        self._env = env
        self.script = script
        self.timeout_seconds = timeout_seconds
        self.runs: list[CheckExecution] = []

    def __call__(self, instance_id: str) -> CheckExecution:
        """Run the check once."""
        database = self._env(instance_id) if callable(self._env) else self._env
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "HOME": os.environ.get("HOME", "/tmp"),
            **database,
        }
        completed = subprocess.run(
            [sys.executable, str(self.script), "--env-file", os.devnull, "--timeout", str(self.timeout_seconds)],
            capture_output=True,
            text=True,
            env=env,
            timeout=4 * self.timeout_seconds + 30,
            check=False,
        )
        result = CheckExecution(completed.returncode, completed.stdout, completed.stderr)
        self.runs.append(result)
        return result


def check_output(
    status: str, pending_jobs: int | None = 0, oldest: float | None = None, error: str | None = None
) -> str:
    """A stdout line in the exact format of ``rudder-drain-check``."""
    return (
        json.dumps(
            {
                "status": status,
                "pending_jobs": pending_jobs,
                "oldest_pending_age_seconds": oldest,
                "prefixes": {
                    "gw": {"datasets": 1, "pending_jobs": pending_jobs or 0, "oldest_pending_age_seconds": oldest}
                }
                if status != "unknown"
                else {},
                "error": error,
                "checked_at": "2026-01-01T00:00:00.000000Z",
            }
        )
        + "\n"
    )


class ScriptedCheckRunner:
    """Scripted check outcomes in the script's exact output format (no PostgreSQL needed).

    ``outcome(instance_id, now)`` returns ``("drained" | "pending" | "unknown", pending_jobs)``.
    """

    def __init__(self, clock: VirtualClock, outcome: Callable[[str, float], tuple[str, int | None]]) -> None:
        """Use ``outcome`` to decide each run."""
        self._clock = clock
        self._outcome = outcome
        self.runs: list[CheckExecution] = []

    def __call__(self, instance_id: str) -> CheckExecution:
        """Produce one scripted result."""
        status, pending = self._outcome(instance_id, self._clock.now())
        code = {"drained": 0, "pending": 75}.get(status, 69)
        result = CheckExecution(
            code,
            check_output(
                status,
                pending if status != "unknown" else None,
                60.0 if status == "pending" else None,
                "could not connect" if status == "unknown" else None,
            ),
        )
        self.runs.append(result)
        return result


@dataclasses.dataclass
class CommandInvocation:
    """One command on one instance."""

    command_id: str
    instance_id: str
    document_name: str
    comment: str
    requested_at: float
    delivery_timeout: int
    status: str = "Pending"
    status_details: str = "Pending"
    response_code: int = -1
    stdout: str = ""
    stderr: str = ""
    started_at: float | None = None
    ended_at: float | None = None


class RunCommandEmulation:
    """SSM Run Command (moto records commands but runs nothing and reports success).

    Reproduces: ``SendCommand`` validates the document (``InvalidDocument``) and that the
    instance is running (``InvalidInstanceId``); an invocation is ``Pending`` until delivered
    (after ``delivery_latency``), then ``InProgress`` while the check runs (``execution_seconds``),
    then ``Success`` (exit 0) or ``Failed`` (any other exit code) with ``ResponseCode`` and
    ``StandardOutputContent`` (truncated to 24000 characters); a stopped instance leaves it
    ``Delayed`` until the delivery timeout (``TimedOut`` / ``DeliveryTimedOut``); a terminated
    instance makes it ``Failed`` / ``Undeliverable`` (before start) or ``Failed`` / ``Terminated``
    (while running). ``GetCommandInvocation`` answers ``InvocationDoesNotExist`` for unknown
    ids and for ``visibility_lag`` seconds after the send. The check itself runs at the virtual
    moment of delivery, so it sees the database as it is at that time.
    """

    def __init__(
        self,
        emu: AwsEmulation,
        runner: CheckRunner | None = None,
        *,
        delivery_latency: float = 1.0,
        execution_seconds: float = 2.0,
        visibility_lag: float = 0.0,
    ) -> None:
        """Attach to the emulation with a check runner (set later via :attr:`runner`)."""
        self._emu = emu
        self.runner = runner
        self.documents: set[str] = set()
        self.delivery_latency = delivery_latency
        self.execution_seconds = execution_seconds
        self.visibility_lag = visibility_lag
        self.invocations: dict[tuple[str, str], CommandInvocation] = {}
        self.forced: list[tuple[str, str, int]] = []

    def force_next(self, status: str, details: str, response_code: int = -1) -> None:
        """Make the next delivered command end with this status instead of running the check."""
        self.forced.append((status, details, response_code))

    def send_command(self, params: dict[str, Any]) -> dict[str, Any]:
        """SendCommand."""
        document = params["DocumentName"]
        if document not in self.documents:
            raise EmulatedError("InvalidDocument", f"Document {document} does not exist.")
        instance_ids = list(params.get("InstanceIds") or [])
        if not instance_ids:
            raise EmulatedError("InvalidParameters", "InstanceIds is required for this emulation")
        for instance_id in instance_ids:
            if self._emu.ec2_state(instance_id) != "running":
                raise EmulatedError(
                    "InvalidInstanceId", f"Instances [[{instance_id}]] not in a valid state for account {ACCOUNT_ID}"
                )
        command_id = str(uuid.uuid4())
        now = self._emu.clock.now()
        timeout = int(params.get("TimeoutSeconds") or 3600)
        for instance_id in instance_ids:
            invocation = CommandInvocation(
                command_id, instance_id, document, str(params.get("Comment", "")), now, timeout
            )
            self.invocations[(command_id, instance_id)] = invocation
            self._emu.clock.call_later(
                self.delivery_latency, lambda inv=invocation: self._deliver(inv), f"ssm deliver {command_id}"
            )
        return {
            "Command": {
                "CommandId": command_id,
                "DocumentName": document,
                "DocumentVersion": "$DEFAULT",
                "Comment": params.get("Comment", ""),
                "InstanceIds": instance_ids,
                "Status": "Pending",
                "StatusDetails": "Pending",
                "RequestedDateTime": datetime.fromtimestamp(now, tz=UTC),
                "TimeoutSeconds": timeout,
                "TargetCount": len(instance_ids),
            }
        }

    def get_command_invocation(self, params: dict[str, Any]) -> dict[str, Any]:
        """GetCommandInvocation."""
        key = (params["CommandId"], params["InstanceId"])
        invocation = self.invocations.get(key)
        if invocation is None or self._emu.clock.now() < invocation.requested_at + self.visibility_lag:
            raise EmulatedError("InvocationDoesNotExist", "An error occurred (InvocationDoesNotExist)")
        elapsed = 0.0
        if invocation.started_at is not None:
            elapsed = (invocation.ended_at or self._emu.clock.now()) - invocation.started_at
        return {
            "CommandId": invocation.command_id,
            "InstanceId": invocation.instance_id,
            "Comment": invocation.comment,
            "DocumentName": invocation.document_name,
            "DocumentVersion": "1",
            "PluginName": "runDrainCheck",
            "ResponseCode": invocation.response_code,
            "ExecutionStartDateTime": _iso(invocation.started_at) if invocation.started_at else "",
            "ExecutionElapsedTime": f"PT{elapsed:.3f}S",
            "ExecutionEndDateTime": _iso(invocation.ended_at) if invocation.ended_at else "",
            "Status": invocation.status,
            "StatusDetails": invocation.status_details,
            "StandardOutputContent": invocation.stdout[:SSM_STDOUT_LIMIT],
            "StandardOutputUrl": "",
            "StandardErrorContent": invocation.stderr[:SSM_STDERR_LIMIT],
            "StandardErrorUrl": "",
            "CloudWatchOutputConfig": {"CloudWatchLogGroupName": "", "CloudWatchOutputEnabled": False},
        }

    # -- internals --------------------------------------------------------------------

    def _deliver(self, invocation: CommandInvocation) -> None:
        """The agent picks the command up (or cannot)."""
        if invocation.status != "Pending" and invocation.status != "Delayed":
            return
        now = self._emu.clock.now()
        state = self._emu.ec2_state(invocation.instance_id)
        if state in (None, "terminated", "shutting-down"):
            self._finish(invocation, "Failed", "Undeliverable", -1)
            return
        if state != "running":
            if now >= invocation.requested_at + invocation.delivery_timeout:
                self._finish(invocation, "TimedOut", "DeliveryTimedOut", -1)
                return
            invocation.status = invocation.status_details = "Delayed"
            self._emu.clock.call_later(30.0, lambda: self._deliver(invocation), "ssm redeliver")
            return
        invocation.status = "InProgress"
        invocation.status_details = "InProgress"
        invocation.started_at = now
        if self.forced:
            status, details, code = self.forced.pop(0)
            self._emu.clock.call_later(
                self.execution_seconds, lambda: self._finish(invocation, status, details, code), "ssm forced"
            )
            return
        if self.runner is None:
            raise RuntimeError("RunCommandEmulation has no check runner")
        execution = self.runner(invocation.instance_id)
        invocation.stdout = execution.stdout
        invocation.stderr = execution.stderr
        status = "Success" if execution.exit_code == 0 else "Failed"
        self._emu.clock.call_later(
            self.execution_seconds,
            lambda: self._finish(invocation, status, status, execution.exit_code),
            f"ssm finish {invocation.command_id}",
        )

    def _finish(self, invocation: CommandInvocation, status: str, details: str, code: int) -> None:
        """Terminal state of an invocation (unless the instance died meanwhile)."""
        if invocation.status in ("Success", "Failed", "TimedOut", "Cancelled"):
            return
        if invocation.status == "InProgress" and self._emu.ec2_state(invocation.instance_id) in (
            None,
            "terminated",
            "shutting-down",
        ):
            status, details, code = "Failed", "Terminated", -1
        invocation.status = status
        invocation.status_details = details
        invocation.response_code = code
        invocation.ended_at = self._emu.clock.now()


# ---------------------------------------------------------------------------
# SQS on virtual time
# ---------------------------------------------------------------------------


@dataclasses.dataclass
class QueuedMessage:
    """A message in the virtual queue."""

    message_id: str
    body: str
    sent_at: float
    visible_at: float
    receive_count: int = 0
    receipt_handle: str = ""
    first_received_at: float | None = None


class VirtualQueue:
    """The drain queue with SQS standard-queue semantics on the virtual clock.

    Reproduces: ``SendMessage`` ``DelaySeconds`` 0..900 (``InvalidParameterValue`` otherwise) -
    the message is invisible until then; a received message is invisible for the visibility
    timeout and comes back if not deleted (a failed batch item); ``ChangeMessageVisibility`` of
    an in-flight message (``ReceiptHandleIsInvalid`` / ``MessageNotInflight`` otherwise);
    ``ApproximateReceiveCount``;
    after ``max_receive_count`` receives the redrive policy moves it to the dead-letter queue;
    at-least-once delivery (tests can duplicate a message). moto keeps the real queue (so its
    URL and attributes exist), but its delays run on wall-clock time, hence this part.
    """

    def __init__(
        self, emu: AwsEmulation, url: str, arn: str, *, visibility_timeout: float = 360.0, max_receive_count: int = 5
    ) -> None:
        """Emulate the queue at ``url``."""
        self._emu = emu
        self.url = url
        self.arn = arn
        self.visibility_timeout = visibility_timeout
        self.max_receive_count = max_receive_count
        self.messages: list[QueuedMessage] = []
        self.dead_letters: list[QueuedMessage] = []
        self.sent: list[QueuedMessage] = []
        self.deleted = 0
        self._order = itertools.count()

    def send(self, body: str, delay_seconds: int = 0) -> QueuedMessage:
        """Enqueue a message."""
        if not 0 <= int(delay_seconds) <= 900:
            raise EmulatedError(
                "InvalidParameterValue",
                f"Value {delay_seconds} for parameter DelaySeconds is invalid. "
                "Reason: must be between 0 and 900, if provided.",
            )
        now = self._emu.clock.now()
        message = QueuedMessage(str(uuid.uuid4()), body, now, now + int(delay_seconds))
        self.messages.append(message)
        self.sent.append(message)
        return message

    def send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        """SendMessage (routed here for this queue's URL)."""
        message = self.send(params["MessageBody"], int(params.get("DelaySeconds", 0)))
        return {"MessageId": message.message_id, "MD5OfMessageBody": ""}

    def change_message_visibility(self, params: dict[str, Any]) -> dict[str, Any]:
        """ChangeMessageVisibility of a received (in-flight) message."""
        timeout = int(params["VisibilityTimeout"])
        if not 0 <= timeout <= 43_200:
            raise EmulatedError("InvalidParameterValue", f"Value {timeout} for parameter VisibilityTimeout is invalid.")
        handle = params["ReceiptHandle"]
        for message in self.messages:
            if message.receipt_handle == handle:
                now = self._emu.clock.now()
                if message.visible_at <= now:
                    raise EmulatedError("MessageNotInflight", "The message referred to isn't in flight.")
                message.visible_at = now + timeout
                return {}
        raise EmulatedError("ReceiptHandleIsInvalid", f"The input receipt handle {handle} is not valid.")

    def duplicate(self, message: QueuedMessage, *, delay_seconds: float = 0.0) -> QueuedMessage:
        """Deliver a message once more (same MessageId), as SQS may."""
        copy_ = QueuedMessage(message.message_id, message.body, message.sent_at, self._emu.clock.now() + delay_seconds)
        self.messages.append(copy_)
        return copy_

    def next_visible_at(self) -> float | None:
        """When the earliest message becomes visible."""
        return min((message.visible_at for message in self.messages), default=None)

    def receive(self, max_messages: int) -> list[QueuedMessage]:
        """Receive up to ``max_messages`` visible messages (oldest visible first)."""
        now = self._emu.clock.now()
        visible = sorted((m for m in self.messages if m.visible_at <= now), key=lambda m: (m.visible_at, m.sent_at))
        received: list[QueuedMessage] = []
        for message in visible:
            if len(received) >= max_messages:
                break
            if message.receive_count >= self.max_receive_count:
                self.messages.remove(message)
                self.dead_letters.append(message)
                continue
            message.receive_count += 1
            message.receipt_handle = f"rh-{next(self._order)}"
            message.first_received_at = message.first_received_at or now
            message.visible_at = now + self.visibility_timeout
            received.append(message)
        return received

    def delete(self, message: QueuedMessage) -> None:
        """DeleteMessage (by receipt handle)."""
        if message in self.messages:
            self.messages.remove(message)
            self.deleted += 1

    def bodies(self) -> list[dict[str, Any]]:
        """JSON bodies of the messages still queued."""
        out = []
        for message in self.messages:
            try:
                out.append(json.loads(message.body))
            except ValueError:
                out.append({"raw": message.body})
        return out


# ---------------------------------------------------------------------------
# The emulation facade
# ---------------------------------------------------------------------------


_SESSIONS: list[boto3.session.Session] = []


def _session() -> boto3.session.Session:
    """One boto3 session for all emulated clients (it caches the service models: faster clients).

    moto intercepts clients of any session (its handler is part of botocore's built-in handlers
    once moto is imported), so sharing the session across tests is safe.
    """
    if not _SESSIONS:
        _SESSIONS.append(boto3.session.Session())
    return _SESSIONS[0]


class AwsEmulation:
    """moto plus the emulated parts above, behind one client factory.

    Use inside ``moto.mock_aws()`` with fake credentials. :meth:`client` is a drop-in
    ``ClientFactory`` for the drain Lambda.
    """

    def __init__(self, *, clock: VirtualClock | None = None, region: str = REGION) -> None:
        """Create the parts (the queue is attached by :meth:`attach_queue`)."""
        self.region = region
        self.clock = clock or VirtualClock()
        self.calls = CallLog()
        self.faults = FaultInjector()
        self.fleet = FleetOverlay()
        self.lifecycle = LifecycleEmulation(self)
        self.elbv2 = TargetGroupEmulation(self)
        self.ssm = RunCommandEmulation(self)
        self._queue: VirtualQueue | None = None
        self._internal: dict[str, Any] = {}
        #: Called with (service, operation, params) before every call (e.g. to interleave a
        #: concurrent invocation); return value ignored.
        self.call_hooks: list[Callable[[str, str, dict[str, Any]], None]] = []

    # -- clients -------------------------------------------------------------------

    def internal(self, service: str) -> Any:
        """A plain moto client (not logged, not routed) for setup and the emulation's own use."""
        if service not in self._internal:
            self._internal[service] = _session().client(service, region_name=self.region)  # type: ignore[call-overload]
        return self._internal[service]

    def client(self, service: str) -> Any:
        """A boto3 client wired to the emulation (the Lambda's client factory)."""
        client = _session().client(service, region_name=self.region)  # type: ignore[call-overload]
        events = client.meta.events
        events.register("before-parameter-build", self._keep_params)
        events.register("before-call", self._before_call)
        events.register("after-call", self._after_call)
        return client

    @property
    def queue(self) -> VirtualQueue:
        """The emulated drain queue."""
        if self._queue is None:
            raise RuntimeError("no queue attached")
        return self._queue

    def attach_queue(self, url: str, arn: str, **kwargs: Any) -> VirtualQueue:
        """Emulate the queue at ``url`` (SendMessage to it is routed here)."""
        self._queue = VirtualQueue(self, url, arn, **kwargs)
        return self._queue

    # -- botocore hooks ------------------------------------------------------------------

    @staticmethod
    def _keep_params(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        """Keep the caller's parameters for the before-call hook."""
        context["emulation_params"] = copy.deepcopy(params)

    def _before_call(self, model: Any, params: Any, context: dict[str, Any], **_: Any) -> Any:
        """Log, inject faults, and answer routed operations."""
        service = model.service_model.service_name
        operation = model.name
        api_params = context.get("emulation_params", {})
        routed = self._is_routed(service, operation, api_params)
        call = ApiCall(self.clock.now(), service, operation, api_params, routed)
        self.calls.add(call)
        context["emulation_call"] = call
        for hook in list(self.call_hooks):
            hook(service, operation, api_params)
        fault = self.faults.take(service, operation, api_params, "before")
        if fault is not None:
            call.error_code = fault.code
            return self._error_response(fault.code, fault.message, fault.status)
        if not routed:
            return None
        try:
            parsed = self._dispatch(service, operation, api_params)
        except EmulatedError as exc:
            call.error_code = exc.code
            return self._error_response(exc.code, exc.message, exc.status)
        after = self.faults.take(service, operation, api_params, "after")
        if after is not None:
            call.error_code = after.code
            return self._error_response(after.code, after.message, after.status)
        parsed.setdefault(
            "ResponseMetadata",
            {"RequestId": str(uuid.uuid4()), "HTTPStatusCode": 200, "HTTPHeaders": {}, "RetryAttempts": 0},
        )
        return AWSResponse("https://emulated.invalid/", 200, {}, None), parsed

    def _after_call(
        self, http_response: Any, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any
    ) -> None:
        """Patch moto's answers; apply "after" faults to moto-handled calls."""
        call: ApiCall | None = context.get("emulation_call")
        if call is None or call.emulated or call.error_code:
            return
        if http_response.status_code >= 300:
            call.error_code = str(parsed.get("Error", {}).get("Code", "Unknown"))
            return
        service, operation = call.service, call.operation
        if service == "autoscaling" and operation in ("DescribeAutoScalingGroups",):
            self.fleet.patch_groups(parsed)
        elif service == "autoscaling" and operation == "DescribeWarmPool":
            self.fleet.patch_warm_pool(parsed, call.params.get("AutoScalingGroupName", ""))
        elif service == "autoscaling" and operation == "DescribeAutoScalingInstances":
            parsed["AutoScalingInstances"] = [
                {**item, "LifecycleState": self.fleet.lifecycle_state.get(item["InstanceId"], item["LifecycleState"])}
                for item in parsed.get("AutoScalingInstances", [])
                if item["InstanceId"] not in self.fleet.removed
            ]
        elif service == "autoscaling" and operation == "DescribeLifecycleHooks":
            for hook in parsed.get("LifecycleHooks", []):
                hook["GlobalTimeout"] = min(100 * int(hook.get("HeartbeatTimeout", 3600)), MAX_GLOBAL_TIMEOUT)
        fault = self.faults.take(service, operation, call.params, "after")
        if fault is not None:
            call.error_code = fault.code
            http_response.status_code = fault.status
            parsed.clear()
            parsed.update(
                {
                    "Error": {"Code": fault.code, "Message": fault.message},
                    "ResponseMetadata": {"HTTPStatusCode": fault.status},
                }
            )

    def _is_routed(self, service: str, operation: str, params: dict[str, Any]) -> bool:
        """Whether the emulation answers this call."""
        if (service, operation) not in ROUTED_OPERATIONS:
            return False
        if service == "sqs":
            return self._queue is not None and params.get("QueueUrl") == self._queue.url
        return True

    def _dispatch(self, service: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """Call the emulated operation."""
        table: dict[tuple[str, str], Callable[[dict[str, Any]], dict[str, Any]]] = {
            ("autoscaling", "RecordLifecycleActionHeartbeat"): self.lifecycle.record_heartbeat,
            ("autoscaling", "CompleteLifecycleAction"): self.lifecycle.complete,
            ("elbv2", "RegisterTargets"): self.elbv2.register_targets,
            ("elbv2", "DeregisterTargets"): self.elbv2.deregister_targets,
            ("elbv2", "DescribeTargetHealth"): self.elbv2.describe_target_health,
            ("ssm", "SendCommand"): self.ssm.send_command,
            ("ssm", "GetCommandInvocation"): self.ssm.get_command_invocation,
            ("sqs", "SendMessage"): self.queue.send_message,
            ("sqs", "ChangeMessageVisibility"): self.queue.change_message_visibility,
        }
        return table[(service, operation)](params)

    @staticmethod
    def _error_response(code: str, message: str, status: int) -> tuple[AWSResponse, dict[str, Any]]:
        """An error answer botocore turns into a ClientError."""
        parsed = {
            "Error": {"Code": code, "Message": message, "Type": "Sender" if status < 500 else "Receiver"},
            "ResponseMetadata": {"RequestId": str(uuid.uuid4()), "HTTPStatusCode": status, "HTTPHeaders": {}},
        }
        return AWSResponse("https://emulated.invalid/", status, {}, None), parsed

    # -- instance fate -------------------------------------------------------------------

    def ec2_state(self, instance_id: str) -> str | None:
        """EC2 state name of an instance (None if unknown).

        Read from moto's EC2 backend directly (serialising a DescribeInstances answer is slow and
        the emulation asks often); falls back to the API if moto's internals change.
        """
        try:
            from moto.ec2.models import ec2_backends

            instance = ec2_backends[ACCOUNT_ID][self.region].get_instance(instance_id)
            return str(instance._state.name)
        except Exception:  # unknown instance, or moto internals moved: ask the API
            pass
        try:
            reservations = self.internal("ec2").describe_instances(InstanceIds=[instance_id])["Reservations"]
        except Exception:
            return None
        for reservation in reservations:
            for instance in reservation["Instances"]:
                return str(instance["State"]["Name"])
        return None

    def _in_moto_group(self, instance_id: str) -> str | None:
        """The moto group still holding the instance."""
        found = self.internal("autoscaling").describe_auto_scaling_instances(InstanceIds=[instance_id])
        items = found.get("AutoScalingInstances", [])
        return items[0]["AutoScalingGroupName"] if items else None

    def terminate_instance(self, instance_id: str) -> None:
        """The instance terminates (after its lifecycle action, or abruptly)."""
        if self._in_moto_group(instance_id):
            self.internal("autoscaling").terminate_instance_in_auto_scaling_group(
                InstanceId=instance_id, ShouldDecrementDesiredCapacity=True
            )
        elif self.ec2_state(instance_id) not in (None, "terminated"):
            self.internal("ec2").terminate_instances(InstanceIds=[instance_id])
        self.fleet.removed.add(instance_id)
        self.fleet.lifecycle_state.pop(instance_id, None)
        for members in self.fleet.warm_pool.values():
            members.pop(instance_id, None)
        self.elbv2.remove_instance(instance_id)

    def vanish_instance(self, instance_id: str) -> None:
        """Someone terminates the instance directly in EC2 (not through its group)."""
        self.internal("ec2").terminate_instances(InstanceIds=[instance_id])
        self.fleet.removed.add(instance_id)
        self.elbv2.remove_instance(instance_id)

    def move_to_warm_pool(self, instance_id: str, asg_name: str, state: str = "Warmed:Stopped") -> None:
        """The instance leaves the group for its warm pool (stopped)."""
        if self._in_moto_group(instance_id):
            self.internal("autoscaling").detach_instances(
                InstanceIds=[instance_id], AutoScalingGroupName=asg_name, ShouldDecrementDesiredCapacity=True
            )
        if self.ec2_state(instance_id) == "running" and state.endswith("Stopped"):
            self.internal("ec2").stop_instances(InstanceIds=[instance_id])
        self.fleet.warm_pool.setdefault(asg_name, {})[instance_id] = state
        self.fleet.lifecycle_state.pop(instance_id, None)

    def return_to_group(self, instance_id: str, asg_name: str) -> None:
        """A warm-pool instance is started and put back in service in its group."""
        if self.ec2_state(instance_id) == "stopped":
            self.internal("ec2").start_instances(InstanceIds=[instance_id])
        self.fleet.warm_pool.get(asg_name, {}).pop(instance_id, None)
        self.fleet.lifecycle_state.pop(instance_id, None)
        self.fleet.removed.discard(instance_id)
        if not self._in_moto_group(instance_id):
            self.internal("autoscaling").attach_instances(InstanceIds=[instance_id], AutoScalingGroupName=asg_name)

    # -- convenience ---------------------------------------------------------------------

    def published(self, topic_arn: str | None = None) -> list[dict[str, Any]]:
        """JSON messages successfully published to SNS (optionally to one topic), in order."""
        out = []
        for call in self.calls.of("Publish", service="sns", ok_only=True):
            if topic_arn is None or call.params.get("TopicArn") == topic_arn:
                out.append(json.loads(call.params["Message"]))
        return out


# ---------------------------------------------------------------------------
# Provisioning one environment
# ---------------------------------------------------------------------------


@dataclasses.dataclass
class DataPlane:
    """The resources of one emulated environment."""

    environment: str
    asg_name: str
    hook_name: str
    instance_ids: list[str]
    target_group_arns: list[str]
    load_balancer_arn: str
    table_name: str
    queue_url: str
    queue_arn: str
    dlq_url: str
    topic_arn: str
    document_name: str
    subnet_ids: list[str]

    def lambda_env(self, **overrides: str) -> dict[str, str]:
        """The drain Lambda's environment for this data plane."""
        env = {
            "DRAIN_TABLE_NAME": self.table_name,
            "DRAIN_QUEUE_URL": self.queue_url,
            "DRAIN_CHECK_DOCUMENT": self.document_name,
            "ALERT_TOPIC_ARN": self.topic_arn,
            "ENVIRONMENT": self.environment,
        }
        env.update(overrides)
        return env


def provision_data_plane(
    emu: AwsEmulation,
    *,
    environment: str = "test",
    instances: int = 1,
    heartbeat_timeout: int = 900,
    default_result: str = "ABANDON",
    deregistration_delay: int = 60,
    extra_target_groups: int = 0,
    traffic_source_target_groups: int = 0,
    warm_pool: bool = False,
    register: bool = True,
    visibility_timeout: int = 360,
    max_receive_count: int = 5,
) -> DataPlane:
    """Create one environment's resources in moto and wire the emulated parts to them."""
    ec2 = emu.internal("ec2")
    elbv2 = emu.internal("elbv2")
    autoscaling = emu.internal("autoscaling")
    prefix = f"rudder-ha-{environment}"
    subnets = ec2.describe_subnets()["Subnets"]
    by_zone: dict[str, dict[str, Any]] = {}
    for subnet in subnets:
        by_zone.setdefault(subnet["AvailabilityZone"], subnet)
    chosen = list(by_zone.values())[:2]
    subnet_ids = [subnet["SubnetId"] for subnet in chosen]
    vpc_id = chosen[0]["VpcId"]

    load_balancer = elbv2.create_load_balancer(Name=f"{prefix}-alb", Subnets=subnet_ids, Type="application")[
        "LoadBalancers"
    ][0]
    target_groups: list[str] = []
    for index in range(1 + extra_target_groups + traffic_source_target_groups):
        group = elbv2.create_target_group(
            Name=f"{prefix}-tg{index}",
            Protocol="HTTP",
            Port=8080,
            VpcId=vpc_id,
            TargetType="instance",
            HealthCheckPath="/health",
        )["TargetGroups"][0]
        elbv2.modify_target_group_attributes(
            TargetGroupArn=group["TargetGroupArn"],
            Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": str(deregistration_delay)}],
        )
        elbv2.create_listener(
            LoadBalancerArn=load_balancer["LoadBalancerArn"],
            Protocol="HTTP",
            Port=8080 + index,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": group["TargetGroupArn"]}],
        )
        target_groups.append(group["TargetGroupArn"])
    attached = target_groups[: 1 + extra_target_groups]
    via_traffic_sources = target_groups[1 + extra_target_groups :]

    image_id = "ami-0abcdef1234567890"  # moto launches from any AMI id; listing its catalogue is slow
    ec2.create_launch_template(
        LaunchTemplateName=f"{prefix}-lt", LaunchTemplateData={"ImageId": image_id, "InstanceType": "t3.large"}
    )
    asg_name = f"{prefix}-data-plane"
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=asg_name,
        LaunchTemplate={"LaunchTemplateName": f"{prefix}-lt"},
        MinSize=0,
        MaxSize=instances + 2,
        DesiredCapacity=instances,
        VPCZoneIdentifier=",".join(subnet_ids),
        TargetGroupARNs=attached,
        Tags=[{"Key": "rudder-ha:environment", "Value": environment, "PropagateAtLaunch": True}],
    )
    if via_traffic_sources:
        emu.fleet.traffic_sources[asg_name] = [{"Identifier": arn, "Type": "elbv2"} for arn in via_traffic_sources]
    hook_name = f"{prefix}-drain"
    autoscaling.put_lifecycle_hook(
        LifecycleHookName=hook_name,
        AutoScalingGroupName=asg_name,
        LifecycleTransition=TERMINATING,
        HeartbeatTimeout=heartbeat_timeout,
        DefaultResult=default_result,
    )
    if warm_pool:
        autoscaling.put_warm_pool(AutoScalingGroupName=asg_name, MinSize=0, PoolState="Stopped")
    group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[asg_name])["AutoScalingGroups"][0]
    instance_ids = [item["InstanceId"] for item in group["Instances"]]
    if register:
        for arn in target_groups:
            for instance_id in instance_ids:
                emu.elbv2.register(arn, instance_id, 8080, healthy_now=True)

    dynamodb = emu.internal("dynamodb")
    table_name = f"{prefix}-drain"
    dynamodb.create_table(
        TableName=table_name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        SSESpecification={"Enabled": True},
    )
    dynamodb.update_time_to_live(
        TableName=table_name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
    )
    sqs = emu.internal("sqs")
    dlq_url = sqs.create_queue(QueueName=f"{prefix}-drain-dlq", Attributes={"SqsManagedSseEnabled": "true"})["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue_url = sqs.create_queue(
        QueueName=f"{prefix}-drain",
        Attributes={
            "SqsManagedSseEnabled": "true",
            "VisibilityTimeout": str(visibility_timeout),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive_count)}),
        },
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    emu.attach_queue(queue_url, queue_arn, visibility_timeout=visibility_timeout, max_receive_count=max_receive_count)
    topic_arn = emu.internal("sns").create_topic(Name=f"{prefix}-alerts")["TopicArn"]
    document_name = f"{prefix}-drain-check"
    emu.internal("ssm").create_document(
        Name=document_name,
        DocumentType="Command",
        DocumentFormat="JSON",
        Content=json.dumps(
            {
                "schemaVersion": "2.2",
                "description": "Report whether the rudder-server jobsdb is drained (exit 0/75/69).",
                "mainSteps": [
                    {
                        "action": "aws:runShellScript",
                        "name": "runDrainCheck",
                        "inputs": {"timeoutSeconds": "60", "runCommand": ["/usr/local/bin/rudder-drain-check"]},
                    }
                ],
            }
        ),
    )
    emu.ssm.documents.add(document_name)
    return DataPlane(
        environment=environment,
        asg_name=asg_name,
        hook_name=hook_name,
        instance_ids=instance_ids,
        target_group_arns=target_groups,
        load_balancer_arn=load_balancer["LoadBalancerArn"],
        table_name=table_name,
        queue_url=queue_url,
        queue_arn=queue_arn,
        dlq_url=dlq_url,
        topic_arn=topic_arn,
        document_name=document_name,
        subnet_ids=subnet_ids,
    )


# ---------------------------------------------------------------------------
# Lambda driver
# ---------------------------------------------------------------------------


class FakeLambdaContext:
    """The parts of the Lambda context object the handler reads."""

    def __init__(self, timeout_seconds: float, request_id: str) -> None:
        """A context with a fixed remaining time."""
        self.function_name = "rudder-ha-drain"
        self.aws_request_id = request_id
        self._remaining_ms = int(timeout_seconds * 1000)

    def get_remaining_time_in_millis(self) -> int:
        """Remaining time (the emulated invocation takes no virtual time while running)."""
        return self._remaining_ms


@dataclasses.dataclass
class InvocationRecord:
    """One handler invocation by the driver."""

    at: float
    message_ids: list[str]
    failures: list[str]
    error: str | None = None


Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


class LambdaDriver:
    """Delivers the virtual queue to a handler as the Lambda SQS event source mapping does.

    Reproduces: batches of up to ``batch_size`` visible messages; the event format (``Records``
    with ``messageId``, ``receiptHandle``, ``body``, ``attributes.ApproximateReceiveCount``...);
    partial batch responses (``batchItemFailures``: those messages stay in the queue and come
    back after the visibility timeout, the others are deleted); a handler exception fails the
    whole batch; throttling (messages received while the function is throttled return to the
    queue after the visibility timeout, with their receive count increased). Between deliveries
    the virtual clock jumps to the next visible message or timer.
    """

    def __init__(
        self,
        emu: AwsEmulation,
        handler: Handler,
        *,
        batch_size: int = 1,
        function_timeout: float = 60.0,
        invocation_seconds: float = 0.2,
    ) -> None:
        """Drive ``handler`` from ``emu.queue``."""
        self.emu = emu
        self.handler = handler
        self.batch_size = batch_size
        self.function_timeout = function_timeout
        self.invocation_seconds = invocation_seconds
        self.invocations: list[InvocationRecord] = []
        self.throttled_until: float = 0.0
        #: Messages of the invocation in progress (for tests that interleave a concurrent one).
        self.current: list[QueuedMessage] = []

    def throttle(self, seconds: float) -> None:
        """Throttle the function for ``seconds`` from now."""
        self.throttled_until = self.emu.clock.now() + seconds

    def deliver_once(self) -> InvocationRecord | None:
        """Invoke the handler once with the currently visible messages (None if none)."""
        queue = self.emu.queue
        messages = queue.receive(self.batch_size)
        if not messages:
            return None
        now = self.emu.clock.now()
        if now < self.throttled_until:
            # Received by the poller, but the invoke is throttled: they come back later.
            ids = [m.message_id for m in messages]
            throttled = InvocationRecord(now, ids, ids, "throttled")
            self.invocations.append(throttled)
            return throttled
        event = {"Records": [self.sqs_record(message) for message in messages]}
        record = InvocationRecord(now, [m.message_id for m in messages], [])
        self.current = messages
        try:
            response = self.handler(event, FakeLambdaContext(self.function_timeout, str(uuid.uuid4())))
        except Exception as exc:
            record.error = f"{type(exc).__name__}: {exc}"
            record.failures = list(record.message_ids)
        else:
            failures = {item["itemIdentifier"] for item in (response or {}).get("batchItemFailures", [])}
            record.failures = [m.message_id for m in messages if m.message_id in failures]
            for message in messages:
                if message.message_id not in failures:
                    queue.delete(message)
        finally:
            self.current = []
        self.invocations.append(record)
        self.emu.clock.advance(self.invocation_seconds)
        return record

    def invoke_concurrently(self, message: QueuedMessage) -> dict[str, Any]:
        """Invoke the handler right now with ``message`` (e.g. from inside another invocation)."""
        event = {"Records": [self.sqs_record(message)]}
        return self.handler(event, FakeLambdaContext(self.function_timeout, str(uuid.uuid4())))

    def run(
        self,
        *,
        until: Callable[[], bool] | None = None,
        max_seconds: float = 86_400.0,
        max_invocations: int = 100_000,
    ) -> None:
        """Deliver messages and advance time until ``until()`` holds, time runs out or nothing is left.

        ``until`` is evaluated before the first and after every invocation; use ``max_seconds``
        for conditions on time alone.
        """
        clock = self.emu.clock
        deadline = clock.now() + max_seconds
        count = 0
        if until is not None and until():
            return
        while count < max_invocations:
            visible_at = self.emu.queue.next_visible_at()
            timer_at = clock.next_timer_at()
            if visible_at is not None and visible_at <= clock.now():
                if self.deliver_once() is not None:
                    count += 1
                    # Only invocations change what ``until`` looks at (drain records, API calls).
                    if until is not None and until():
                        return
                continue
            candidates = [t for t in (visible_at, timer_at) if t is not None]
            if not candidates:
                return
            target = min(candidates)
            if target > deadline:
                clock.advance_to(deadline)
                return
            clock.advance_to(target)
        raise RuntimeError(f"driver stopped after {max_invocations} invocations")

    def sqs_record(self, message: QueuedMessage) -> dict[str, Any]:
        """One SQS event record."""
        return {
            "messageId": message.message_id,
            "receiptHandle": message.receipt_handle,
            "body": message.body,
            "attributes": {
                "ApproximateReceiveCount": str(message.receive_count),
                "SentTimestamp": str(int(message.sent_at * 1000)),
                "ApproximateFirstReceiveTimestamp": str(int((message.first_received_at or message.sent_at) * 1000)),
            },
            "messageAttributes": {},
            "md5OfBody": "",
            "eventSource": "aws:sqs",
            "eventSourceARN": self.emu.queue.arn,
            "awsRegion": self.emu.region,
        }


# ---------------------------------------------------------------------------
# Loading the Lambda and pytest fixtures
# ---------------------------------------------------------------------------


def load_drain_lambda() -> ModuleType:
    """Import the drain Lambda's ``drain_runtime`` module (its directory is the zip root)."""
    path = str(DRAIN_LAMBDA_DIR)
    if path not in sys.path:
        sys.path.insert(0, path)
    return importlib.import_module("drain_runtime")


def make_handler(emu: AwsEmulation, env: Mapping[str, str], **config_overrides: Any) -> tuple[Handler, Any]:
    """A handler bound to the emulation's clients and clock; returns ``(handler, runtime)``.

    ``config_overrides`` replace tuning fields of the Lambda's ``DrainConfig`` (e.g.
    ``heartbeat_margin_seconds``).
    """
    runtime_module = load_drain_lambda()
    config_module = importlib.import_module("drain_config")
    config = config_module.DrainConfig.from_env(env)
    if config_overrides:
        config = dataclasses.replace(config, **config_overrides)
    runtime = runtime_module.build_runtime(config=config, client_factory=emu.client, clock=emu.clock)

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return runtime_module.handle_sqs_event(event, runtime, context)

    return handler, runtime


@dataclasses.dataclass
class DrainHarness:
    """One emulated environment with the drain Lambda wired to it."""

    emu: AwsEmulation
    plane: DataPlane
    handler: Handler
    runtime: Any
    driver: LambdaDriver

    def record(self, token: str) -> Any:
        """The Lambda's drain record for a token (a ``drain_state.DrainRecord``), or None."""
        state = importlib.import_module("drain_state")
        item = (
            self.emu.internal("dynamodb")
            .get_item(TableName=self.plane.table_name, Key={"pk": {"S": state.record_key(token)}}, ConsistentRead=True)
            .get("Item")
        )
        return state.DrainRecord.from_item(item) if item else None

    def finished(self, token: str) -> bool:
        """Whether the drain of ``token`` is DONE."""
        record = self.record(token)
        return record is not None and record.status.value == "DONE"

    def run_until_finished(self, token: str, max_seconds: float) -> Any:
        """Drive until the drain of ``token`` is DONE (or time runs out); return its record."""
        self.driver.run(until=lambda: self.finished(token), max_seconds=max_seconds)
        return self.record(token)

    def start(self, instance_id: str | None = None, **kwargs: Any) -> LifecycleAction:
        """Begin terminating an instance (the first one by default)."""
        return self.emu.lifecycle.begin_termination(
            instance_id or self.plane.instance_ids[0], self.plane.asg_name, **kwargs
        )


def build_harness(
    emu: AwsEmulation,
    *,
    env: Mapping[str, str] | None = None,
    config: Mapping[str, Any] | None = None,
    batch_size: int = 1,
    **provision: Any,
) -> DrainHarness:
    """Provision a data plane and wire the Lambda (env overrides, DrainConfig overrides) to it."""
    plane = provision_data_plane(emu, **provision)
    handler, runtime = make_handler(emu, plane.lambda_env(**dict(env or {})), **dict(config or {}))
    driver = LambdaDriver(emu, handler, batch_size=batch_size)
    return DrainHarness(emu, plane, handler, runtime, driver)


def use_fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and region, so nothing can reach a real account."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)


DRAIN_LOGGER = "rudder_ha.drain"
"""The drain Lambda's logger: one JSON object per line."""


def drain_log_events(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """The drain Lambda's log lines, parsed (each must be one JSON object)."""
    return [json.loads(record.getMessage()) for record in caplog.records if record.name == DRAIN_LOGGER]


def script_checks(emu: AwsEmulation, *, drained_at: float | None, pending: int = 3) -> None:
    """Drain-check results: ``pending`` jobs until ``drained_at``, drained afterwards (never if None)."""

    def outcome(instance_id: str, now: float) -> tuple[str, int | None]:
        if drained_at is not None and now >= drained_at:
            return "drained", 0
        return "pending", pending

    emu.ssm.runner = ScriptedCheckRunner(emu.clock, outcome)
