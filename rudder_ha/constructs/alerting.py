"""Alerting for one environment: an encrypted SNS topic, the alert router and health probe Lambdas,
the instance's backlog metrics permission, CloudWatch alarms and an EventBridge rule for failed
Auto Scaling launches and terminations.

Every alarm sends ALARM *and* OK to the topic (OK resolves the incident the router opened) and carries
``severity=critical|warning`` in its description, which the router reads. Alarm names all start with
``<name_prefix>-`` (the topic policy only accepts alarms named so).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

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

from rudder_ha import PROJECT
from rudder_ha.config.model import AlertingSettings
from rudder_ha.constructs.naming import deny_insecure_transport, policy_json
from rudder_ha.constructs.python_function import PythonFunction, PythonFunctionProps

METRIC_NAMESPACE = "RudderHA"
"""Namespace of the probe's and the instance's metrics (dimension ``Environment``)."""
PROBE_SAMPLES = 6
PROBE_SAMPLE_SECONDS = 10
"""The probe samples /health every 10 s within its once-a-minute invocation (high-resolution metrics)."""
PROBE_TIMEOUT_SECONDS = 5
PROBE_SCHEDULE = "rate(1 minute)"
DLQ_RETENTION_SECONDS = 14 * 24 * 3600
ASG_FAILURE_EVENTS = ("EC2 Instance Launch Unsuccessful", "EC2 Instance Terminate Unsuccessful")
FIVE_XX_RATE = (
    # (id, metric math) over the ids elb5xx, target5xx and requests; the last one is the percentage.
    # The 5xx counts are only reported when non-zero (FILL them with 0). RequestCount leaves out
    # requests rejected before a target was chosen (e.g. the 503s of "no healthy target"), so the
    # denominator is at least the error count: the rate stays within 0..100 and 0/0 becomes 0.
    ("errors", "FILL(elb5xx, 0) + FILL(target5xx, 0)"),
    ("served", "FILL(requests, 0)"),
    ("total", "MAX([served, errors])"),
    ("rate", "IF(total > 0, 100 * errors / total, 0)"),
)

Severity = Literal["critical", "warning"]
Missing = Literal["breaching", "notBreaching", "ignore", "missing"]


@dataclass(frozen=True)
class AlertingProps:
    """Props of :class:`Alerting`."""

    name_prefix: str
    environment: str
    region: str
    settings: AlertingSettings
    kms_key_arn: str
    """The environment's CMK: encrypts the topic, the dead-letter queue, Lambda environments and logs."""
    health_url: str
    """What the probe GETs: the public endpoint's ``/health``, through the ALB like a client."""
    alb_arn_suffix: str
    target_group_arn_suffix: str
    asg_name: str
    instance_role_name: str
    """The data-plane instance role; it gets permission to publish the backlog metrics."""


@dataclass(frozen=True)
class _Metric:
    namespace: str
    name: str
    dimensions: dict[str, str]
    stat: str
    """A statistic (``Sum``, ``Maximum``...) or a percentile (``p99``)."""


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
        self._env_dimension = {"Environment": props.environment}

        # --- topic ---------------------------------------------------------------------------------
        self.topic = SnsTopic(self, "topic", name=f"{prefix}-alerts", kms_master_key_id=props.kms_key_arn)
        SnsTopicPolicy(
            self,
            "topic_policy",
            arn=self.topic.arn,
            policy=policy_json(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "AlarmsOfThisEnvironmentPublish",
                            "Effect": "Allow",
                            "Principal": {"Service": "cloudwatch.amazonaws.com"},
                            "Action": "sns:Publish",
                            "Resource": self.topic.arn,
                            "Condition": {
                                "StringEquals": {"aws:SourceAccount": account},
                                "ArnLike": {
                                    "aws:SourceArn": f"arn:{partition}:cloudwatch:{region}:{account}:alarm:{prefix}-*"
                                },
                            },
                        },
                        {
                            "Sid": "RulesOfThisEnvironmentPublish",
                            "Effect": "Allow",
                            "Principal": {"Service": "events.amazonaws.com"},
                            "Action": "sns:Publish",
                            "Resource": self.topic.arn,
                            "Condition": {
                                "StringEquals": {"aws:SourceAccount": account},
                                "ArnLike": {
                                    "aws:SourceArn": f"arn:{partition}:events:{region}:{account}:rule/{prefix}-*"
                                },
                            },
                        },
                        deny_insecure_transport("sns:Publish", self.topic.arn),
                    ],
                }
            ),
        )

        # --- alert router ------------------------------------------------------------------------
        self.dead_letter_queue = SqsQueue(
            self,
            "alert_dlq",
            name=f"{prefix}-alert-router-dlq",
            kms_master_key_id=props.kms_key_arn,
            kms_data_key_reuse_period_seconds=300,
            message_retention_seconds=DLQ_RETENTION_SECONDS,
        )
        SqsQueuePolicy(
            self,
            "alert_dlq_policy",
            queue_url=self.dead_letter_queue.url,
            policy=policy_json(
                {
                    "Version": "2012-10-17",
                    "Statement": [deny_insecure_transport("sqs:*", self.dead_letter_queue.arn)],
                }
            ),
        )
        s = props.settings
        receivers = {
            "PAGERDUTY_ROUTING_KEY_PARAMETER": s.pagerduty_routing_key,
            "VICTOROPS_URL_PARAMETER": s.victorops_url,
            "SLACK_WEBHOOK_URL_PARAMETER": s.slack_webhook_url,
        }
        self.alert_function = PythonFunction(
            self,
            "alert_router",
            PythonFunctionProps(
                name=f"{prefix}-alert-router",
                source="alert",
                description=f"{prefix}: routes alarms and Auto Scaling failures to PagerDuty, Splunk On-Call, Slack",
                kms_key_arn=props.kms_key_arn,
                # Secret *references* only: the router reads the values at run time.
                environment={
                    "ENVIRONMENT": props.environment,
                    "PROJECT": PROJECT,
                    **{key: ref for key, ref in receivers.items() if ref},
                },
                policy_statements=self._alert_statements(partition, region, account),
                timeout_seconds=60,  # four delivery attempts with backoff fit (lambdas/alert/README.md)
                dead_letter_queue_arn=self.dead_letter_queue.arn,
            ),
        )
        SnsTopicSubscription(
            self, "alert_subscription", topic_arn=self.topic.arn, protocol="lambda", endpoint=self.alert_function.arn
        )
        LambdaPermission(
            self,
            "alert_invoke",
            statement_id="AllowAlertsTopic",
            action="lambda:InvokeFunction",
            function_name=self.alert_function.name,
            principal="sns.amazonaws.com",
            source_arn=self.topic.arn,
        )

        # --- health probe ------------------------------------------------------------------------
        self.probe_function = PythonFunction(
            self,
            "health_probe",
            PythonFunctionProps(
                name=f"{prefix}-health-probe",
                source="probe",
                description=f"{prefix}: GETs /health through the ALB every 10 s and publishes Up/Degraded/LatencyMs",
                kms_key_arn=props.kms_key_arn,
                environment={
                    "HEALTH_URL": props.health_url,
                    "ENVIRONMENT": props.environment,
                    "METRIC_NAMESPACE": METRIC_NAMESPACE,
                    "PROBE_TIMEOUT_SECONDS": str(PROBE_TIMEOUT_SECONDS),
                    "PROBE_SAMPLES": str(PROBE_SAMPLES),
                    "PROBE_SAMPLE_INTERVAL_SECONDS": str(PROBE_SAMPLE_SECONDS),
                },
                policy_statements=[_put_metric_data_statement("PublishProbeMetrics")],
                # six samples 10 s apart, the last one's timeout, and a margin
                timeout_seconds=(PROBE_SAMPLES - 1) * PROBE_SAMPLE_SECONDS + PROBE_TIMEOUT_SECONDS + 10,
                memory_mb=128,
                reserved_concurrency=2,
            ),
        )
        schedule = CloudwatchEventRule(
            self,
            "probe_schedule",
            name=f"{prefix}-health-probe",
            description=f"{prefix}: run the health probe every minute",
            schedule_expression=PROBE_SCHEDULE,
        )
        CloudwatchEventTarget(
            self, "probe_target", rule=schedule.name, target_id="health-probe", arn=self.probe_function.arn
        )
        LambdaPermission(
            self,
            "probe_invoke",
            statement_id="AllowProbeSchedule",
            action="lambda:InvokeFunction",
            function_name=self.probe_function.name,
            principal="events.amazonaws.com",
            source_arn=schedule.arn,
        )
        # A probe result is worth one minute: a late retry would only blur the Up series. A failed run
        # leaves a gap, and the probe-down alarm treats gaps as breaching.
        LambdaFunctionEventInvokeConfig(
            self,
            "probe_invoke_config",
            function_name=self.probe_function.name,
            maximum_retry_attempts=0,
            maximum_event_age_in_seconds=60,
        )

        # --- the instance's backlog metrics (ami/bin/rudder-backlog-metrics) ----------------------
        IamRolePolicy(
            self,
            "instance_metrics",
            name="publish-backlog-metrics",
            role=props.instance_role_name,
            policy=policy_json(
                {"Version": "2012-10-17", "Statement": [_put_metric_data_statement("PublishBacklogMetrics")]}
            ),
        )

        # --- Auto Scaling launch/terminate failures -> topic (raw events; the router parses them) --
        asg_rule = CloudwatchEventRule(
            self,
            "asg_failures",
            name=f"{prefix}-asg-failures",
            description=f"{prefix}: failed launches and terminations of the data-plane group",
            event_pattern=json.dumps(
                {
                    "source": ["aws.autoscaling"],
                    "detail-type": list(ASG_FAILURE_EVENTS),
                    "detail": {"AutoScalingGroupName": [props.asg_name]},
                }
            ),
        )
        CloudwatchEventTarget(self, "asg_failures_target", rule=asg_rule.name, target_id="alerts", arn=self.topic.arn)

        self._alarms(props)

    # --- IAM ---------------------------------------------------------------------------------------

    def _alert_statements(self, partition: str, region: str, account: str) -> list[dict]:
        """Read access to exactly the configured receiver secrets, and writing to the encrypted DLQ."""
        s = self._props.settings
        parameters = [ref for ref in s.secret_refs if not ref.startswith("arn:")]
        secrets = [ref for ref in s.secret_refs if ref.startswith("arn:")]
        statements: list[dict] = []
        if parameters:
            statements.append(
                {
                    "Sid": "ReadReceiverParameters",
                    "Effect": "Allow",
                    "Action": "ssm:GetParameter",
                    "Resource": [f"arn:{partition}:ssm:{region}:{account}:parameter{name}" for name in parameters],
                }
            )
        if secrets:
            statements.append(
                {
                    "Sid": "ReadReceiverSecrets",
                    "Effect": "Allow",
                    "Action": "secretsmanager:GetSecretValue",
                    "Resource": secrets,
                }
            )
        if s.secrets_kms_key_arn and s.secret_refs:
            services = (["ssm"] if parameters else []) + (["secretsmanager"] if secrets else [])
            statements.append(
                {
                    "Sid": "DecryptReceiverSecrets",
                    "Effect": "Allow",
                    "Action": "kms:Decrypt",
                    "Resource": s.secrets_kms_key_arn,
                    "Condition": {
                        "StringEquals": {
                            "kms:ViaService": [f"{svc}.{self._props.region}.amazonaws.com" for svc in services]
                        }
                    },
                }
            )
        return statements

    # --- alarms ------------------------------------------------------------------------------------

    def _alarms(self, props: AlertingProps) -> None:
        t = props.settings.thresholds
        lb = {"LoadBalancer": props.alb_arn_suffix}
        target = {"TargetGroup": props.target_group_arn_suffix, **lb}
        env = self._env_dimension
        self._alarm(
            "no_healthy_target",
            "no-healthy-target",
            "critical",
            "No healthy target behind the ALB for a whole minute: event intake is down. "
            "HealthyHostCount is always reported, so a gap counts as down too.",
            _Metric("AWS/ApplicationELB", "HealthyHostCount", target, "Maximum"),
            "LessThanThreshold",
            1,
            periods=1,
            missing="breaching",
        )
        self._alarm(
            "unhealthy_host",
            "unhealthy-host",
            "warning",
            "A target has failed the /health check for two minutes; the group replaces it on ELB health.",
            _Metric("AWS/ApplicationELB", "UnHealthyHostCount", target, "Maximum"),
            "GreaterThanOrEqualToThreshold",
            1,
            periods=2,
            missing="notBreaching",
        )
        self._alb_5xx_alarm(lb, t.alb_5xx_percent)
        self._alarm(
            "target_response_time",
            "target-response-time-p99",
            "warning",
            f"p99 target response time above {t.target_response_time_seconds} s for five minutes.",
            _Metric("AWS/ApplicationELB", "TargetResponseTime", target, "p99"),
            "GreaterThanThreshold",
            t.target_response_time_seconds,
            periods=5,
            missing="notBreaching",  # no requests, no latency: nothing is slow
        )
        self._alarm(
            "probe_down",
            "probe-down",
            "critical",
            f"The health probe got no answer from rudder-server through the ALB {t.probe_failures} times in a row "
            "(one probe every 10 s) "
            "in a row, or stopped reporting (missing data counts as down).",
            _Metric(METRIC_NAMESPACE, "Up", env, "Minimum"),
            "LessThanThreshold",
            1,
            periods=t.probe_failures,
            period_seconds=PROBE_SAMPLE_SECONDS,
            missing="breaching",
        )
        self._alarm(
            "probe_degraded",
            "probe-degraded",
            "warning",
            f"rudder-server answered /health as degraded (database down or not accepting events) for "
            f"{t.degraded_probes} probes in a row (one every 10 s).",
            _Metric(METRIC_NAMESPACE, "Degraded", env, "Maximum"),
            "GreaterThanOrEqualToThreshold",
            1,
            periods=t.degraded_probes,
            period_seconds=PROBE_SAMPLE_SECONDS,
            missing="notBreaching",  # no answer at all is probe-down's job
        )
        self._alarm(
            "backlog_age",
            "backlog-oldest-pending-age",
            "warning",
            f"The oldest pending jobsdb job is older than {t.backlog_oldest_age_seconds} s for three minutes: "
            "delivery is stuck (a destination may be down; rudder keeps retrying).",
            _Metric(METRIC_NAMESPACE, "OldestPendingAgeSeconds", env, "Maximum"),
            "GreaterThanThreshold",
            t.backlog_oldest_age_seconds,
            periods=3,
            missing="notBreaching",  # a silent publisher is backlog-check-failed's job
        )
        self._alarm(
            "backlog_check_failed",
            "backlog-check-failed",
            "warning",
            "The on-instance backlog check could not read the jobsdb, or published nothing, for ten minutes: "
            "the backlog alarm is blind.",
            _Metric(METRIC_NAMESPACE, "BacklogCheckFailed", env, "Maximum"),
            "GreaterThanOrEqualToThreshold",
            1,
            periods=10,  # longer than a boot or a replacement, during which the check cannot tell
            missing="breaching",
        )
        self._alarm(
            "gateway_only",
            "degraded-mode",
            "critical",
            "The crash-loop guard switched rudder-server to gateway-only (degraded mode): events are stored "
            "but not delivered until an operator runs `rudder-crash-guard reset` on the instance.",
            _Metric(METRIC_NAMESPACE, "GatewayOnly", env, "Maximum"),
            "GreaterThanOrEqualToThreshold",
            1,
            periods=1,  # the guard publishes once a minute; one datapoint is a fact, not a blip
            missing="notBreaching",
        )
        self.watch_function("alert-router", self.alert_function.name, severity="critical")
        self.watch_function("health-probe", self.probe_function.name)
        self.watch_queue("alert-router", self.dead_letter_queue.name, severity="critical")

    def _alb_5xx_alarm(self, lb: dict[str, str], threshold: float) -> None:
        def count(id_: str, metric: str) -> CloudwatchMetricAlarmMetricQuery:
            return CloudwatchMetricAlarmMetricQuery(
                id=id_,
                return_data=False,
                metric=CloudwatchMetricAlarmMetricQueryMetric(
                    namespace="AWS/ApplicationELB", metric_name=metric, dimensions=lb, period=300, stat="Sum"
                ),
            )

        queries = [
            count("elb5xx", "HTTPCode_ELB_5XX_Count"),
            count("target5xx", "HTTPCode_Target_5XX_Count"),
            count("requests", "RequestCount"),
            *(
                CloudwatchMetricAlarmMetricQuery(
                    id=id_,
                    expression=expression,
                    label="5xx % of requests" if id_ == "rate" else None,
                    return_data=id_ == "rate",
                )
                for id_, expression in FIVE_XX_RATE
            ),
        ]
        self._alarm(
            "alb_5xx_rate",
            "alb-5xx-rate",
            "critical",
            f"More than {threshold}% of requests over five minutes ended in a 5xx from the ALB or rudder-server: "
            "SDKs are failing to deliver events.",
            queries,
            "GreaterThanThreshold",
            threshold,
            periods=1,
            missing="notBreaching",  # no traffic at all is not an error rate
        )

    def watch_function(self, label: str, function_name: str, *, severity: Severity = "warning") -> None:
        """Adds Errors and Throttles alarms (any in five minutes) for a Lambda function."""
        dimensions = {"FunctionName": function_name}
        for metric, what in (("Errors", "failed"), ("Throttles", "was throttled")):
            self._alarm(
                f"{label.replace('-', '_')}_{metric.lower()}",
                f"{label}-{metric.lower()}",
                severity,
                f"The {label} Lambda function {what} in the last five minutes; see its log group.",
                _Metric("AWS/Lambda", metric, dimensions, "Sum"),
                "GreaterThanOrEqualToThreshold",
                1,
                periods=1,
                period_seconds=300,
                missing="notBreaching",  # Lambda reports nothing while the function is idle
            )

    def watch_queue(self, label: str, queue_name: str, *, severity: Severity = "warning") -> None:
        """Adds an alarm on a dead-letter queue holding any message."""
        self._alarm(
            f"{label.replace('-', '_')}_dlq",
            f"{label}-dlq-not-empty",
            severity,
            f"The {label} dead-letter queue holds messages: events were not processed. Inspect and redrive them.",
            _Metric("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": queue_name}, "Maximum"),
            "GreaterThanThreshold",
            0,
            periods=1,
            period_seconds=300,
            # SQS stops reporting only for queues that have been empty and idle for hours.
            missing="notBreaching",
        )

    def _alarm(
        self,
        id_: str,
        slug: str,
        severity: Severity,
        description: str,
        metric: _Metric | list[CloudwatchMetricAlarmMetricQuery],
        comparison: str,
        threshold: float,
        *,
        periods: int,
        missing: Missing,
        period_seconds: int = 60,
    ) -> CloudwatchMetricAlarm:
        name = f"{self._props.name_prefix}-{slug}"
        kwargs: dict = {}
        if isinstance(metric, _Metric):
            kwargs = {
                "namespace": metric.namespace,
                "metric_name": metric.name,
                "dimensions": metric.dimensions,
                "period": period_seconds,
            }
            if metric.stat.startswith("p"):
                kwargs["extended_statistic"] = metric.stat
                # A percentile of a handful of requests says nothing: keep the alarm's state then.
                kwargs["evaluate_low_sample_count_percentiles"] = "ignore"
            else:
                kwargs["statistic"] = metric.stat
        else:
            kwargs = {"metric_query": metric}
        topic = [self.topic.arn]
        alarm = CloudwatchMetricAlarm(
            self,
            f"alarm_{id_}",
            alarm_name=name,
            alarm_description=f"severity={severity} [{self._props.environment}] {description}",
            comparison_operator=comparison,
            threshold=threshold,
            evaluation_periods=periods,
            datapoints_to_alarm=periods,
            treat_missing_data=missing,
            actions_enabled=True,
            alarm_actions=topic,
            ok_actions=topic,
            **kwargs,
        )
        self._names.append(name)
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


def _put_metric_data_statement(sid: str) -> dict:
    # cloudwatch:PutMetricData supports no resource ARN: "*" is the only possible Resource, and the
    # cloudwatch:namespace condition limits it to the RudderHA namespace.
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Action": "cloudwatch:PutMetricData",
        "Resource": "*",
        "Condition": {"StringEquals": {"cloudwatch:namespace": METRIC_NAMESPACE}},
    }
