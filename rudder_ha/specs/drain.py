"""The drain-before-terminate pipeline: names, settings, documents and the drain Lambda's policy and environment.

Shared by the cdktf :mod:`rudder_ha.constructs.drain_pipeline` and the Pulumi
:mod:`rudder_ha.pulumi_components.drain_pipeline`. Values may be Terraform tokens (cdktf) or plain strings
resolved from Pulumi outputs; the documents come out the same.
"""

from __future__ import annotations

import json

from rudder_ha.config.defaults import DRAIN_QUEUE_VISIBILITY_TIMEOUT_SECONDS
from rudder_ha.config.model import DrainSettings
from rudder_ha.instance_files import DRAIN_CHECK_PATH, JOBSDB_ENV_FILE
from rudder_ha.policies import policy_json

LIFECYCLE_DETAIL_TYPE = "EC2 Instance-terminate Lifecycle Action"
FUNCTION_TIMEOUT_SECONDS = 60
"""Each invocation does one bounded step; the drain itself continues through delayed messages."""
QUEUE_VISIBILITY_TIMEOUT_SECONDS = DRAIN_QUEUE_VISIBILITY_TIMEOUT_SECONDS
"""At least six times the function timeout, as AWS recommends for an SQS event source."""
assert QUEUE_VISIBILITY_TIMEOUT_SECONDS >= 6 * FUNCTION_TIMEOUT_SECONDS
SSM_COMMAND_TIMEOUT_SECONDS = 60
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

HANDOVER_COMMAND = (
    "systemctl stop rudder-backend.service rudder-jobsdb-fence.service || exit 69; "
    "systemctl is-active --quiet rudder-backend.service && exit 69; exit 0"
)
"""rds mode: pending jobs live on in the shared jobsdb, so draining an instance means handing it over:
stop rudder-server cleanly, then release the jobsdb lease (the fence unit does so on a clean stop) so
the replacement takes over at once. Exit 0 only when the backend is really down."""


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


def queue_policy(queue_arn: str, rule_arn: str) -> str:
    """The drain queue's resource policy: only this rule's events may be sent to it (JSON)."""
    return policy_json(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "LifecycleEventsFromThisRule",
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
                }
            ],
        }
    )


def drain_check_document(jobsdb_mode: str = "instance") -> dict:
    """The SSM Command document run on a terminating instance; its exit code is the verdict (0 drained,
    75 pending, 69 cannot tell). Instance mode waits until the instance's own jobsdb has nothing pending;
    rds mode hands the shared jobsdb over to the replacement."""
    command = f"exec {DRAIN_CHECK_PATH} --env-file {JOBSDB_ENV_FILE}" if jobsdb_mode == "instance" else HANDOVER_COMMAND
    return {
        "schemaVersion": "2.2",
        "description": "rudder-ha: drain check (exit 0 drained, 75 pending, 69 cannot tell)",
        "mainSteps": [
            {
                "action": "aws:runShellScript",
                "name": "drainCheck",
                "inputs": {
                    "timeoutSeconds": str(SSM_COMMAND_TIMEOUT_SECONDS),
                    "runCommand": [command],
                },
            }
        ],
    }


def check_document_content(jobsdb_mode: str = "instance") -> str:
    """:func:`drain_check_document` as the JSON the SSM document holds."""
    return json.dumps(drain_check_document(jobsdb_mode))


def function_statements(
    *,
    partition: str,
    account: str,
    region: str,
    environment: str,
    strategy: str,
    asg_names: list[str],
    target_group_arns: list[str],
    table_arn: str,
    queue_arn: str,
    alert_topic_arn: str,
    kms_key_arn: str,
    check_document_name: str | None,
    strategy_statements: list[dict],
) -> list[dict]:
    """The drain Lambda's IAM statements, each scoped to this environment's resources where the action
    allows it. ``check_document_name`` is the SSM document's name (ec2 strategy), None otherwise."""
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
        *strategy_statements,
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


def function_environment(
    *,
    table_name: str,
    queue_url: str,
    alert_topic_arn: str,
    environment: str,
    settings: DrainSettings,
    strategy: str,
    strategy_environment: dict[str, str],
    check_document_name: str | None,
) -> dict[str, str]:
    """The drain Lambda's environment variables (see ``lambdas/drain/drain_config.py``).
    ``check_document_name`` is the SSM document's name (ec2 strategy), None otherwise."""
    variables = {
        "DRAIN_TABLE_NAME": table_name,
        "DRAIN_QUEUE_URL": queue_url,
        "ALERT_TOPIC_ARN": alert_topic_arn,
        "ENVIRONMENT": environment,
        "DRAIN_DEADLINE_SECONDS": str(settings.deadline_seconds),
        "POLL_INTERVAL_SECONDS": str(settings.poll_interval_seconds),
        "ABANDON_AFTER_DEADLINE": str(settings.abandon_after_deadline).lower(),
        "DRAIN_STRATEGY": strategy,
        **strategy_environment,
    }
    if check_document_name is not None:
        variables["DRAIN_CHECK_DOCUMENT"] = check_document_name
        variables["SSM_COMMAND_TIMEOUT_SECONDS"] = str(SSM_COMMAND_TIMEOUT_SECONDS)
    return variables


def runs_check_document(strategy: str) -> bool:
    """Whether the strategy checks the instance through the SSM document (ec2) rather than evicting pods."""
    return strategy == "ec2"
