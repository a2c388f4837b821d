"""Emulation of the AWS behaviour the drain Lambda depends on and moto does not model.

moto (``mock_aws``) keeps the resources and answers most calls: DynamoDB (including conditional
writes), SQS queues, SNS, EC2 instances, Auto Scaling groups and hooks (describe), ELBv2 load
balancers and target groups (describe). What it lacks is time and a few state machines, which
this package adds, one module per AWS service or concern, all on one virtual clock:

* :mod:`.clock` - :class:`VirtualClock`, the single source of "now" and of timers.
* :mod:`.account` - the fake account and region, and fake credentials.
* :mod:`.api_calls` - the call log, injected faults (throttling, 5xx, lost responses) and
  emulated error answers.
* :mod:`.autoscaling_lifecycle` - terminating lifecycle actions (``Terminating:Wait``), token
  checks, heartbeats, heartbeat/global timeouts with the hook's ``DefaultResult``, completion
  and the instance's termination (or return to the warm pool) afterwards.
* :mod:`.autoscaling_fleet` - instance membership moto does not track: lifecycle states during
  hooks, warm-pool instances, traffic sources.
* :mod:`.elbv2_targets` - ELBv2 target states (``initial`` -> ``healthy``; deregistered
  targets ``draining`` for the deregistration delay, then gone).
* :mod:`.ssm_run_command` - SSM Run Command that really runs the on-node check and reports it
  through ``GetCommandInvocation``, a waiting document (``ami/bin/rudder-drain-wait``: the check
  again every second until drained) and SSM's status-change events; :mod:`.ssm_check_runners` -
  the check it runs (the script ``ami/bin/rudder-drain-check`` as a subprocess against a throwaway
  PostgreSQL, or scripted outcomes).
* :mod:`.eventbridge_rules` - EventBridge rules: event patterns and delivery of matched events to
  the drain queue (best effort, after a delivery latency).
* :mod:`.sqs_queue` - SQS delivery semantics on virtual time (``DelaySeconds`` <= 900,
  visibility timeout, redelivery, receive counts, dead-letter queue, duplicates).
* :mod:`.instance_fate` - what termination and warm-pool moves do across EC2, Auto Scaling and
  ELBv2.
* :mod:`.lambda_event_source` - :class:`LambdaDriver` delivers queue messages to a handler like
  the Lambda SQS event source mapping (batches, partial batch responses, throttling) and
  advances the virtual clock between deliveries, so a multi-hour drain runs in seconds.
* :mod:`.emulation` - the :class:`AwsEmulation` facade: composes the parts above behind one
  boto3 client factory (botocore event hooks route the emulated operations).
* :mod:`.provisioning` - :func:`provision_data_plane` creates the resources of one environment
  (VPC subnets, ALB + target group, launch template, Auto Scaling group with a terminating hook,
  DynamoDB table, SQS queue + DLQ, SNS topic, SSM document).
* :mod:`.drain_harness` - the drain Lambda wired to all of it (:func:`build_harness`).
* :mod:`.published_events` - AWS's own published event shapes (``tests/data/aws-lifecycle-events/``,
  sources in its ``MANIFEST.json``) and :func:`retarget`, which aims their identifiers at an
  emulated environment; the driver builds every SQS record from the published record template.

The names tests use are re-exported here (``from tests.support import aws_emulation as ae``).
"""

from tests.support.aws_emulation.account import ACCOUNT_ID, REGION, use_fake_credentials
from tests.support.aws_emulation.api_calls import ApiCall, CallLog, EmulatedError, Fault, FaultInjector
from tests.support.aws_emulation.autoscaling_fleet import FleetOverlay
from tests.support.aws_emulation.autoscaling_lifecycle import (
    MAX_GLOBAL_TIMEOUT,
    TERMINATING,
    LifecycleAction,
    LifecycleEmulation,
)
from tests.support.aws_emulation.clock import VirtualClock
from tests.support.aws_emulation.drain_harness import (
    DrainHarness,
    build_harness,
    drain_log_events,
    make_handler,
    script_checks,
)
from tests.support.aws_emulation.elbv2_targets import TargetGroupEmulation, TargetRecord
from tests.support.aws_emulation.emulation import ROUTED_OPERATIONS, AwsEmulation
from tests.support.aws_emulation.eventbridge_rules import EventBus, pattern_matches
from tests.support.aws_emulation.instance_fate import InstanceFate
from tests.support.aws_emulation.lambda_event_source import FakeLambdaContext, Handler, InvocationRecord, LambdaDriver
from tests.support.aws_emulation.provisioning import DataPlane, provision_data_plane
from tests.support.aws_emulation.published_events import (
    PublishedShape,
    event_shapes,
    lifecycle_fields,
    retarget,
    sqs_record_template,
)
from tests.support.aws_emulation.sqs_queue import QueuedMessage, VirtualQueue
from tests.support.aws_emulation.ssm_check_runners import (
    DRAIN_CHECK_SCRIPT,
    CheckExecution,
    CheckRunner,
    ScriptCheckRunner,
    ScriptedCheckRunner,
    check_output,
)
from tests.support.aws_emulation.ssm_run_command import (
    SSM_STDERR_LIMIT,
    SSM_STDOUT_LIMIT,
    CommandInvocation,
    RunCommandEmulation,
    WaitingCheck,
)

__all__ = [
    "ACCOUNT_ID",
    "DRAIN_CHECK_SCRIPT",
    "MAX_GLOBAL_TIMEOUT",
    "REGION",
    "ROUTED_OPERATIONS",
    "SSM_STDERR_LIMIT",
    "SSM_STDOUT_LIMIT",
    "TERMINATING",
    "ApiCall",
    "AwsEmulation",
    "CallLog",
    "CheckExecution",
    "CheckRunner",
    "CommandInvocation",
    "DataPlane",
    "DrainHarness",
    "EmulatedError",
    "EventBus",
    "FakeLambdaContext",
    "Fault",
    "FaultInjector",
    "FleetOverlay",
    "Handler",
    "InstanceFate",
    "InvocationRecord",
    "LambdaDriver",
    "LifecycleAction",
    "LifecycleEmulation",
    "PublishedShape",
    "QueuedMessage",
    "RunCommandEmulation",
    "ScriptCheckRunner",
    "ScriptedCheckRunner",
    "TargetGroupEmulation",
    "TargetRecord",
    "VirtualClock",
    "VirtualQueue",
    "WaitingCheck",
    "build_harness",
    "check_output",
    "drain_log_events",
    "event_shapes",
    "lifecycle_fields",
    "make_handler",
    "pattern_matches",
    "provision_data_plane",
    "retarget",
    "script_checks",
    "sqs_record_template",
    "use_fake_credentials",
]
