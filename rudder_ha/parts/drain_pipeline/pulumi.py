"""Drain before terminate (Pulumi): EventBridge -> SQS -> drain Lambda, with its state table and SSM check.

The same resources, names and documents as the cdktf :mod:`rudder_ha.parts.drain_pipeline.cdktf`; both
take them from :mod:`rudder_ha.parts.drain_pipeline.spec`.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from rudder_ha.frontends.pulumi.resolve import apply_spec
from rudder_ha.parts.drain_pipeline import spec
from rudder_ha.parts.drain_pipeline.spec import DrainPipelineProps
from rudder_ha.parts.python_function.pulumi import PythonFunction

__all__ = ["DrainPipeline", "DrainPipelineProps"]


class DrainPipeline(pulumi.ComponentResource):
    """The lifecycle-hook event path and the drain Lambda, scoped to this environment's resources.

    Attributes: ``dead_letter_queue`` (and its ``dead_letter_queue_policy``), ``queue`` (and its
    ``queue_policy``), ``rule``, ``table``, ``document`` and ``command_rule`` (None with the eks strategy),
    ``function`` (a :class:`PythonFunction`), ``event_source_mapping``.
    """

    def __init__(self, name: str, props: DrainPipelineProps, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("rudder-ha:drain_pipeline:DrainPipeline", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        partition = aws.get_partition_output(opts=invoke).partition
        account = aws.get_caller_identity_output(opts=invoke).account_id
        self.dead_letter_queue = aws.sqs.Queue(f"{name}-dlq", **spec.dead_letter_queue(props), opts=child)
        self.dead_letter_queue_policy = aws.sqs.QueuePolicy(
            f"{name}-dlq_policy",
            queue_url=self.dead_letter_queue.url,
            policy=self.dead_letter_queue.arn.apply(spec.dead_letter_queue_policy),
            opts=child,
        )
        self.queue = aws.sqs.Queue(
            f"{name}-queue",
            **spec.queue(props),
            redrive_policy=self.dead_letter_queue.arn.apply(spec.redrive_policy),
            opts=child,
        )
        self.rule = aws.cloudwatch.EventRule(
            f"{name}-rule",
            **spec.rule(props),
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
        self.document: aws.ssm.Document | None = None
        self.command_rule: aws.cloudwatch.EventRule | None = None
        if spec.runs_check_document(props.strategy):
            self.document = aws.ssm.Document(f"{name}-check_document", **spec.check_document(props), opts=child)
        if self.document is not None and spec.wakes_on_check_status(props):
            document = self.document
            self.command_rule = aws.cloudwatch.EventRule(
                f"{name}-command_rule",
                **spec.command_rule(props),
                event_pattern=document.name.apply(lambda value: spec.command_event_pattern([value])),
                opts=child,
            )
            aws.cloudwatch.EventTarget(
                f"{name}-command_target",
                rule=self.command_rule.name,
                arn=self.queue.arn,
                target_id=spec.EVENT_TARGET_ID,
                opts=child,
            )
        command_rule_arn = self.command_rule.arn if self.command_rule is not None else None
        self.queue_policy = aws.sqs.QueuePolicy(
            f"{name}-queue_policy",
            queue_url=self.queue.url,
            policy=pulumi.Output.all(self.queue.arn, self.rule.arn, command_rule_arn).apply(
                lambda v: spec.queue_policy(v[0], v[1], v[2])
            ),
            opts=child,
        )
        self.table = aws.dynamodb.Table(
            f"{name}-table",
            **spec.table(props),
            attributes=[aws.dynamodb.TableAttributeArgs(**spec.TABLE_ATTRIBUTE)],
            ttl=aws.dynamodb.TableTtlArgs(**spec.TABLE_TTL),
            server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(**spec.table_encryption(props)),
            point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(**spec.TABLE_POINT_IN_TIME_RECOVERY),
            opts=child,
        )
        document_name = self.document.name if self.document is not None else None
        statements = apply_spec(
            spec.function_statements,
            props,
            spec.STATEMENT_FIELDS,
            partition=partition,
            account=account,
            table_arn=self.table.arn,
            queue_arn=self.queue.arn,
            check_document_name=document_name,
        )
        environment = apply_spec(
            spec.function_environment,
            props,
            spec.ENVIRONMENT_FIELDS,
            table_name=self.table.name,
            queue_url=self.queue.url,
            check_document_name=document_name,
        )
        self.function = PythonFunction(
            f"{name}-function",
            spec.function_props(props, policy_statements=statements, environment=environment),
            opts=child,
        )
        self.event_source_mapping = aws.lambda_.EventSourceMapping(
            f"{name}-source",
            event_source_arn=self.queue.arn,
            function_name=self.function.arn,
            **spec.EVENT_SOURCE_MAPPING,
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
