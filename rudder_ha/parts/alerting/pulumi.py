"""Alerting for one environment (Pulumi): an encrypted SNS topic, the alert router and health probe Lambdas,
the instance's backlog metrics permission, CloudWatch alarms and an EventBridge rule for failed Auto
Scaling launches and terminations.

The settings, documents and alarm definitions come from :mod:`rudder_ha.parts.alerting.spec` and
:mod:`rudder_ha.parts.alerting.alarms`, shared with the cdktf construct :mod:`rudder_ha.parts.alerting.cdktf`.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from rudder_ha.common.policies import policy_json
from rudder_ha.parts.alerting import alarms
from rudder_ha.parts.alerting import spec as alerting
from rudder_ha.parts.alerting.alarms import AlarmSpec, Severity
from rudder_ha.parts.alerting.spec import AlertingProps
from rudder_ha.parts.python_function.pulumi import PythonFunction

__all__ = ["Alerting", "AlertingProps"]

_PULUMI_ARGUMENT = {"alarm_name": "name"}
"""Where the Pulumi ``MetricAlarm`` names an argument differently from Terraform (the spec's names)."""


class Alerting(pulumi.ComponentResource):
    """Topic, alert router, health probe, alarms and the Auto Scaling failure rule of one environment.

    The drain pipeline adds its own alarms with :meth:`watch_function` and :meth:`watch_queue`; every
    alarm ends up in :attr:`alarm_names` / :attr:`alarm_arns`. Unlike cdktf, which reads them at
    synthesis, a Pulumi dashboard takes the ARNs when it is created: call the ``watch_*`` methods first.

    Attributes: ``topic``, ``dead_letter_queue``, ``alert_function``, ``probe_function`` (both
    :class:`PythonFunction`), ``topic_arn``, ``alarm_names``, ``alarm_arns``.
    """

    def __init__(self, name: str, props: AlertingProps, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("rudder-ha:alerting:Alerting", name, None, opts)
        self._name = name
        self._props = props
        self._names: list[str] = []
        self._arns: list[pulumi.Output[str]] = []
        invoke = pulumi.InvokeOutputOptions(parent=self)
        partition = aws.get_partition_output(opts=invoke).partition
        account = aws.get_caller_identity_output(opts=invoke).account_id
        region = aws.get_region_output(opts=invoke).region
        prefix = props.name_prefix

        # --- topic ---------------------------------------------------------------------------------
        self.topic = aws.sns.Topic(
            f"{name}-topic", name=alerting.topic_name(prefix), kms_master_key_id=props.kms_key_arn, opts=self._child()
        )
        aws.sns.TopicPolicy(
            f"{name}-topic_policy",
            arn=self.topic.arn,
            policy=pulumi.Output.all(self.topic.arn, partition, region, account).apply(
                lambda v: policy_json(alerting.topic_policy(v[0], prefix, v[1], v[2], v[3]))
            ),
            opts=self._child(),
        )

        # --- alert router ------------------------------------------------------------------------
        self.dead_letter_queue = aws.sqs.Queue(
            f"{name}-alert_dlq",
            kms_master_key_id=props.kms_key_arn,
            **alerting.dead_letter_queue(prefix),
            opts=self._child(),
        )
        aws.sqs.QueuePolicy(
            f"{name}-alert_dlq_policy",
            queue_url=self.dead_letter_queue.url,
            policy=self.dead_letter_queue.arn.apply(lambda arn: policy_json(alerting.dead_letter_queue_policy(arn))),
            opts=self._child(),
        )
        router_statements = pulumi.Output.all(partition, region, account).apply(
            lambda v: alerting.router_statements(
                props.settings, partition=v[0], region=v[1], account=v[2], service_region=props.region
            )
        )
        self.alert_function = PythonFunction(
            f"{name}-alert_router",
            alerting.router_function(
                props,
                policy_statements=router_statements,
                dead_letter_queue_arn=self.dead_letter_queue.arn,
            ),
            opts=self._child(),
        )
        aws.sns.TopicSubscription(
            f"{name}-alert_subscription",
            topic=self.topic.arn,
            protocol="lambda",
            endpoint=self.alert_function.arn,
            opts=self._child(),
        )
        aws.lambda_.Permission(
            f"{name}-alert_invoke",
            **alerting.ROUTER_PERMISSION,
            function=self.alert_function.name,
            source_arn=self.topic.arn,
            opts=self._child(),
        )

        # --- health probe ------------------------------------------------------------------------
        self.probe_function = PythonFunction(
            f"{name}-health_probe",
            alerting.probe_function(props),
            opts=self._child(),
        )
        schedule = aws.cloudwatch.EventRule(
            f"{name}-probe_schedule", **alerting.probe_schedule(prefix), opts=self._child()
        )
        aws.cloudwatch.EventTarget(
            f"{name}-probe_target",
            rule=schedule.name,
            target_id=alerting.PROBE_TARGET_ID,
            arn=self.probe_function.arn,
            opts=self._child(),
        )
        aws.lambda_.Permission(
            f"{name}-probe_invoke",
            **alerting.PROBE_PERMISSION,
            function=self.probe_function.name,
            source_arn=schedule.arn,
            opts=self._child(),
        )
        aws.lambda_.FunctionEventInvokeConfig(
            f"{name}-probe_invoke_config",
            function_name=self.probe_function.name,
            **alerting.PROBE_INVOKE_CONFIG,
            opts=self._child(),
        )

        # --- the instance's backlog metrics (ami/bin/rudder-backlog-metrics) ----------------------
        aws.iam.RolePolicy(
            f"{name}-instance_metrics",
            name=alerting.INSTANCE_METRICS_POLICY_NAME,
            role=props.instance_role_name,
            policy=policy_json(alerting.instance_metrics_policy()),
            opts=self._child(),
        )

        # --- Auto Scaling launch/terminate failures -> topic (raw events; the router parses them) --
        asg_rule = aws.cloudwatch.EventRule(
            f"{name}-asg_failures",
            **alerting.asg_failure_rule(prefix),
            event_pattern=pulumi.Output.from_input(props.asg_name).apply(alerting.asg_failure_event_pattern),
            opts=self._child(),
        )
        aws.cloudwatch.EventTarget(
            f"{name}-asg_failures_target",
            rule=asg_rule.name,
            target_id=alerting.ASG_FAILURES_TARGET_ID,
            arn=self.topic.arn,
            opts=self._child(),
        )

        for spec in alarms.service_alarms(
            prefix,
            props.environment,
            props.settings.thresholds,
            props.alb_arn_suffix,
            props.target_group_arn_suffix,
            props.standby_targets,
        ):
            self._alarm(spec)
        for spec in alarms.alerting_function_alarms(
            prefix, props.environment, self.alert_function.name, self.probe_function.name, self.dead_letter_queue.name
        ):
            self._alarm(spec)
        self.register_outputs({"topic_arn": self.topic.arn, "alert_function_arn": self.alert_function.arn})

    def _child(self) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self)

    # --- alarms ------------------------------------------------------------------------------------

    def watch_function(self, label: str, function_name: pulumi.Input[str], *, severity: Severity = "warning") -> None:
        """Adds Errors and Throttles alarms (any in five minutes) for a Lambda function."""
        p = self._props
        for spec in alarms.function_alarms(p.name_prefix, p.environment, label, function_name, severity):
            self._alarm(spec)

    def watch_queue(self, label: str, queue_name: pulumi.Input[str], *, severity: Severity = "warning") -> None:
        """Adds an alarm on a dead-letter queue holding any message."""
        self._alarm(alarms.queue_alarm(self._props.name_prefix, self._props.environment, label, queue_name, severity))

    def _alarm(self, spec: AlarmSpec) -> aws.cloudwatch.MetricAlarm:
        settings: dict[str, Any] = {_PULUMI_ARGUMENT.get(k, k): v for k, v in spec.settings().items()}
        queries = [_metric_query(query.settings()) for query in spec.queries]
        topic = [self.topic.arn]
        alarm = aws.cloudwatch.MetricAlarm(
            f"{self._name}-{spec.construct_id}",
            **settings,
            metric_queries=queries or None,
            alarm_actions=topic,
            ok_actions=topic,
            opts=self._child(),
        )
        self._names.append(spec.name)
        self._arns.append(alarm.arn)
        return alarm

    # --- outputs -----------------------------------------------------------------------------------

    @property
    def topic_arn(self) -> pulumi.Output[str]:
        """The alerts topic: the drain pipeline publishes its messages here."""
        return self.topic.arn

    @property
    def alarm_names(self) -> list[str]:
        """Every alarm's name, including those added by :meth:`watch_function`/:meth:`watch_queue`."""
        return list(self._names)

    @property
    def alarm_arns(self) -> list[pulumi.Output[str]]:
        """Every alarm's ARN, in the order of :attr:`alarm_names`."""
        return list(self._arns)


def _metric_query(query: dict[str, Any]) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
    metric = query.pop("metric", None)
    return aws.cloudwatch.MetricAlarmMetricQueryArgs(
        **query, metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(**metric) if metric else None
    )
