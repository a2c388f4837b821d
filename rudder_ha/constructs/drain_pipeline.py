"""Drain before terminate: EventBridge -> SQS -> drain Lambda, with its state table and SSM check.

The autoscaling group's terminating lifecycle hook holds an instance in ``Terminating:Wait``. This
pipeline takes it out of its target groups, runs the on-node jobsdb check through SSM RunCommand,
heartbeats the hook, and completes it with CONTINUE only once nothing is pending.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from cdktf_cdktf_provider_aws.cloudwatch_event_rule import CloudwatchEventRule
from cdktf_cdktf_provider_aws.cloudwatch_event_target import CloudwatchEventTarget
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.dynamodb_table import (
    DynamodbTable,
    DynamodbTableAttribute,
    DynamodbTablePointInTimeRecovery,
    DynamodbTableServerSideEncryption,
    DynamodbTableTtl,
)
from cdktf_cdktf_provider_aws.lambda_event_source_mapping import LambdaEventSourceMapping
from cdktf_cdktf_provider_aws.sqs_queue import SqsQueue
from cdktf_cdktf_provider_aws.sqs_queue_policy import SqsQueuePolicy
from cdktf_cdktf_provider_aws.ssm_document import SsmDocument
from constructs import Construct

from rudder_ha.config.defaults import DRAIN_QUEUE_VISIBILITY_TIMEOUT_SECONDS
from rudder_ha.config.model import DrainSettings
from rudder_ha.constructs.naming import policy_json
from rudder_ha.constructs.python_function import PythonFunction, PythonFunctionProps
from rudder_ha.instance_files import DRAIN_CHECK_PATH, JOBSDB_ENV_FILE

LIFECYCLE_DETAIL_TYPE = "EC2 Instance-terminate Lifecycle Action"
FUNCTION_TIMEOUT_SECONDS = 60
"""Each invocation does one bounded step; the drain itself continues through delayed messages."""
QUEUE_VISIBILITY_TIMEOUT_SECONDS = DRAIN_QUEUE_VISIBILITY_TIMEOUT_SECONDS
"""At least six times the function timeout, as AWS recommends for an SQS event source."""
assert QUEUE_VISIBILITY_TIMEOUT_SECONDS >= 6 * FUNCTION_TIMEOUT_SECONDS
SSM_COMMAND_TIMEOUT_SECONDS = 60
MAX_RECEIVES = 5


HANDOVER_COMMAND = (
    "systemctl stop rudder-backend.service rudder-jobsdb-fence.service || exit 69; "
    "systemctl is-active --quiet rudder-backend.service && exit 69; exit 0"
)
"""rds mode: pending jobs live on in the shared jobsdb, so draining an instance means handing it over:
stop rudder-server cleanly, then release the jobsdb lease (the fence unit does so on a clean stop) so
the replacement takes over at once. Exit 0 only when the backend is really down."""


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


@dataclass(frozen=True)
class DrainPipelineProps:
    """Props of :class:`DrainPipeline`."""

    name_prefix: str
    environment: str
    region: str
    settings: DrainSettings
    kms_key_arn: str
    asg_names: list[str]
    target_group_arns: list[str]
    alert_topic_arn: str
    jobsdb_mode: str = "instance"
    strategy: str = "ec2"
    """ec2: take the instance out of its target groups and check its jobsdb through SSM (single node).
    eks: cordon the node and evict its pods through the Kubernetes API (the eks topology)."""
    strategy_environment: dict[str, str] = field(default_factory=dict)
    strategy_statements: list[dict] = field(default_factory=list)
    vpc_subnet_ids: list[str] = field(default_factory=list)
    """Run the function in these subnets (a private EKS endpoint is reachable only from the VPC)."""
    vpc_security_group_ids: list[str] = field(default_factory=list)


class DrainPipeline(Construct):
    """The lifecycle-hook event path and the drain Lambda, scoped to this environment's resources."""

    def __init__(self, scope: Construct, id_: str, props: DrainPipelineProps) -> None:
        super().__init__(scope, id_)
        name = f"{props.name_prefix}-drain"
        partition = DataAwsPartition(self, "partition").partition
        account = DataAwsCallerIdentity(self, "account").account_id
        self.dead_letter_queue = SqsQueue(
            self,
            "dlq",
            name=f"{name}-dlq",
            kms_master_key_id=props.kms_key_arn,
            message_retention_seconds=14 * 24 * 3600,
        )
        self.queue = SqsQueue(
            self,
            "queue",
            name=name,
            kms_master_key_id=props.kms_key_arn,
            kms_data_key_reuse_period_seconds=300,
            visibility_timeout_seconds=QUEUE_VISIBILITY_TIMEOUT_SECONDS,
            message_retention_seconds=4 * 24 * 3600,
            redrive_policy=json.dumps(
                {"deadLetterTargetArn": self.dead_letter_queue.arn, "maxReceiveCount": MAX_RECEIVES}
            ),
        )
        self.rule = CloudwatchEventRule(
            self,
            "rule",
            name=name,
            description=f"Terminating lifecycle actions of {props.name_prefix}'s Auto Scaling groups",
            event_pattern=json.dumps(
                {
                    "source": ["aws.autoscaling"],
                    "detail-type": [LIFECYCLE_DETAIL_TYPE],
                    "detail": {"AutoScalingGroupName": props.asg_names},
                }
            ),
        )
        CloudwatchEventTarget(self, "target", rule=self.rule.name, arn=self.queue.arn, target_id="drain-queue")
        SqsQueuePolicy(
            self,
            "queue_policy",
            queue_url=self.queue.url,
            policy=policy_json(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "LifecycleEventsFromThisRule",
                            "Effect": "Allow",
                            "Principal": {"Service": "events.amazonaws.com"},
                            "Action": "sqs:SendMessage",
                            "Resource": self.queue.arn,
                            "Condition": {"ArnEquals": {"aws:SourceArn": self.rule.arn}},
                        }
                    ],
                }
            ),
        )
        self.table = DynamodbTable(
            self,
            "table",
            name=name,
            billing_mode="PAY_PER_REQUEST",
            hash_key="pk",
            attribute=[DynamodbTableAttribute(name="pk", type="S")],
            ttl=DynamodbTableTtl(attribute_name="expires_at", enabled=True),
            server_side_encryption=DynamodbTableServerSideEncryption(enabled=True, kms_key_arn=props.kms_key_arn),
            point_in_time_recovery=DynamodbTablePointInTimeRecovery(enabled=True),
            deletion_protection_enabled=True,
        )
        arn = f"arn:{partition}"
        group_arns = [
            f"{arn}:autoscaling:{props.region}:{account}:autoScalingGroup:*:autoScalingGroupName/{group}"
            for group in props.asg_names
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
                        if props.strategy == "ec2"
                        else []
                    ),
                ],
                "Resource": "*",
            },
            {
                "Sid": "DrainState",
                "Effect": "Allow",
                "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
                "Resource": self.table.arn,
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
                "Resource": self.queue.arn,
            },
            {"Sid": "Alert", "Effect": "Allow", "Action": "sns:Publish", "Resource": props.alert_topic_arn},
            {
                "Sid": "EncryptedQueueTableTopic",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": props.kms_key_arn,
            },
            *props.strategy_statements,
        ]
        environment = {
            "DRAIN_TABLE_NAME": self.table.name,
            "DRAIN_QUEUE_URL": self.queue.url,
            "ALERT_TOPIC_ARN": props.alert_topic_arn,
            "ENVIRONMENT": props.environment,
            "DRAIN_DEADLINE_SECONDS": str(props.settings.deadline_seconds),
            "POLL_INTERVAL_SECONDS": str(props.settings.poll_interval_seconds),
            "ABANDON_AFTER_DEADLINE": str(props.settings.abandon_after_deadline).lower(),
            "DRAIN_STRATEGY": props.strategy,
            **props.strategy_environment,
        }
        self.document: SsmDocument | None = None
        if props.strategy == "ec2":
            self.document = SsmDocument(
                self,
                "check_document",
                name=f"{name}-check",
                document_type="Command",
                document_format="JSON",
                content=json.dumps(drain_check_document(props.jobsdb_mode)),
            )
            environment["DRAIN_CHECK_DOCUMENT"] = self.document.name
            environment["SSM_COMMAND_TIMEOUT_SECONDS"] = str(SSM_COMMAND_TIMEOUT_SECONDS)
            statements[1:1] = [
                {
                    "Sid": "TakeOutOfThisTargetGroup",
                    "Effect": "Allow",
                    "Action": "elasticloadbalancing:DeregisterTargets",
                    "Resource": props.target_group_arns,
                },
                {
                    "Sid": "RunTheDrainCheckDocument",
                    "Effect": "Allow",
                    "Action": "ssm:SendCommand",
                    "Resource": f"{arn}:ssm:{props.region}:{account}:document/{self.document.name}",
                },
                {
                    "Sid": "OnThisEnvironmentsInstances",
                    "Effect": "Allow",
                    "Action": "ssm:SendCommand",
                    "Resource": f"{arn}:ec2:{props.region}:{account}:instance/*",
                    "Condition": {"StringEquals": {"ssm:resourceTag/environment": props.environment}},
                },
            ]
        self.function = PythonFunction(
            self,
            "function",
            PythonFunctionProps(
                name=name,
                source="drain",
                description="Holds terminating data-plane instances or nodes until they are drained",
                kms_key_arn=props.kms_key_arn,
                policy_statements=statements,
                timeout_seconds=FUNCTION_TIMEOUT_SECONDS,
                reserved_concurrency=5,
                environment=environment,
                vpc_subnet_ids=props.vpc_subnet_ids,
                vpc_security_group_ids=props.vpc_security_group_ids,
            ),
        )
        LambdaEventSourceMapping(
            self,
            "source",
            event_source_arn=self.queue.arn,
            function_name=self.function.arn,
            batch_size=1,
            function_response_types=["ReportBatchItemFailures"],
        )
