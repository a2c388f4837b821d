"""Drain before terminate: EventBridge -> SQS -> drain Lambda, with its state table and SSM check.

The autoscaling group's terminating lifecycle hook holds an instance in ``Terminating:Wait``. This
pipeline takes it out of its target groups, runs the on-node jobsdb check through SSM RunCommand (in
instance mode one command that waits on the node until the jobsdb is empty; a second rule routes its
status change to the same queue, which wakes the drain at once), heartbeats the hook, and completes it
with CONTINUE only once nothing is pending. Names, settings and
documents come from :mod:`rudder_ha.parts.drain_pipeline.spec`, shared with the Pulumi component.
"""

from __future__ import annotations

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

from rudder_ha.parts.drain_pipeline import spec
from rudder_ha.parts.drain_pipeline.spec import (  # noqa: F401  (re-exported: the names this module always had)
    FUNCTION_TIMEOUT_SECONDS,
    HANDOVER_COMMAND,
    LIFECYCLE_DETAIL_TYPE,
    MAX_RECEIVES,
    QUEUE_VISIBILITY_TIMEOUT_SECONDS,
    SSM_COMMAND_TIMEOUT_SECONDS,
    DrainPipelineProps,
    drain_check_document,
)
from rudder_ha.parts.python_function.cdktf import PythonFunction


class DrainPipeline(Construct):
    """The lifecycle-hook event path and the drain Lambda, scoped to this environment's resources."""

    def __init__(self, scope: Construct, id_: str, props: DrainPipelineProps) -> None:
        super().__init__(scope, id_)
        partition = DataAwsPartition(self, "partition").partition
        account = DataAwsCallerIdentity(self, "account").account_id
        self.dead_letter_queue = SqsQueue(self, "dlq", **spec.dead_letter_queue(props))
        SqsQueuePolicy(
            self,
            "dlq_policy",
            queue_url=self.dead_letter_queue.url,
            policy=spec.dead_letter_queue_policy(self.dead_letter_queue.arn),
        )
        self.queue = SqsQueue(
            self, "queue", **spec.queue(props), redrive_policy=spec.redrive_policy(self.dead_letter_queue.arn)
        )
        self.rule = CloudwatchEventRule(
            self, "rule", **spec.rule(props), event_pattern=spec.event_pattern(props.asg_names)
        )
        CloudwatchEventTarget(self, "target", rule=self.rule.name, arn=self.queue.arn, target_id=spec.EVENT_TARGET_ID)
        self.document: SsmDocument | None = None
        self.command_rule: CloudwatchEventRule | None = None
        if spec.runs_check_document(props.strategy):
            self.document = SsmDocument(self, "check_document", **spec.check_document(props))
        if self.document is not None and spec.wakes_on_check_status(props):
            self.command_rule = CloudwatchEventRule(
                self,
                "command_rule",
                **spec.command_rule(props),
                event_pattern=spec.command_event_pattern([self.document.name]),
            )
            CloudwatchEventTarget(
                self,
                "command_target",
                rule=self.command_rule.name,
                arn=self.queue.arn,
                target_id=spec.EVENT_TARGET_ID,
            )
        SqsQueuePolicy(
            self,
            "queue_policy",
            queue_url=self.queue.url,
            policy=spec.queue_policy(
                self.queue.arn, self.rule.arn, self.command_rule.arn if self.command_rule is not None else None
            ),
        )
        self.table = DynamodbTable(
            self,
            "table",
            **spec.table(props),
            attribute=[DynamodbTableAttribute(**spec.TABLE_ATTRIBUTE)],
            ttl=DynamodbTableTtl(**spec.TABLE_TTL),
            server_side_encryption=DynamodbTableServerSideEncryption(**spec.table_encryption(props)),
            point_in_time_recovery=DynamodbTablePointInTimeRecovery(**spec.TABLE_POINT_IN_TIME_RECOVERY),
        )
        document_name = self.document.name if self.document is not None else None
        statements = spec.function_statements(
            props,
            partition=partition,
            account=account,
            table_arn=self.table.arn,
            queue_arn=self.queue.arn,
            check_document_name=document_name,
        )
        environment = spec.function_environment(
            props, table_name=self.table.name, queue_url=self.queue.url, check_document_name=document_name
        )
        self.function = PythonFunction(
            self, "function", spec.function_props(props, policy_statements=statements, environment=environment)
        )
        LambdaEventSourceMapping(
            self,
            "source",
            event_source_arn=self.queue.arn,
            function_name=self.function.arn,
            **spec.EVENT_SOURCE_MAPPING,
        )
