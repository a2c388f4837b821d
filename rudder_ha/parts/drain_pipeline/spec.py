"""The drain-before-terminate pipeline: names, settings, documents and the drain Lambda's policy and environment.

Shared by the cdktf :mod:`rudder_ha.parts.drain_pipeline.cdktf` and the Pulumi
:mod:`rudder_ha.parts.drain_pipeline.pulumi`. Values may be Terraform tokens (cdktf) or plain strings
resolved from Pulumi outputs; the documents come out the same.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rudder_ha.common.policies import deny_insecure_transport, policy_json
from rudder_ha.common.refs import Ref
from rudder_ha.config.defaults import DRAIN_QUEUE_VISIBILITY_TIMEOUT_SECONDS
from rudder_ha.config.model import DrainSettings
from rudder_ha.instance.files import DRAIN_WAIT_PATH, JOBSDB_ENV_FILE
from rudder_ha.parts import Part
from rudder_ha.parts.python_function.spec import PythonFunctionProps

PART = Part("drain_pipeline", "DrainPipeline")
"""Renderers: :class:`rudder_ha.parts.drain_pipeline.cdktf.DrainPipeline` and its Pulumi twin."""

LIFECYCLE_DETAIL_TYPE = "EC2 Instance-terminate Lifecycle Action"
COMMAND_INVOCATION_DETAIL_TYPE = "EC2 Command Invocation Status-change Notification"
"""SSM's per-instance Run Command status change: the drain check finished, wake its drain."""
FINAL_COMMAND_STATUSES = ["Success", "Failed", "TimedOut", "Cancelled"]
"""Statuses after which an invocation's result can be read; earlier ones would only wake the drain for nothing."""
FUNCTION_TIMEOUT_SECONDS = 60
"""Each invocation does one bounded step; the drain itself continues through delayed messages."""
QUEUE_VISIBILITY_TIMEOUT_SECONDS = DRAIN_QUEUE_VISIBILITY_TIMEOUT_SECONDS
"""At least six times the function timeout, as AWS recommends for an SQS event source."""
assert QUEUE_VISIBILITY_TIMEOUT_SECONDS >= 6 * FUNCTION_TIMEOUT_SECONDS
SSM_COMMAND_TIMEOUT_SECONDS = 60
"""SendCommand's delivery timeout: how long SSM tries to hand the check to the agent."""
CHECK_WAIT_SECONDS = 3300
"""instance mode: ``rudder-drain-wait`` waits at most this long for an empty jobsdb, then reports the last
verdict and the drain sends the next one (about one new command per drain-hour)."""
CHECK_WAIT_INTERVAL_SECONDS = 1
"""Pause between two local checks while waiting: "drained" is seen within a second; a check is a few
catalog queries over the local socket, no AWS call."""
CHECK_EXECUTION_TIMEOUT_SECONDS = CHECK_WAIT_SECONDS + 300
"""The document step's execution timeout: the script ends first, with its own verdict, never killed."""
HANDOVER_TIMEOUT_SECONDS = 60
"""rds mode: the handover (stopping the backend, releasing the lease) is one short command."""
FALLBACK_POLL_SECONDS = 420
"""A drain waiting on its check reads the command itself this often when no status-change event woke it
(events are best effort). Each such step also heartbeats the hook, and a step that crashes comes back only
after the queue's visibility timeout: 420 + 360 s + 120 s of latency stays within the hook's 900 s heartbeat
timeout, so one crashed step never lets the hook expire. About 9 steps per drain-hour."""
assert FALLBACK_POLL_SECONDS + QUEUE_VISIBILITY_TIMEOUT_SECONDS + 120 <= 900
MAX_RECEIVES = 5
"""Receives of one message before it goes to the dead-letter queue."""
QUEUE_RETENTION_SECONDS = 4 * 24 * 3600
DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 3600
"""The SQS maximum, to leave time to inspect and redrive."""
KMS_DATA_KEY_REUSE_SECONDS = 300
EVENT_TARGET_ID = "drain-queue"
TABLE_BILLING_MODE = "PAY_PER_REQUEST"
TABLE_HASH_KEY = "pk"
"""Partition key (string) of the drain state table: one item per lifecycle action."""
TABLE_TTL_ATTRIBUTE = "expires_at"
DOCUMENT_TYPE = "Command"
DOCUMENT_FORMAT = "JSON"
FUNCTION_SOURCE = "drain"
"""Directory under ``lambdas/``."""
FUNCTION_DESCRIPTION = "Holds terminating data-plane instances or nodes until they are drained"
RESERVED_CONCURRENCY = 5
EVENT_SOURCE_BATCH_SIZE = 1
FUNCTION_RESPONSE_TYPES = ["ReportBatchItemFailures"]
EVENT_SOURCE_MAPPING: dict[str, Any] = {
    "batch_size": EVENT_SOURCE_BATCH_SIZE,
    "function_response_types": FUNCTION_RESPONSE_TYPES,
}
"""The queue -> function event source mapping's settings, apart from the queue and the function."""
TABLE_ATTRIBUTE: dict[str, str] = {"name": TABLE_HASH_KEY, "type": "S"}
"""The state table's one attribute block: its partition key."""
TABLE_TTL: dict[str, Any] = {"attribute_name": TABLE_TTL_ATTRIBUTE, "enabled": True}
TABLE_POINT_IN_TIME_RECOVERY: dict[str, Any] = {"enabled": True}

HANDOVER_COMMAND = (
    "systemctl stop rudder-backend.service rudder-jobsdb-fence.service || exit 69; "
    "systemctl is-active --quiet rudder-backend.service && exit 69; exit 0"
)
"""rds mode: pending jobs live on in the shared jobsdb, so draining an instance means handing it over:
stop rudder-server cleanly, then release the jobsdb lease (the fence unit does so on a clean stop) so
the replacement takes over at once. Exit 0 only when the backend is really down."""


@dataclass(frozen=True)
class DrainPipelineProps:
    """Props of ``DrainPipeline`` (the cdktf construct and the Pulumi component alike)."""

    name_prefix: str
    environment: str
    region: str
    settings: DrainSettings
    kms_key_arn: Ref
    asg_names: Sequence[Ref]
    target_group_arns: Sequence[Ref]
    alert_topic_arn: Ref
    jobsdb_mode: str = "instance"
    strategy: str = "ec2"
    """ec2: take the instance out of its target groups and check its jobsdb through SSM (single node).
    eks: cordon the node and evict its pods through the Kubernetes API (the eks topology)."""
    strategy_environment: Mapping[str, Ref] = field(default_factory=dict)
    strategy_statements: Sequence[Mapping[str, Any]] = field(default_factory=list)
    """Extra IAM statements for the strategy; their values may be Refs."""
    vpc_subnet_ids: Sequence[Ref] = field(default_factory=list)
    """Run the function in these subnets (a private EKS endpoint is reachable only from the VPC)."""
    vpc_security_group_ids: Sequence[Ref] = field(default_factory=list)


def drain_name(name_prefix: str) -> str:
    """Name of the queue, rule, table and function: ``<prefix>-drain``."""
    return f"{name_prefix}-drain"


def dead_letter_queue_name(name_prefix: str) -> str:
    """Name of the drain queue's dead-letter queue."""
    return f"{drain_name(name_prefix)}-dlq"


def check_document_name(name_prefix: str) -> str:
    """Name of the SSM document the ec2 strategy runs on a terminating instance."""
    return f"{drain_name(name_prefix)}-check"


def rule_description(name_prefix: str) -> str:
    """Description of the EventBridge rule."""
    return f"Terminating lifecycle actions of {name_prefix}'s Auto Scaling groups"


def command_rule_name(name_prefix: str) -> str:
    """Name of the EventBridge rule routing the drain check's status changes to the drain queue."""
    return f"{drain_name(name_prefix)}-check-status"


def command_rule(props: DrainPipelineProps) -> dict[str, str]:
    """The command-status rule's name and description (its pattern: :func:`command_event_pattern`)."""
    return {
        "name": command_rule_name(props.name_prefix),
        "description": f"Finished runs of {props.name_prefix}'s drain check document: wake the drain at once",
    }


def command_event_pattern(document_names: list[str]) -> str:
    """The EventBridge pattern matching final status changes of ``document_names``' invocations (JSON).

    Only this deployment's check document: other commands on the account never reach the queue."""
    return json.dumps(
        {
            "source": ["aws.ssm"],
            "detail-type": [COMMAND_INVOCATION_DETAIL_TYPE],
            "detail": {"document-name": document_names, "status": FINAL_COMMAND_STATUSES},
        }
    )


def dead_letter_queue(props: DrainPipelineProps) -> dict[str, Any]:
    """The drain queue's dead-letter queue settings."""
    return {
        "name": dead_letter_queue_name(props.name_prefix),
        "kms_master_key_id": props.kms_key_arn,
        "message_retention_seconds": DEAD_LETTER_RETENTION_SECONDS,
    }


def queue(props: DrainPipelineProps) -> dict[str, Any]:
    """The drain queue's settings, apart from its redrive policy (:func:`redrive_policy`)."""
    return {
        "name": drain_name(props.name_prefix),
        "kms_master_key_id": props.kms_key_arn,
        "kms_data_key_reuse_period_seconds": KMS_DATA_KEY_REUSE_SECONDS,
        "visibility_timeout_seconds": QUEUE_VISIBILITY_TIMEOUT_SECONDS,
        "message_retention_seconds": QUEUE_RETENTION_SECONDS,
    }


def rule(props: DrainPipelineProps) -> dict[str, str]:
    """The EventBridge rule's name and description (its pattern: :func:`event_pattern`)."""
    return {"name": drain_name(props.name_prefix), "description": rule_description(props.name_prefix)}


def table(props: DrainPipelineProps) -> dict[str, Any]:
    """The state table's flat settings; its blocks are :data:`TABLE_ATTRIBUTE`, :data:`TABLE_TTL`,
    :data:`TABLE_POINT_IN_TIME_RECOVERY` and :func:`table_encryption`."""
    return {
        "name": drain_name(props.name_prefix),
        "billing_mode": TABLE_BILLING_MODE,
        "hash_key": TABLE_HASH_KEY,
        "deletion_protection_enabled": True,
    }


def table_encryption(props: DrainPipelineProps) -> dict[str, Any]:
    """The state table's ``server_side_encryption`` block: the environment's key."""
    return {"enabled": True, "kms_key_arn": props.kms_key_arn}


def check_document(props: DrainPipelineProps) -> dict[str, str]:
    """The SSM document the ec2 strategy runs (see :func:`runs_check_document`)."""
    return {
        "name": check_document_name(props.name_prefix),
        "document_type": DOCUMENT_TYPE,
        "document_format": DOCUMENT_FORMAT,
        "content": check_document_content(props.jobsdb_mode),
    }


def function_props(props: DrainPipelineProps, *, policy_statements: Ref, environment: Ref) -> PythonFunctionProps:
    """The drain Lambda's props, given its statements (:func:`function_statements`) and environment
    (:func:`function_environment`); in Pulumi each may be one Output."""
    return PythonFunctionProps(
        name=drain_name(props.name_prefix),
        source=FUNCTION_SOURCE,
        description=FUNCTION_DESCRIPTION,
        kms_key_arn=props.kms_key_arn,
        policy_statements=policy_statements,
        timeout_seconds=FUNCTION_TIMEOUT_SECONDS,
        reserved_concurrency=RESERVED_CONCURRENCY,
        environment=environment,
        vpc_subnet_ids=props.vpc_subnet_ids,
        vpc_security_group_ids=props.vpc_security_group_ids,
    )


def redrive_policy(dead_letter_queue_arn: str) -> str:
    """The drain queue's redrive policy (JSON)."""
    return json.dumps({"deadLetterTargetArn": dead_letter_queue_arn, "maxReceiveCount": MAX_RECEIVES})


def event_pattern(asg_names: list[str]) -> str:
    """The EventBridge pattern matching the terminating lifecycle actions of ``asg_names`` (JSON)."""
    return json.dumps(
        {
            "source": ["aws.autoscaling"],
            "detail-type": [LIFECYCLE_DETAIL_TYPE],
            "detail": {"AutoScalingGroupName": asg_names},
        }
    )


def queue_policy(queue_arn: str, rule_arn: str, command_rule_arn: str | None = None) -> str:
    """The drain queue's resource policy: only this deployment's rules (the lifecycle rule and, with the ec2
    strategy, the command-status rule) may send events to it, and no request may use the queue other than
    over TLS (JSON)."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "LifecycleEventsFromThisRule",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
        },
    ]
    if command_rule_arn is not None:
        statements.append(
            {
                "Sid": "CheckStatusEventsFromThisRule",
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": command_rule_arn}},
            }
        )
    statements.append(deny_insecure_transport("sqs:*", queue_arn))
    return policy_json({"Version": "2012-10-17", "Statement": statements})


def dead_letter_queue_policy(dead_letter_queue_arn: str) -> str:
    """The dead-letter queue's resource policy: no request other than over TLS (JSON)."""
    return policy_json(
        {"Version": "2012-10-17", "Statement": [deny_insecure_transport("sqs:*", dead_letter_queue_arn)]}
    )


def drain_wait_command() -> str:
    """instance mode's command: wait on the node until its jobsdb is drained (``ami/bin/rudder-drain-wait``)."""
    return (
        f"exec {DRAIN_WAIT_PATH} --env-file {JOBSDB_ENV_FILE} "
        f"--interval {CHECK_WAIT_INTERVAL_SECONDS} --max-seconds {CHECK_WAIT_SECONDS}"
    )


def check_wait_seconds(jobsdb_mode: str = "instance") -> int:
    """How long the check document may wait on the instance (``DRAIN_CHECK_WAIT_SECONDS``): 0 in rds mode."""
    return CHECK_WAIT_SECONDS if jobsdb_mode == "instance" else 0


def drain_check_document(jobsdb_mode: str = "instance") -> dict:
    """The SSM Command document run on a terminating instance; its exit code is the verdict (0 drained,
    75 pending, 69 cannot tell). Instance mode waits on the node until its own jobsdb has nothing pending
    and exits that moment (its status-change event wakes the drain); rds mode hands the shared jobsdb
    over to the replacement."""
    waits = jobsdb_mode == "instance"
    return {
        "schemaVersion": "2.2",
        "description": "rudder-ha: drain check (exit 0 drained, 75 pending, 69 cannot tell)",
        "mainSteps": [
            {
                "action": "aws:runShellScript",
                "name": "drainCheck",
                "inputs": {
                    "timeoutSeconds": str(CHECK_EXECUTION_TIMEOUT_SECONDS if waits else HANDOVER_TIMEOUT_SECONDS),
                    "runCommand": [drain_wait_command() if waits else HANDOVER_COMMAND],
                },
            }
        ],
    }


def check_document_content(jobsdb_mode: str = "instance") -> str:
    """:func:`drain_check_document` as the JSON the SSM document holds."""
    return json.dumps(drain_check_document(jobsdb_mode))


STATEMENT_FIELDS = ("asg_names", "target_group_arns", "alert_topic_arn", "kms_key_arn", "strategy_statements")
"""The fields of :class:`DrainPipelineProps` that :func:`function_statements` reads and that may hold Refs."""


def function_statements(
    props: DrainPipelineProps,
    *,
    partition: str,
    account: str,
    table_arn: str,
    queue_arn: str,
    check_document_name: str | None,
) -> list[dict]:
    """The drain Lambda's IAM statements, each scoped to this environment's resources where the action
    allows it. ``check_document_name`` is the SSM document's name (ec2 strategy), None otherwise.
    ``props`` holds plain values or Terraform tokens (Pulumi resolves its Outputs first)."""
    region, environment, strategy = props.region, props.environment, props.strategy
    asg_names, target_group_arns = props.asg_names, props.target_group_arns
    alert_topic_arn, kms_key_arn = props.alert_topic_arn, props.kms_key_arn
    arn = f"arn:{partition}"
    group_arns = [
        f"{arn}:autoscaling:{region}:{account}:autoScalingGroup:*:autoScalingGroupName/{group}" for group in asg_names
    ]
    statements: list[dict] = [
        {
            "Sid": "CompleteAndHeartbeatTheseGroupsHooks",
            "Effect": "Allow",
            "Action": ["autoscaling:CompleteLifecycleAction", "autoscaling:RecordLifecycleActionHeartbeat"],
            "Resource": group_arns,
        },
        {
            # Describe calls support no resource-level permissions: "*" is the only form.
            "Sid": "ReadOnlyLookups",
            "Effect": "Allow",
            "Action": [
                "autoscaling:DescribeAutoScalingGroups",
                "autoscaling:DescribeLifecycleHooks",
                "autoscaling:DescribeWarmPool",
                "ec2:DescribeInstances",
                *(
                    ["elasticloadbalancing:DescribeTargetHealth", "ssm:GetCommandInvocation"]
                    if strategy == "ec2"
                    else []
                ),
            ],
            "Resource": "*",
        },
        {
            "Sid": "DrainState",
            "Effect": "Allow",
            "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
            "Resource": table_arn,
        },
        {
            "Sid": "DrainQueue",
            "Effect": "Allow",
            "Action": [
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:ChangeMessageVisibility",
                "sqs:SendMessage",
            ],
            "Resource": queue_arn,
        },
        {"Sid": "Alert", "Effect": "Allow", "Action": "sns:Publish", "Resource": alert_topic_arn},
        {
            "Sid": "EncryptedQueueTableTopic",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": kms_key_arn,
        },
        *props.strategy_statements,
    ]
    if check_document_name is not None:
        statements[1:1] = [
            {
                "Sid": "TakeOutOfThisTargetGroup",
                "Effect": "Allow",
                "Action": "elasticloadbalancing:DeregisterTargets",
                "Resource": target_group_arns,
            },
            {
                "Sid": "RunTheDrainCheckDocument",
                "Effect": "Allow",
                "Action": "ssm:SendCommand",
                "Resource": f"{arn}:ssm:{region}:{account}:document/{check_document_name}",
            },
            {
                "Sid": "OnThisEnvironmentsInstances",
                "Effect": "Allow",
                "Action": "ssm:SendCommand",
                "Resource": f"{arn}:ec2:{region}:{account}:instance/*",
                "Condition": {"StringEquals": {"ssm:resourceTag/environment": environment}},
            },
        ]
    return statements


ENVIRONMENT_FIELDS = ("alert_topic_arn", "asg_names", "strategy_environment")
"""The fields of :class:`DrainPipelineProps` that :func:`function_environment` reads and that may hold Refs."""


def function_environment(
    props: DrainPipelineProps, *, table_name: str, queue_url: str, check_document_name: str | None
) -> dict[str, str]:
    """The drain Lambda's environment variables (see ``lambdas/drain/lifecycle_drain/config.py``).
    ``check_document_name`` is the SSM document's name (ec2 strategy), None otherwise. ``props`` holds
    plain values or Terraform tokens (Pulumi resolves its Outputs first)."""
    settings = props.settings
    variables = {
        "DRAIN_TABLE_NAME": table_name,
        "DRAIN_QUEUE_URL": queue_url,
        "ALERT_TOPIC_ARN": props.alert_topic_arn,
        "ENVIRONMENT": props.environment,
        # The groups the function drains: a lifecycle event of any other group is dropped unwritten.
        "DRAIN_ASG_NAMES": ",".join(props.asg_names),
        "DRAIN_DEADLINE_SECONDS": str(settings.deadline_seconds),
        "POLL_INTERVAL_SECONDS": str(settings.poll_interval_seconds),
        "ABANDON_AFTER_DEADLINE": str(settings.abandon_after_deadline).lower(),
        "DRAIN_STRATEGY": props.strategy,
        **props.strategy_environment,
    }
    if check_document_name is not None:
        variables["DRAIN_CHECK_DOCUMENT"] = check_document_name
        variables["SSM_COMMAND_TIMEOUT_SECONDS"] = str(SSM_COMMAND_TIMEOUT_SECONDS)
        wait = check_wait_seconds(props.jobsdb_mode)
        if wait:
            variables["DRAIN_CHECK_WAIT_SECONDS"] = str(wait)
            variables["FALLBACK_POLL_SECONDS"] = str(FALLBACK_POLL_SECONDS)
    return variables


def runs_check_document(strategy: str) -> bool:
    """Whether the strategy checks the instance through the SSM document (ec2) rather than evicting pods."""
    return strategy == "ec2"


def wakes_on_check_status(props: DrainPipelineProps) -> bool:
    """Whether the check document waits on the instance, so its status-change events wake the drain (the
    command-status rule exists): the ec2 strategy in instance mode. The rds handover answers at once."""
    return runs_check_document(props.strategy) and check_wait_seconds(props.jobsdb_mode) > 0
