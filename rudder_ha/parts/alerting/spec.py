"""Alerting of one environment, front-end neutral: names, fixed settings, the topic's and the dead-letter
queue's policies, the alert router's and the health probe's function settings, and the Auto Scaling
failure rule.

Shared by the cdktf :mod:`rudder_ha.parts.alerting.cdktf` and the Pulumi :mod:`rudder_ha.parts.alerting.pulumi`.
Values may be Terraform tokens (cdktf) or plain strings resolved from Pulumi outputs; the documents come
out the same. Keyword dictionaries use the argument names both front ends share (Terraform's).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from rudder_ha import PROJECT
from rudder_ha.common.policies import deny_insecure_transport
from rudder_ha.common.refs import Ref
from rudder_ha.config.model import AlertingSettings
from rudder_ha.parts import Part
from rudder_ha.parts.python_function.spec import PythonFunctionProps

PART = Part("alerting", "Alerting")
"""Renderers: :class:`rudder_ha.parts.alerting.cdktf.Alerting` and its Pulumi twin."""

METRIC_NAMESPACE = "RudderHA"
"""Namespace of the probe's and the instance's metrics (dimension ``Environment``)."""
PROBE_SAMPLES = 6
PROBE_SAMPLE_SECONDS = 10
"""The probe samples /health every 10 s within its once-a-minute invocation (high-resolution metrics)."""
PROBE_TIMEOUT_SECONDS = 5
PROBE_SCHEDULE = "rate(1 minute)"
DLQ_RETENTION_SECONDS = 14 * 24 * 3600
ASG_FAILURE_EVENTS = ("EC2 Instance Launch Unsuccessful", "EC2 Instance Terminate Unsuccessful")
INSTANCE_METRICS_POLICY_NAME = "publish-backlog-metrics"
"""The inline policy added to the data-plane instance role (ami/bin/rudder-backlog-metrics)."""
PROBE_TARGET_ID = "health-probe"
ASG_FAILURES_TARGET_ID = "alerts"

ROUTER_PERMISSION: dict[str, str] = {
    "statement_id": "AllowAlertsTopic",
    "action": "lambda:InvokeFunction",
    "principal": "sns.amazonaws.com",
}
"""The alerts topic may invoke the router (``source_arn`` = the topic)."""
PROBE_PERMISSION: dict[str, str] = {
    "statement_id": "AllowProbeSchedule",
    "action": "lambda:InvokeFunction",
    "principal": "events.amazonaws.com",
}
"""The schedule rule may invoke the probe (``source_arn`` = the rule)."""
PROBE_INVOKE_CONFIG: dict[str, int] = {"maximum_retry_attempts": 0, "maximum_event_age_in_seconds": 60}
"""A probe result is worth one minute: a late retry would only blur the Up series. A failed run leaves a
gap, and the probe-down alarm treats gaps as breaching."""


@dataclass(frozen=True)
class AlertingProps:
    """Props of ``Alerting`` (the cdktf construct and the Pulumi component alike)."""

    name_prefix: str
    environment: str
    region: str
    settings: AlertingSettings
    kms_key_arn: Ref
    """The environment's CMK: encrypts the topic, the dead-letter queue, Lambda environments and logs."""
    health_url: Ref
    """What the probe GETs: the public endpoint's ``/health``, through the ALB like a client."""
    alb_arn_suffix: Ref | None = None
    """None: no ALB, target, probe or backlog alarms here (the eks topology adds them where its
    controller-made ALB is known, with :func:`rudder_ha.parts.alerting.cdktf.topic_alarm`)."""
    target_group_arn_suffix: Ref | None = None
    asg_name: Ref | None = None
    """None: no Auto Scaling failure rule (the eks topology adds one over its node groups)."""
    instance_role_name: Ref | None = None
    """The data-plane instance role; it gets permission to publish the backlog metrics. None: no instance
    role (the eks topology grants its backend pods' role)."""
    standby_targets: int = 0
    """Targets that fail ``/health`` by design: a hot standby waits for the jobsdb lease with its backend
    stopped (README "Failover"). The unhealthy-host alarm counts only targets beyond these."""


def topic_name(name_prefix: str) -> str:
    """The alerts topic."""
    return f"{name_prefix}-alerts"


def router_name(name_prefix: str) -> str:
    """The alert router function (and its role)."""
    return f"{name_prefix}-alert-router"


def probe_name(name_prefix: str) -> str:
    """The health probe function (and its role, and its schedule rule)."""
    return f"{name_prefix}-health-probe"


def dead_letter_queue(name_prefix: str) -> dict[str, Any]:
    """The router's dead-letter queue settings, apart from its key (``kms_master_key_id``)."""
    return {
        "name": f"{router_name(name_prefix)}-dlq",
        "kms_data_key_reuse_period_seconds": 300,
        "message_retention_seconds": DLQ_RETENTION_SECONDS,
    }


def topic_policy(topic_arn: str, name_prefix: str, partition: str, region: str, account: str) -> dict:
    """Only this environment's alarms and rules (named ``<name_prefix>-*``) may publish, over TLS."""

    def publish(sid: str, service: str, source_arn: str) -> dict:
        return {
            "Sid": sid,
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "sns:Publish",
            "Resource": topic_arn,
            "Condition": {"StringEquals": {"aws:SourceAccount": account}, "ArnLike": {"aws:SourceArn": source_arn}},
        }

    return {
        "Version": "2012-10-17",
        "Statement": [
            publish(
                "AlarmsOfThisEnvironmentPublish",
                "cloudwatch.amazonaws.com",
                f"arn:{partition}:cloudwatch:{region}:{account}:alarm:{name_prefix}-*",
            ),
            publish(
                "RulesOfThisEnvironmentPublish",
                "events.amazonaws.com",
                f"arn:{partition}:events:{region}:{account}:rule/{name_prefix}-*",
            ),
            deny_insecure_transport("sns:Publish", topic_arn),
        ],
    }


def dead_letter_queue_policy(queue_arn: str) -> dict:
    """The dead-letter queue refuses requests not made over TLS."""
    return {"Version": "2012-10-17", "Statement": [deny_insecure_transport("sqs:*", queue_arn)]}


def put_metric_data_statement(sid: str) -> dict:
    """Publishing metrics to :data:`METRIC_NAMESPACE` only."""
    # cloudwatch:PutMetricData supports no resource ARN: "*" is the only possible Resource, and the
    # cloudwatch:namespace condition limits it to the RudderHA namespace.
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Action": "cloudwatch:PutMetricData",
        "Resource": "*",
        "Condition": {"StringEquals": {"cloudwatch:namespace": METRIC_NAMESPACE}},
    }


def instance_metrics_policy() -> dict:
    """The instance role's inline policy :data:`INSTANCE_METRICS_POLICY_NAME`."""
    return {"Version": "2012-10-17", "Statement": [put_metric_data_statement("PublishBacklogMetrics")]}


def router_statements(
    settings: AlertingSettings, *, partition: str, region: str, account: str, service_region: str
) -> list[dict]:
    """Read access to exactly the configured receiver secrets (and their key, through those services).

    ``partition``, ``region`` and ``account`` build the parameters' ARNs (data-source values);
    ``service_region`` is the configured region, in the ``kms:ViaService`` values.
    """
    parameters = [ref for ref in settings.secret_refs if not ref.startswith("arn:")]
    secrets = [ref for ref in settings.secret_refs if ref.startswith("arn:")]
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
    if settings.secrets_kms_key_arn and settings.secret_refs:
        services = (["ssm"] if parameters else []) + (["secretsmanager"] if secrets else [])
        statements.append(
            {
                "Sid": "DecryptReceiverSecrets",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": settings.secrets_kms_key_arn,
                "Condition": {
                    "StringEquals": {"kms:ViaService": [f"{svc}.{service_region}.amazonaws.com" for svc in services]}
                },
            }
        )
    return statements


def router_function(props: AlertingProps, *, policy_statements: Ref, dead_letter_queue_arn: Ref) -> PythonFunctionProps:
    """The alert router's props, given its statements (:func:`router_statements`; in Pulumi one Output) and
    its dead-letter queue."""
    name_prefix, settings = props.name_prefix, props.settings
    receivers = {
        "PAGERDUTY_ROUTING_KEY_PARAMETER": settings.pagerduty_routing_key,
        "VICTOROPS_URL_PARAMETER": settings.victorops_url,
        "SLACK_WEBHOOK_URL_PARAMETER": settings.slack_webhook_url,
    }
    return PythonFunctionProps(
        name=router_name(name_prefix),
        source="alert",
        description=f"{name_prefix}: routes alarms and Auto Scaling failures to PagerDuty, Splunk On-Call, Slack",
        # Secret *references* only: the router reads the values at run time.
        environment={
            "ENVIRONMENT": props.environment,
            "PROJECT": PROJECT,
            **{key: ref for key, ref in receivers.items() if ref},
        },
        timeout_seconds=60,  # four delivery attempts with backoff fit (lambdas/alert/README.md)
        kms_key_arn=props.kms_key_arn,
        policy_statements=policy_statements,
        dead_letter_queue_arn=dead_letter_queue_arn,
    )


def probe_function(props: AlertingProps) -> PythonFunctionProps:
    """The health probe's props."""
    name_prefix = props.name_prefix
    return PythonFunctionProps(
        name=probe_name(name_prefix),
        source="probe",
        description=f"{name_prefix}: GETs /health through the ALB every 10 s and publishes Up/Degraded/LatencyMs",
        environment={
            "HEALTH_URL": props.health_url,
            "ENVIRONMENT": props.environment,
            "METRIC_NAMESPACE": METRIC_NAMESPACE,
            "PROBE_TIMEOUT_SECONDS": str(PROBE_TIMEOUT_SECONDS),
            "PROBE_SAMPLES": str(PROBE_SAMPLES),
            "PROBE_SAMPLE_INTERVAL_SECONDS": str(PROBE_SAMPLE_SECONDS),
        },
        policy_statements=[put_metric_data_statement("PublishProbeMetrics")],
        # six samples 10 s apart, the last one's timeout, and a margin
        timeout_seconds=(PROBE_SAMPLES - 1) * PROBE_SAMPLE_SECONDS + PROBE_TIMEOUT_SECONDS + 10,
        memory_mb=128,
        reserved_concurrency=2,
        kms_key_arn=props.kms_key_arn,
    )


def probe_schedule(name_prefix: str) -> dict[str, str]:
    """The EventBridge rule running the probe every minute."""
    return {
        "name": probe_name(name_prefix),
        "description": f"{name_prefix}: run the health probe every minute",
        "schedule_expression": PROBE_SCHEDULE,
    }


def asg_failure_event_pattern(asg_name: str | list[str]) -> str:
    """Failed launches and terminations of the group, or groups (raw events go to the topic; the router
    parses them)."""
    names = asg_name if isinstance(asg_name, list) else [asg_name]
    return json.dumps(
        {
            "source": ["aws.autoscaling"],
            "detail-type": list(ASG_FAILURE_EVENTS),
            "detail": {"AutoScalingGroupName": names},
        }
    )


def asg_failure_rule(name_prefix: str) -> dict[str, str]:
    """The EventBridge rule on :data:`ASG_FAILURE_EVENTS`, apart from its pattern."""
    return {
        "name": f"{name_prefix}-asg-failures",
        "description": f"{name_prefix}: failed launches and terminations of the data-plane group",
    }
