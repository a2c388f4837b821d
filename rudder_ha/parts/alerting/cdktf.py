"""Alerting for one environment: an encrypted SNS topic, the alert router and health probe Lambdas,
the instance's backlog metrics permission, CloudWatch alarms and an EventBridge rule for failed
Auto Scaling launches and terminations.

The settings, documents and alarm definitions live in :mod:`rudder_ha.parts.alerting.spec` and
:mod:`rudder_ha.parts.alerting.alarms` (shared with the Pulumi component). Every alarm sends ALARM *and* OK to the
topic and carries ``severity=critical|warning`` in its description, which the router reads. Alarm names
all start with ``<name_prefix>-`` (the topic policy only accepts alarms named so).
"""

from __future__ import annotations

from cdktf_cdktf_provider_aws.cloudwatch_event_rule import CloudwatchEventRule
from cdktf_cdktf_provider_aws.cloudwatch_event_target import CloudwatchEventTarget
from cdktf_cdktf_provider_aws.cloudwatch_metric_alarm import (
    CloudwatchMetricAlarm,
    CloudwatchMetricAlarmMetricQuery,
    CloudwatchMetricAlarmMetricQueryMetric,
)
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.data_aws_region import DataAwsRegion
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.lambda_function_event_invoke_config import LambdaFunctionEventInvokeConfig
from cdktf_cdktf_provider_aws.lambda_permission import LambdaPermission
from cdktf_cdktf_provider_aws.sns_topic import SnsTopic
from cdktf_cdktf_provider_aws.sns_topic_policy import SnsTopicPolicy
from cdktf_cdktf_provider_aws.sns_topic_subscription import SnsTopicSubscription
from cdktf_cdktf_provider_aws.sqs_queue import SqsQueue
from cdktf_cdktf_provider_aws.sqs_queue_policy import SqsQueuePolicy
from constructs import Construct

from rudder_ha.frontends.cdktf.naming import policy_json
from rudder_ha.parts.alerting import alarms
from rudder_ha.parts.alerting import spec as alerting
from rudder_ha.parts.alerting.alarms import FIVE_XX_RATE, AlarmSpec, Severity
from rudder_ha.parts.alerting.spec import METRIC_NAMESPACE, AlertingProps
from rudder_ha.parts.python_function.cdktf import PythonFunction

__all__ = ["FIVE_XX_RATE", "METRIC_NAMESPACE", "Alerting", "AlertingProps", "topic_alarm"]


class Alerting(Construct):
    """Topic, alert router, health probe, alarms and the Auto Scaling failure rule of one environment.

    The drain pipeline adds its own alarms with :meth:`watch_function` and :meth:`watch_queue`; every
    alarm ends up in :attr:`alarm_names` / :attr:`alarm_arns` (the dashboard reads them at synthesis).
    """

    def __init__(self, scope: Construct, id_: str, props: AlertingProps) -> None:
        super().__init__(scope, id_)
        self._props = props
        self._names: list[str] = []
        self._arns: list[str] = []
        partition = DataAwsPartition(self, "partition").partition
        account = DataAwsCallerIdentity(self, "account").account_id
        region = DataAwsRegion(self, "region").region
        prefix = props.name_prefix

        # --- topic ---------------------------------------------------------------------------------
        self.topic = SnsTopic(self, "topic", name=alerting.topic_name(prefix), kms_master_key_id=props.kms_key_arn)
        SnsTopicPolicy(
            self,
            "topic_policy",
            arn=self.topic.arn,
            policy=policy_json(alerting.topic_policy(self.topic.arn, prefix, partition, region, account)),
        )

        # --- alert router ------------------------------------------------------------------------
        self.dead_letter_queue = SqsQueue(
            self, "alert_dlq", kms_master_key_id=props.kms_key_arn, **alerting.dead_letter_queue(prefix)
        )
        SqsQueuePolicy(
            self,
            "alert_dlq_policy",
            queue_url=self.dead_letter_queue.url,
            policy=policy_json(alerting.dead_letter_queue_policy(self.dead_letter_queue.arn)),
        )
        self.alert_function = PythonFunction(
            self,
            "alert_router",
            alerting.router_function(
                props,
                policy_statements=alerting.router_statements(
                    props.settings, partition=partition, region=region, account=account, service_region=props.region
                ),
                dead_letter_queue_arn=self.dead_letter_queue.arn,
            ),
        )
        SnsTopicSubscription(
            self, "alert_subscription", topic_arn=self.topic.arn, protocol="lambda", endpoint=self.alert_function.arn
        )
        LambdaPermission(
            self,
            "alert_invoke",
            **alerting.ROUTER_PERMISSION,
            function_name=self.alert_function.name,
            source_arn=self.topic.arn,
        )

        # --- health probe ------------------------------------------------------------------------
        self.probe_function = PythonFunction(
            self,
            "health_probe",
            alerting.probe_function(props),
        )
        schedule = CloudwatchEventRule(self, "probe_schedule", **alerting.probe_schedule(prefix))
        CloudwatchEventTarget(
            self, "probe_target", rule=schedule.name, target_id=alerting.PROBE_TARGET_ID, arn=self.probe_function.arn
        )
        LambdaPermission(
            self,
            "probe_invoke",
            **alerting.PROBE_PERMISSION,
            function_name=self.probe_function.name,
            source_arn=schedule.arn,
        )
        LambdaFunctionEventInvokeConfig(
            self, "probe_invoke_config", function_name=self.probe_function.name, **alerting.PROBE_INVOKE_CONFIG
        )

        # --- the instance's backlog metrics (ami/bin/rudder-backlog-metrics) ----------------------
        if props.instance_role_name is not None:
            IamRolePolicy(
                self,
                "instance_metrics",
                name=alerting.INSTANCE_METRICS_POLICY_NAME,
                role=props.instance_role_name,
                policy=policy_json(alerting.instance_metrics_policy()),
            )

        # --- Auto Scaling launch/terminate failures -> topic (raw events; the router parses them) --
        if props.asg_name is not None:
            asg_rule = CloudwatchEventRule(
                self,
                "asg_failures",
                **alerting.asg_failure_rule(prefix),
                event_pattern=alerting.asg_failure_event_pattern(props.asg_name),
            )
            CloudwatchEventTarget(
                self,
                "asg_failures_target",
                rule=asg_rule.name,
                target_id=alerting.ASG_FAILURES_TARGET_ID,
                arn=self.topic.arn,
            )

        if props.alb_arn_suffix is not None and props.target_group_arn_suffix is not None:
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
            prefix,
            props.environment,
            self.alert_function.name,
            self.probe_function.name,
            self.dead_letter_queue.name,
        ):
            self._alarm(spec)

    # --- alarms ------------------------------------------------------------------------------------

    def watch_function(self, label: str, function_name: str, *, severity: Severity = "warning") -> None:
        """Adds Errors and Throttles alarms (any in five minutes) for a Lambda function."""
        for spec in alarms.function_alarms(
            self._props.name_prefix, self._props.environment, label, function_name, severity
        ):
            self._alarm(spec)

    def watch_queue(self, label: str, queue_name: str, *, severity: Severity = "warning") -> None:
        """Adds an alarm on a dead-letter queue holding any message."""
        self._alarm(alarms.queue_alarm(self._props.name_prefix, self._props.environment, label, queue_name, severity))

    def _alarm(self, spec: AlarmSpec) -> CloudwatchMetricAlarm:
        alarm = topic_alarm(self, spec, self.topic.arn)
        self._names.append(spec.name)
        self._arns.append(alarm.arn)
        return alarm

    # --- outputs -----------------------------------------------------------------------------------

    @property
    def topic_arn(self) -> str:
        """The alerts topic: the drain pipeline publishes its messages here."""
        return self.topic.arn

    @property
    def alarm_names(self) -> list[str]:
        """Every alarm's name, including those added by :meth:`watch_function`/:meth:`watch_queue`."""
        return list(self._names)

    @property
    def alarm_arns(self) -> list[str]:
        """Every alarm's ARN (Terraform references), in the order of :attr:`alarm_names`."""
        return list(self._arns)


def topic_alarm(scope: Construct, spec: AlarmSpec, topic_arn: str) -> CloudwatchMetricAlarm:
    """``spec`` as an alarm in ``scope`` sending ALARM and OK to ``topic_arn`` (also for alarms another
    stack adds to an environment's alerts topic)."""
    queries = [_metric_query(query.settings()) for query in spec.queries]
    return CloudwatchMetricAlarm(
        scope,
        spec.construct_id,
        **spec.settings(),
        **({"metric_query": queries} if queries else {}),
        alarm_actions=[topic_arn],
        ok_actions=[topic_arn],
    )


def _metric_query(query: dict) -> CloudwatchMetricAlarmMetricQuery:
    metric = query.pop("metric", None)
    return CloudwatchMetricAlarmMetricQuery(
        **query, metric=CloudwatchMetricAlarmMetricQueryMetric(**metric) if metric else None
    )
