"""Drain before terminate: EventBridge -> SQS -> drain Lambda, with its state table and SSM check.

The autoscaling group's terminating lifecycle hook holds an instance in ``Terminating:Wait``. This
pipeline takes it out of its target groups, runs the on-node jobsdb check through SSM RunCommand,
heartbeats the hook, and completes it with CONTINUE only once nothing is pending. Names, settings and
documents come from :mod:`rudder_ha.specs.drain`, shared with the Pulumi component.
"""

from __future__ import annotations

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

from rudder_ha.config.model import DrainSettings
from rudder_ha.constructs.python_function import PythonFunction, PythonFunctionProps
from rudder_ha.specs import drain as spec
from rudder_ha.specs.drain import (  # noqa: F401  (re-exported: the names this module always had)
    FUNCTION_TIMEOUT_SECONDS,
    HANDOVER_COMMAND,
    LIFECYCLE_DETAIL_TYPE,
    MAX_RECEIVES,
    QUEUE_VISIBILITY_TIMEOUT_SECONDS,
    SSM_COMMAND_TIMEOUT_SECONDS,
    drain_check_document,
)


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
        name = spec.drain_name(props.name_prefix)
        partition = DataAwsPartition(self, "partition").partition
        account = DataAwsCallerIdentity(self, "account").account_id
        self.dead_letter_queue = SqsQueue(
            self,
            "dlq",
            name=spec.dead_letter_queue_name(props.name_prefix),
            kms_master_key_id=props.kms_key_arn,
            message_retention_seconds=spec.DEAD_LETTER_RETENTION_SECONDS,
        )
        self.queue = SqsQueue(
            self,
            "queue",
            name=name,
            kms_master_key_id=props.kms_key_arn,
            kms_data_key_reuse_period_seconds=spec.KMS_DATA_KEY_REUSE_SECONDS,
            visibility_timeout_seconds=spec.QUEUE_VISIBILITY_TIMEOUT_SECONDS,
            message_retention_seconds=spec.QUEUE_RETENTION_SECONDS,
            redrive_policy=spec.redrive_policy(self.dead_letter_queue.arn),
        )
        self.rule = CloudwatchEventRule(
            self,
            "rule",
            name=name,
            description=spec.rule_description(props.name_prefix),
            event_pattern=spec.event_pattern(props.asg_names),
        )
        CloudwatchEventTarget(self, "target", rule=self.rule.name, arn=self.queue.arn, target_id=spec.EVENT_TARGET_ID)
        SqsQueuePolicy(
            self,
            "queue_policy",
            queue_url=self.queue.url,
            policy=spec.queue_policy(self.queue.arn, self.rule.arn),
        )
        self.table = DynamodbTable(
            self,
            "table",
            name=name,
            billing_mode=spec.TABLE_BILLING_MODE,
            hash_key=spec.TABLE_HASH_KEY,
            attribute=[DynamodbTableAttribute(name=spec.TABLE_HASH_KEY, type="S")],
            ttl=DynamodbTableTtl(attribute_name=spec.TABLE_TTL_ATTRIBUTE, enabled=True),
            server_side_encryption=DynamodbTableServerSideEncryption(enabled=True, kms_key_arn=props.kms_key_arn),
            point_in_time_recovery=DynamodbTablePointInTimeRecovery(enabled=True),
            deletion_protection_enabled=True,
        )
        self.document: SsmDocument | None = None
        if spec.runs_check_document(props.strategy):
            self.document = SsmDocument(
                self,
                "check_document",
                name=spec.check_document_name(props.name_prefix),
                document_type=spec.DOCUMENT_TYPE,
                document_format=spec.DOCUMENT_FORMAT,
                content=spec.check_document_content(props.jobsdb_mode),
            )
        document_name = self.document.name if self.document is not None else None
        statements = spec.function_statements(
            partition=partition,
            account=account,
            region=props.region,
            environment=props.environment,
            strategy=props.strategy,
            asg_names=props.asg_names,
            target_group_arns=props.target_group_arns,
            table_arn=self.table.arn,
            queue_arn=self.queue.arn,
            alert_topic_arn=props.alert_topic_arn,
            kms_key_arn=props.kms_key_arn,
            check_document_name=document_name,
            strategy_statements=props.strategy_statements,
        )
        environment = spec.function_environment(
            table_name=self.table.name,
            queue_url=self.queue.url,
            alert_topic_arn=props.alert_topic_arn,
            environment=props.environment,
            settings=props.settings,
            strategy=props.strategy,
            strategy_environment=props.strategy_environment,
            check_document_name=document_name,
        )
        self.function = PythonFunction(
            self,
            "function",
            PythonFunctionProps(
                name=name,
                source=spec.FUNCTION_SOURCE,
                description=spec.FUNCTION_DESCRIPTION,
                kms_key_arn=props.kms_key_arn,
                policy_statements=statements,
                timeout_seconds=spec.FUNCTION_TIMEOUT_SECONDS,
                reserved_concurrency=spec.RESERVED_CONCURRENCY,
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
            batch_size=spec.EVENT_SOURCE_BATCH_SIZE,
            function_response_types=spec.FUNCTION_RESPONSE_TYPES,
        )
