"""Drain before terminate (Pulumi): EventBridge -> SQS -> drain Lambda, with its state table and SSM check.

The same resources, names and documents as the cdktf :mod:`rudder_ha.constructs.drain_pipeline`; both
take them from :mod:`rudder_ha.specs.drain`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from rudder_ha.config.model import DrainSettings
from rudder_ha.pulumi_components.python_function import PythonFunction, PythonFunctionProps
from rudder_ha.specs import drain as spec


@dataclass(frozen=True)
class DrainPipelineProps:
    """Props of :class:`DrainPipeline` (the same fields as the cdktf ``DrainPipelineProps``)."""

    name_prefix: str
    environment: str
    region: str
    settings: DrainSettings
    kms_key_arn: pulumi.Input[str]
    asg_names: Sequence[pulumi.Input[str]]
    target_group_arns: Sequence[pulumi.Input[str]]
    alert_topic_arn: pulumi.Input[str]
    jobsdb_mode: str = "instance"
    strategy: str = "ec2"
    """ec2: take the instance out of its target groups and check its jobsdb through SSM (single node).
    eks: cordon the node and evict its pods through the Kubernetes API (the eks topology)."""
    strategy_environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    strategy_statements: Sequence[Mapping] = field(default_factory=list)
    """Extra IAM statements for the strategy; their values may be Outputs."""
    vpc_subnet_ids: Sequence[pulumi.Input[str]] = field(default_factory=list)
    """Run the function in these subnets (a private EKS endpoint is reachable only from the VPC)."""
    vpc_security_group_ids: Sequence[pulumi.Input[str]] = field(default_factory=list)


class DrainPipeline(pulumi.ComponentResource):
    """The lifecycle-hook event path and the drain Lambda, scoped to this environment's resources.

    Attributes: ``dead_letter_queue``, ``queue``, ``rule``, ``table``, ``document`` (None with the eks
    strategy), ``function`` (a :class:`PythonFunction`), ``event_source_mapping``.
    """

    def __init__(self, name: str, props: DrainPipelineProps, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("rudder-ha:drain_pipeline:DrainPipeline", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        drain_name = spec.drain_name(props.name_prefix)
        partition = aws.get_partition_output(opts=invoke).partition
        account = aws.get_caller_identity_output(opts=invoke).account_id
        self.dead_letter_queue = aws.sqs.Queue(
            f"{name}-dlq",
            name=spec.dead_letter_queue_name(props.name_prefix),
            kms_master_key_id=props.kms_key_arn,
            message_retention_seconds=spec.DEAD_LETTER_RETENTION_SECONDS,
            opts=child,
        )
        self.queue = aws.sqs.Queue(
            f"{name}-queue",
            name=drain_name,
            kms_master_key_id=props.kms_key_arn,
            kms_data_key_reuse_period_seconds=spec.KMS_DATA_KEY_REUSE_SECONDS,
            visibility_timeout_seconds=spec.QUEUE_VISIBILITY_TIMEOUT_SECONDS,
            message_retention_seconds=spec.QUEUE_RETENTION_SECONDS,
            redrive_policy=self.dead_letter_queue.arn.apply(spec.redrive_policy),
            opts=child,
        )
        self.rule = aws.cloudwatch.EventRule(
            f"{name}-rule",
            name=drain_name,
            description=spec.rule_description(props.name_prefix),
            event_pattern=pulumi.Output.from_input(props.asg_names).apply(
                lambda names: spec.event_pattern(list(names))
            ),
            opts=child,
        )
        aws.cloudwatch.EventTarget(
            f"{name}-target",
            rule=self.rule.name,
            arn=self.queue.arn,
            target_id=spec.EVENT_TARGET_ID,
            opts=child,
        )
        self.queue_policy = aws.sqs.QueuePolicy(
            f"{name}-queue_policy",
            queue_url=self.queue.url,
            policy=pulumi.Output.all(self.queue.arn, self.rule.arn).apply(lambda v: spec.queue_policy(v[0], v[1])),
            opts=child,
        )
        self.table = aws.dynamodb.Table(
            f"{name}-table",
            name=drain_name,
            billing_mode=spec.TABLE_BILLING_MODE,
            hash_key=spec.TABLE_HASH_KEY,
            attributes=[aws.dynamodb.TableAttributeArgs(name=spec.TABLE_HASH_KEY, type="S")],
            ttl=aws.dynamodb.TableTtlArgs(attribute_name=spec.TABLE_TTL_ATTRIBUTE, enabled=True),
            server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(
                enabled=True, kms_key_arn=props.kms_key_arn
            ),
            point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
            deletion_protection_enabled=True,
            opts=child,
        )
        self.document: aws.ssm.Document | None = None
        if spec.runs_check_document(props.strategy):
            self.document = aws.ssm.Document(
                f"{name}-check_document",
                name=spec.check_document_name(props.name_prefix),
                document_type=spec.DOCUMENT_TYPE,
                document_format=spec.DOCUMENT_FORMAT,
                content=spec.check_document_content(props.jobsdb_mode),
                opts=child,
            )
        document_name = self.document.name if self.document is not None else None
        statements = pulumi.Output.all(
            partition=partition,
            account=account,
            asg_names=pulumi.Output.from_input(props.asg_names),
            target_group_arns=pulumi.Output.from_input(props.target_group_arns),
            table_arn=self.table.arn,
            queue_arn=self.queue.arn,
            alert_topic_arn=props.alert_topic_arn,
            kms_key_arn=props.kms_key_arn,
            document_name=document_name,
            strategy_statements=pulumi.Output.from_input(props.strategy_statements),
        ).apply(
            lambda v: spec.function_statements(
                partition=v["partition"],
                account=v["account"],
                region=props.region,
                environment=props.environment,
                strategy=props.strategy,
                asg_names=list(v["asg_names"]),
                target_group_arns=list(v["target_group_arns"]),
                table_arn=v["table_arn"],
                queue_arn=v["queue_arn"],
                alert_topic_arn=v["alert_topic_arn"],
                kms_key_arn=v["kms_key_arn"],
                check_document_name=v["document_name"],
                strategy_statements=list(v["strategy_statements"]),
            )
        )
        environment = pulumi.Output.all(
            table_name=self.table.name,
            queue_url=self.queue.url,
            alert_topic_arn=props.alert_topic_arn,
            document_name=document_name,
            strategy_environment=pulumi.Output.from_input(props.strategy_environment),
        ).apply(
            lambda v: spec.function_environment(
                table_name=v["table_name"],
                queue_url=v["queue_url"],
                alert_topic_arn=v["alert_topic_arn"],
                environment=props.environment,
                settings=props.settings,
                strategy=props.strategy,
                strategy_environment=dict(v["strategy_environment"]),
                check_document_name=v["document_name"],
            )
        )
        self.function = PythonFunction(
            f"{name}-function",
            PythonFunctionProps(
                name=drain_name,
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
            opts=child,
        )
        self.event_source_mapping = aws.lambda_.EventSourceMapping(
            f"{name}-source",
            event_source_arn=self.queue.arn,
            function_name=self.function.arn,
            batch_size=spec.EVENT_SOURCE_BATCH_SIZE,
            function_response_types=spec.FUNCTION_RESPONSE_TYPES,
            opts=child,
        )
        self.register_outputs(
            {
                "queue_url": self.queue.url,
                "dead_letter_queue_name": self.dead_letter_queue.name,
                "table_name": self.table.name,
                "function_name": self.function.name,
            }
        )
