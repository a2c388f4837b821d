"""The AWS emulation facade: moto plus the emulated parts, behind one boto3 client factory.

How it plugs into boto3 (documented choice): :meth:`AwsEmulation.client` creates ordinary boto3
clients (moto intercepts them at ``before-send``) and registers three botocore event hooks on
each of them:

* ``before-parameter-build`` keeps a copy of the caller's API parameters in the request context;
* ``before-call`` records the call in the :class:`~tests.support.aws_emulation.api_calls.CallLog`,
  applies injected faults and, for the operations routed to the emulation (see
  :data:`ROUTED_OPERATIONS`), returns the emulated ``(http_response, parsed)`` pair: botocore then
  skips the HTTP layer (so moto never sees these calls) and raises the usual ``ClientError``
  subclass for error responses;
* ``after-call`` patches moto's responses where it is incomplete (``GlobalTimeout``, lifecycle
  states, warm-pool instances, traffic sources) and can turn a successful response into an error
  to emulate "the request took effect but the response was lost".

Parameter validation by botocore still applies to every call, emulated or not. The documented
AWS behaviour itself lives in one module per service (see :mod:`tests.support.aws_emulation`).
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse

from tests.support.aws_emulation.account import REGION
from tests.support.aws_emulation.api_calls import ApiCall, CallLog, EmulatedError, FaultInjector
from tests.support.aws_emulation.autoscaling_fleet import FleetOverlay
from tests.support.aws_emulation.autoscaling_lifecycle import LifecycleEmulation, patch_hooks
from tests.support.aws_emulation.clock import VirtualClock
from tests.support.aws_emulation.elbv2_targets import TargetGroupEmulation
from tests.support.aws_emulation.eventbridge_rules import EventBus
from tests.support.aws_emulation.instance_fate import InstanceFate
from tests.support.aws_emulation.sqs_queue import VirtualQueue
from tests.support.aws_emulation.ssm_run_command import RunCommandEmulation

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


_SESSIONS: list[boto3.session.Session] = []
_PLAIN_CLIENTS: dict[tuple[str, str], Any] = {}


def _session() -> boto3.session.Session:
    """One boto3 session for all emulated clients (it caches the service models: faster clients).

    moto intercepts clients of any session (its handler is part of botocore's built-in handlers
    once moto is imported), so sharing the session across tests is safe.
    """
    if not _SESSIONS:
        _SESSIONS.append(boto3.session.Session())
    return _SESSIONS[0]


class AwsEmulation:
    """moto plus the emulated parts of this package, behind one client factory.

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
        self.events = EventBus(self)
        self.instances = InstanceFate(self)
        self._queue: VirtualQueue | None = None
        self._wired: dict[str, Any] = {}
        #: Called with (service, operation, params) before every call (e.g. to interleave a
        #: concurrent invocation); return value ignored.
        self.call_hooks: list[Callable[[str, str, dict[str, Any]], None]] = []

    # -- clients -------------------------------------------------------------------

    def internal(self, service: str) -> Any:
        """A plain moto client (not logged, not routed) for setup and the emulation's own use: one per
        service and region for the whole process, as nothing is ever registered on it."""
        key = (service, self.region)
        if key not in _PLAIN_CLIENTS:
            _PLAIN_CLIENTS[key] = _session().client(service, region_name=self.region)  # type: ignore[call-overload]
        return _PLAIN_CLIENTS[key]

    def client(self, service: str) -> Any:
        """A boto3 client wired to the emulation (the Lambda's client factory).

        One per service and emulation, handed to every invocation: a client keeps no state the Lambda
        could observe (its hooks route through this emulation), and building one costs more than most
        of the calls it makes.
        """
        if service not in self._wired:
            client = _session().client(service, region_name=self.region)  # type: ignore[call-overload]
            events = client.meta.events
            events.register("before-parameter-build", self._keep_params)
            events.register("before-call", self._before_call)
            events.register("after-call", self._after_call)
            self._wired[service] = client
        return self._wired[service]

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
            self.fleet.patch_instances(parsed)
        elif service == "autoscaling" and operation == "DescribeLifecycleHooks":
            patch_hooks(parsed)
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

    # -- instance fate (see :class:`InstanceFate`) -----------------------------------------

    def ec2_state(self, instance_id: str) -> str | None:
        """EC2 state name of an instance (None if unknown)."""
        return self.instances.ec2_state(instance_id)

    def terminate_instance(self, instance_id: str) -> None:
        """The instance terminates (after its lifecycle action, or abruptly)."""
        self.instances.terminate_instance(instance_id)

    def vanish_instance(self, instance_id: str) -> None:
        """Someone terminates the instance directly in EC2 (not through its group)."""
        self.instances.vanish_instance(instance_id)

    def move_to_warm_pool(self, instance_id: str, asg_name: str, state: str = "Warmed:Stopped") -> None:
        """The instance leaves the group for its warm pool (stopped)."""
        self.instances.move_to_warm_pool(instance_id, asg_name, state)

    def return_to_group(self, instance_id: str, asg_name: str) -> None:
        """A warm-pool instance is started and put back in service in its group."""
        self.instances.return_to_group(instance_id, asg_name)

    # -- convenience ---------------------------------------------------------------------

    def published(self, topic_arn: str | None = None) -> list[dict[str, Any]]:
        """JSON messages successfully published to SNS (optionally to one topic), in order."""
        out = []
        for call in self.calls.of("Publish", service="sns", ok_only=True):
            if topic_arn is None or call.params.get("TopicArn") == topic_arn:
                out.append(json.loads(call.params["Message"]))
        return out
