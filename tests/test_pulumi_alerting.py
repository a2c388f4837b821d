"""The Pulumi Alerting component: the same topic, policies, functions, rules and alarms as the cdktf construct,
for every shipped single-node environment (in-process mocks, no synth)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from rudder_ha import PROJECT
from rudder_ha.config import EnvironmentConfig, load_environments, shipped_environment_files
from rudder_ha.config.model import AlertingSettings
from rudder_ha.parts.alerting.pulumi import Alerting, AlertingProps
from tests.support.pulumi_mocks import ACCOUNT, RecordedResource, RecordingMocks, run_program

CONFIGS = {c.environment: c for c in load_environments(shipped_environment_files()) if c.topology == "single_node"}
SINGLE_NODE = sorted(CONFIGS)
KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
HEALTH_URL = "https://rudder.example.com/health"
ALB_SUFFIX = "app/rudder-ha-alb/50dc6c495c0c9188"
TG_SUFFIX = "targetgroup/rudder-ha-gw/73e2d6bc24d8a067"
ASG_NAME = "rudder-ha-data-plane-20260101"
INSTANCE_ROLE = "rudder-ha-data-plane"
DRAIN_FUNCTION = "rudder-ha-drain"
DRAIN_DLQ = "rudder-ha-drain-dlq"

SERVICE_ALARMS = {
    # slug -> (metric name or None for metric math, comparison, threshold attribute or value, periods, period,
    #          treat missing, severity)
    "no-healthy-target": ("HealthyHostCount", "LessThanThreshold", 1, 1, 60, "breaching", "critical"),
    "unhealthy-host": ("UnHealthyHostCount", "GreaterThanOrEqualToThreshold", 1, 2, 60, "notBreaching", "warning"),
    "alb-5xx-rate": (None, "GreaterThanThreshold", "alb_5xx_percent", 1, None, "notBreaching", "critical"),
    "target-response-time-p99": (
        "TargetResponseTime",
        "GreaterThanThreshold",
        "target_response_time_seconds",
        5,
        60,
        "notBreaching",
        "warning",
    ),
    "probe-down": ("Up", "LessThanThreshold", 1, "probe_failures", 10, "breaching", "critical"),
    "probe-degraded": (
        "Degraded",
        "GreaterThanOrEqualToThreshold",
        1,
        "degraded_probes",
        10,
        "notBreaching",
        "warning",
    ),
    "backlog-oldest-pending-age": (
        "OldestPendingAgeSeconds",
        "GreaterThanThreshold",
        "backlog_oldest_age_seconds",
        3,
        60,
        "notBreaching",
        "warning",
    ),
    "backlog-check-failed": ("BacklogCheckFailed", "GreaterThanOrEqualToThreshold", 1, 10, 60, "breaching", "warning"),
    "degraded-mode": ("GatewayOnly", "GreaterThanOrEqualToThreshold", 1, 1, 60, "notBreaching", "critical"),
}
WATCHED = {
    # slug -> (metric, dimension, severity)
    "alert-router-errors": ("Errors", {"FunctionName": "-alert-router"}, "critical"),
    "alert-router-throttles": ("Throttles", {"FunctionName": "-alert-router"}, "critical"),
    "health-probe-errors": ("Errors", {"FunctionName": "-health-probe"}, "warning"),
    "health-probe-throttles": ("Throttles", {"FunctionName": "-health-probe"}, "warning"),
    "alert-router-dlq-not-empty": (
        "ApproximateNumberOfMessagesVisible",
        {"QueueName": "-alert-router-dlq"},
        "critical",
    ),
    "drain-errors": ("Errors", {"FunctionName": DRAIN_FUNCTION}, "critical"),
    "drain-throttles": ("Throttles", {"FunctionName": DRAIN_FUNCTION}, "critical"),
    "drain-dlq-not-empty": ("ApproximateNumberOfMessagesVisible", {"QueueName": DRAIN_DLQ}, "critical"),
}


def output(value: str) -> pulumi.Output[str]:
    """An Output standing in for another component's attribute."""
    return pulumi.Output.from_input(value)


def build(config: EnvironmentConfig, settings: AlertingSettings | None = None) -> tuple[RecordingMocks, dict[str, Any]]:
    """Runs Alerting as the single-node program wires it (with the drain pipeline's watches)."""
    seen: dict[str, Any] = {}

    def program() -> None:
        provider = aws.Provider("aws", region=config.region)
        alerting = Alerting(
            "alerting",
            AlertingProps(
                name_prefix=config.name_prefix,
                environment=config.environment,
                region=config.region,
                settings=settings or config.alerting,
                kms_key_arn=output(KEY_ARN),
                health_url=output(HEALTH_URL),
                alb_arn_suffix=output(ALB_SUFFIX),
                target_group_arn_suffix=output(TG_SUFFIX),
                asg_name=output(ASG_NAME),
                instance_role_name=output(INSTANCE_ROLE),
            ),
            opts=pulumi.ResourceOptions(providers=[provider]),
        )
        alerting.watch_function("drain", output(DRAIN_FUNCTION), severity="critical")
        alerting.watch_queue("drain", output(DRAIN_DLQ), severity="critical")
        seen["names"] = alerting.alarm_names
        pulumi.Output.all(alerting.topic_arn, *alerting.alarm_arns).apply(
            lambda v: seen.update(topic_arn=v[0], arns=list(v[1:]))
        )

    return run_program(program, stack=config.environment, region=config.region), seen


@pytest.fixture(scope="module")
def runs() -> dict[str, tuple[RecordingMocks, dict[str, Any]]]:
    return {environment: build(CONFIGS[environment]) for environment in SINGLE_NODE}


def of_type(mocks: RecordingMocks, type_: str) -> list[RecordedResource]:
    return [r for r in mocks.resources if r.type == type_]


def named(mocks: RecordingMocks, name: str) -> RecordedResource:
    (found,) = [r for r in mocks.resources if r.name == name]
    return found


def function(mocks: RecordingMocks, name: str) -> RecordedResource:
    (found,) = [f for f in of_type(mocks, "aws:lambda/function:Function") if f.inputs["name"] == name]
    return found


def role_statements(mocks: RecordingMocks, logical: str) -> dict[str, dict]:
    return {s["Sid"]: s for s in named(mocks, f"{logical}-policy").json("policy")["Statement"]}


def topic_arn(mocks: RecordingMocks) -> str:
    """The ARN AWS gave the environment's (only) alerts topic."""
    (topic,) = of_type(mocks, "aws:sns/topic:Topic")
    return topic.outputs["arn"]


def test_every_single_node_environment_is_tested() -> None:
    assert {"dev", "staging", "prod"} <= set(SINGLE_NODE)


def test_pulumi_modules_import_no_cdktf() -> None:
    """The component, its dashboard and the specs load without cdktf/jsii (12 s and deprecated)."""
    code = (
        "import sys\n"
        "import rudder_ha.parts.alerting.pulumi, rudder_ha.parts.dashboard.pulumi\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('cdktf', 'constructs', 'jsii')\n"
        "    or m.startswith('cdktf_cdktf_provider') or (m.startswith('rudder_ha.') and 'cdktf' in m.split('.')))\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])


@pytest.mark.parametrize("environment", SINGLE_NODE)
def test_topic_is_encrypted_and_only_this_environment_publishes(environment: str, runs: dict) -> None:
    config = CONFIGS[environment]
    mocks, seen = runs[environment]
    prefix, arn = config.name_prefix, topic_arn(mocks)
    (topic,) = of_type(mocks, "aws:sns/topic:Topic")
    assert topic.name == "alerting-topic"
    assert topic.inputs["name"] == f"{prefix}-alerts"
    assert topic.inputs["kmsMasterKeyId"] == KEY_ARN
    assert seen["topic_arn"] == arn == topic.outputs["arn"]
    (policy,) = of_type(mocks, "aws:sns/topicPolicy:TopicPolicy")
    assert policy.inputs["arn"] == arn
    statements = {s["Sid"]: s for s in policy.json("policy")["Statement"]}
    alarms, rules = statements["AlarmsOfThisEnvironmentPublish"], statements["RulesOfThisEnvironmentPublish"]
    assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert alarms["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:{config.region}:{ACCOUNT}:alarm:{prefix}-*"},
    }
    assert rules["Principal"] == {"Service": "events.amazonaws.com"}
    assert rules["Condition"]["ArnLike"] == {
        "aws:SourceArn": f"arn:aws:events:{config.region}:{ACCOUNT}:rule/{prefix}-*"
    }
    for statement in (alarms, rules):
        assert (statement["Action"], statement["Resource"], statement["Effect"]) == ("sns:Publish", arn, "Allow")
    deny = statements["DenyInsecureTransport"]
    assert (deny["Effect"], deny["Resource"], deny["Condition"]) == (
        "Deny",
        arn,
        {"Bool": {"aws:SecureTransport": "false"}},
    )


@pytest.mark.parametrize("environment", SINGLE_NODE)
def test_alert_router(environment: str, runs: dict) -> None:
    config = CONFIGS[environment]
    mocks, _ = runs[environment]
    prefix, s = config.name_prefix, config.alerting
    dlq = named(mocks, "alerting-alert_dlq")
    assert dlq.inputs == {
        "name": f"{prefix}-alert-router-dlq",
        "kmsMasterKeyId": KEY_ARN,
        "kmsDataKeyReusePeriodSeconds": 300,
        "messageRetentionSeconds": 14 * 24 * 3600,
    }
    dlq_arn = dlq.outputs["arn"]
    assert dlq_arn == f"arn:aws:sqs:{config.region}:{ACCOUNT}:{prefix}-alert-router-dlq"
    dlq_policy = named(mocks, "alerting-alert_dlq_policy")
    assert dlq_policy.inputs["queueUrl"] == dlq.outputs["url"]
    assert dlq_policy.inputs["queueUrl"].endswith(f"/{ACCOUNT}/{prefix}-alert-router-dlq")
    (deny,) = dlq_policy.json("policy")["Statement"]
    assert (deny["Effect"], deny["Action"], deny["Resource"]) == ("Deny", "sqs:*", dlq_arn)

    router = function(mocks, f"{prefix}-alert-router")
    assert router.inputs["timeout"] == 60
    assert router.inputs["kmsKeyArn"] == KEY_ARN
    assert router.inputs["deadLetterConfig"] == {"targetArn": dlq_arn}
    receivers = {
        "PAGERDUTY_ROUTING_KEY_PARAMETER": s.pagerduty_routing_key,
        "VICTOROPS_URL_PARAMETER": s.victorops_url,
        "SLACK_WEBHOOK_URL_PARAMETER": s.slack_webhook_url,
    }
    assert router.inputs["environment"]["variables"] == {
        "ENVIRONMENT": environment,
        "PROJECT": PROJECT,
        **{k: v for k, v in receivers.items() if v},
    }
    # The alert Lambda's test-only switch (loopback receivers) is never deployed.
    assert "ALERT_ROUTER_TEST_ALLOW_LOOPBACK" not in router.inputs["environment"]["variables"]
    statements = role_statements(mocks, "alerting-alert_router")
    parameters = [r for r in s.secret_refs if not r.startswith("arn:")]
    secrets = [r for r in s.secret_refs if r.startswith("arn:")]
    if parameters:
        assert statements["ReadReceiverParameters"]["Action"] == "ssm:GetParameter"
        assert statements["ReadReceiverParameters"]["Resource"] == [
            f"arn:aws:ssm:{config.region}:{ACCOUNT}:parameter{p}" for p in parameters
        ]
    else:
        assert "ReadReceiverParameters" not in statements
    if secrets:
        assert statements["ReadReceiverSecrets"]["Resource"] == secrets
    else:
        assert "ReadReceiverSecrets" not in statements
    assert statements["SendDeadLetters"]["Resource"] == dlq_arn

    (subscription,) = of_type(mocks, "aws:sns/topicSubscription:TopicSubscription")
    router_arn = router.outputs["arn"]
    assert router_arn.startswith(f"arn:aws:lambda:{config.region}:{ACCOUNT}:")
    assert subscription.inputs == {"topic": topic_arn(mocks), "protocol": "lambda", "endpoint": router_arn}
    permission = named(mocks, "alerting-alert_invoke")
    assert permission.inputs == {
        "statementId": "AllowAlertsTopic",
        "action": "lambda:InvokeFunction",
        "function": f"{prefix}-alert-router",
        "principal": "sns.amazonaws.com",
        "sourceArn": topic_arn(mocks),
    }


def test_receiver_key_is_decrypted_only_through_the_receivers_services() -> None:
    config = CONFIGS["staging"]
    settings = dataclasses.replace(
        config.alerting,
        pagerduty_routing_key="/rudder-ha/staging/pagerduty",
        secrets_kms_key_arn="arn:aws:kms:eu-west-1:222222222222:key/receivers",
    )
    mocks, _ = build(config, settings)
    decrypt = role_statements(mocks, "alerting-alert_router")["DecryptReceiverSecrets"]
    assert decrypt["Action"] == "kms:Decrypt"
    assert decrypt["Resource"] == "arn:aws:kms:eu-west-1:222222222222:key/receivers"
    assert decrypt["Condition"] == {
        "StringEquals": {
            "kms:ViaService": [f"ssm.{config.region}.amazonaws.com", f"secretsmanager.{config.region}.amazonaws.com"]
        }
    }


@pytest.mark.parametrize("environment", SINGLE_NODE)
def test_health_probe_runs_every_minute_without_retries(environment: str, runs: dict) -> None:
    config = CONFIGS[environment]
    mocks, _ = runs[environment]
    prefix = config.name_prefix
    probe = function(mocks, f"{prefix}-health-probe")
    assert probe.inputs["environment"]["variables"] == {
        "HEALTH_URL": HEALTH_URL,
        "ENVIRONMENT": environment,
        "METRIC_NAMESPACE": "RudderHA",
        "PROBE_TIMEOUT_SECONDS": "5",
        "PROBE_SAMPLES": "6",
        "PROBE_SAMPLE_INTERVAL_SECONDS": "10",
    }
    assert (probe.inputs["timeout"], probe.inputs["memorySize"], probe.inputs["reservedConcurrentExecutions"]) == (
        65,
        128,
        2,
    )
    assert "deadLetterConfig" not in probe.inputs
    assert role_statements(mocks, "alerting-health_probe")["PublishProbeMetrics"]["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": "RudderHA"}
    }
    schedule = named(mocks, "alerting-probe_schedule")
    assert schedule.inputs == {
        "name": f"{prefix}-health-probe",
        "description": f"{prefix}: run the health probe every minute",
        "scheduleExpression": "rate(1 minute)",
    }
    probe_arn = probe.outputs["arn"]
    assert named(mocks, "alerting-probe_target").inputs == {
        "rule": schedule.outputs["id"],
        "targetId": "health-probe",
        "arn": probe_arn,
    }
    permission = named(mocks, "alerting-probe_invoke")
    assert permission.inputs["principal"] == "events.amazonaws.com"
    assert permission.inputs["statementId"] == "AllowProbeSchedule"
    # the schedule rule's ARN, not the function's
    assert permission.inputs["sourceArn"] == schedule.outputs["arn"]
    assert permission.inputs["sourceArn"] != probe_arn
    assert permission.inputs["function"] == probe.outputs["name"] == f"{prefix}-health-probe"
    assert named(mocks, "alerting-probe_invoke_config").inputs == {
        "functionName": f"{prefix}-health-probe",
        "maximumRetryAttempts": 0,
        "maximumEventAgeInSeconds": 60,
    }


@pytest.mark.parametrize("environment", SINGLE_NODE)
def test_instance_metrics_and_asg_failures(environment: str, runs: dict) -> None:
    config = CONFIGS[environment]
    mocks, _ = runs[environment]
    prefix = config.name_prefix
    metrics = named(mocks, "alerting-instance_metrics")
    assert (metrics.inputs["name"], metrics.inputs["role"]) == ("publish-backlog-metrics", INSTANCE_ROLE)
    (statement,) = metrics.json("policy")["Statement"]
    assert statement == {
        "Sid": "PublishBacklogMetrics",
        "Effect": "Allow",
        "Action": "cloudwatch:PutMetricData",
        "Resource": "*",
        "Condition": {"StringEquals": {"cloudwatch:namespace": "RudderHA"}},
    }
    rule = named(mocks, "alerting-asg_failures")
    assert rule.inputs["name"] == f"{prefix}-asg-failures"
    assert rule.json("eventPattern") == {
        "source": ["aws.autoscaling"],
        "detail-type": ["EC2 Instance Launch Unsuccessful", "EC2 Instance Terminate Unsuccessful"],
        "detail": {"AutoScalingGroupName": [ASG_NAME]},
    }
    assert named(mocks, "alerting-asg_failures_target").inputs == {
        "rule": rule.outputs["id"],
        "targetId": "alerts",
        "arn": topic_arn(mocks),
    }
    assert rule.outputs["id"] == f"{prefix}-asg-failures"


@pytest.mark.parametrize("environment", SINGLE_NODE)
def test_every_alarm_notifies_the_topic_on_alarm_and_ok(environment: str, runs: dict) -> None:
    config = CONFIGS[environment]
    mocks, seen = runs[environment]
    prefix = config.name_prefix
    alarms = of_type(mocks, "aws:cloudwatch/metricAlarm:MetricAlarm")
    expected = {f"{prefix}-{slug}" for slug in [*SERVICE_ALARMS, *WATCHED]}
    assert {a.inputs["name"] for a in alarms} == expected
    assert len(alarms) == len(expected)
    assert sorted(seen["names"]) == sorted(expected)
    arn_of = {a.inputs["name"]: a.outputs["arn"] for a in alarms}
    assert seen["arns"] == [arn_of[name] for name in seen["names"]]
    for alarm in alarms:
        i = alarm.inputs
        assert alarm.name.startswith("alerting-alarm_")
        assert i["alarmActions"] == i["okActions"] == [topic_arn(mocks)]
        assert i["actionsEnabled"] is True
        assert i["datapointsToAlarm"] == i["evaluationPeriods"]
        assert i["alarmDescription"].startswith(("severity=critical [", "severity=warning [")), i["name"]
        assert f"[{environment}]" in i["alarmDescription"]


@pytest.mark.parametrize("environment", SINGLE_NODE)
def test_service_alarm_settings(environment: str, runs: dict) -> None:
    config = CONFIGS[environment]
    t = config.alerting.thresholds
    mocks, _ = runs[environment]
    alarms = {a.inputs["name"]: a.inputs for a in of_type(mocks, "aws:cloudwatch/metricAlarm:MetricAlarm")}
    for slug, (metric, comparison, threshold, periods, period, missing, severity) in SERVICE_ALARMS.items():
        alarm = alarms[f"{config.name_prefix}-{slug}"]
        threshold = getattr(t, threshold) if isinstance(threshold, str) else threshold
        periods = getattr(t, periods) if isinstance(periods, str) else periods
        assert alarm["comparisonOperator"] == comparison, slug
        assert alarm["threshold"] == threshold, slug
        assert alarm["evaluationPeriods"] == periods, slug
        assert alarm["treatMissingData"] == missing, slug
        assert alarm["alarmDescription"].startswith(f"severity={severity} [{environment}] "), slug
        if metric is not None:
            assert alarm["metricName"] == metric, slug
            assert alarm["period"] == period, slug
    target = {"TargetGroup": TG_SUFFIX, "LoadBalancer": ALB_SUFFIX}
    healthy = alarms[f"{config.name_prefix}-no-healthy-target"]
    assert (healthy["namespace"], healthy["dimensions"], healthy["statistic"]) == (
        "AWS/ApplicationELB",
        target,
        "Maximum",
    )
    p99 = alarms[f"{config.name_prefix}-target-response-time-p99"]
    assert (p99["extendedStatistic"], p99["evaluateLowSampleCountPercentiles"], p99["dimensions"]) == (
        "p99",
        "ignore",
        target,
    )
    assert "statistic" not in p99
    probe = alarms[f"{config.name_prefix}-probe-down"]
    assert (probe["namespace"], probe["dimensions"], probe["statistic"]) == (
        "RudderHA",
        {"Environment": environment},
        "Minimum",
    )
    assert f"{t.probe_failures} times in a row" in probe["alarmDescription"]


@pytest.mark.parametrize("environment", SINGLE_NODE)
def test_5xx_rate_is_metric_math_bounded_by_the_request_count(environment: str, runs: dict) -> None:
    mocks, _ = runs[environment]
    (alarm,) = [
        a
        for a in of_type(mocks, "aws:cloudwatch/metricAlarm:MetricAlarm")
        if a.inputs["name"].endswith("-alb-5xx-rate")
    ]
    assert "metricName" not in alarm.inputs and "period" not in alarm.inputs
    queries = {q["id"]: q for q in alarm.inputs["metricQueries"]}
    assert list(queries) == ["elb5xx", "target5xx", "requests", "errors", "served", "total", "rate"]
    for id_, metric in (
        ("elb5xx", "HTTPCode_ELB_5XX_Count"),
        ("target5xx", "HTTPCode_Target_5XX_Count"),
        ("requests", "RequestCount"),
    ):
        assert queries[id_]["returnData"] is False
        assert queries[id_]["metric"] == {
            "namespace": "AWS/ApplicationELB",
            "metricName": metric,
            "dimensions": {"LoadBalancer": ALB_SUFFIX},
            "period": 300,
            "stat": "Sum",
        }
    assert queries["errors"]["expression"] == "FILL(elb5xx, 0) + FILL(target5xx, 0)"
    assert queries["total"]["expression"] == "MAX([served, errors])"
    assert queries["rate"] == {
        "id": "rate",
        "expression": "IF(total > 0, 100 * errors / total, 0)",
        "label": "5xx % of requests",
        "returnData": True,
    }
    assert [q["id"] for q in queries.values() if q["returnData"]] == ["rate"]


@pytest.mark.parametrize("environment", SINGLE_NODE)
def test_watched_functions_and_queues(environment: str, runs: dict) -> None:
    config = CONFIGS[environment]
    mocks, _ = runs[environment]
    prefix = config.name_prefix
    alarms = {a.inputs["name"]: a for a in of_type(mocks, "aws:cloudwatch/metricAlarm:MetricAlarm")}
    for slug, (metric, dimensions, severity) in WATCHED.items():
        alarm = alarms[f"{prefix}-{slug}"]
        i = alarm.inputs
        dimensions = {k: (prefix + v if v.startswith("-") else v) for k, v in dimensions.items()}
        assert alarm.name == f"alerting-alarm_{slug.replace('-', '_').replace('_not_empty', '')}"
        assert (i["metricName"], i["dimensions"], i["period"], i["evaluationPeriods"]) == (metric, dimensions, 300, 1)
        assert i["treatMissingData"] == "notBreaching"
        assert i["alarmDescription"].startswith(f"severity={severity} [{environment}] ")
        if metric == "ApproximateNumberOfMessagesVisible":
            assert (i["namespace"], i["statistic"], i["comparisonOperator"], i["threshold"]) == (
                "AWS/SQS",
                "Maximum",
                "GreaterThanThreshold",
                0,
            )
        else:
            assert (i["namespace"], i["statistic"], i["comparisonOperator"], i["threshold"]) == (
                "AWS/Lambda",
                "Sum",
                "GreaterThanOrEqualToThreshold",
                1,
            )


@pytest.mark.parametrize("environment", SINGLE_NODE)
def test_children_are_parented_to_the_component(environment: str, runs: dict) -> None:
    """Every AWS resource is named ``alerting-<cdktf id>`` (its logical name stays stable)."""
    mocks, _ = runs[environment]
    names = [r.name for r in mocks.resources if r.type.startswith("aws:") and not r.type.startswith("pulumi:")]
    assert names and all(n.startswith("alerting-") for n in names), names
    assert json.dumps(sorted(n for n in names if not n.startswith("alerting-alarm_"))) == json.dumps(
        sorted(
            [
                "alerting-topic",
                "alerting-topic_policy",
                "alerting-alert_dlq",
                "alerting-alert_dlq_policy",
                "alerting-alert_subscription",
                "alerting-alert_invoke",
                "alerting-probe_schedule",
                "alerting-probe_target",
                "alerting-probe_invoke",
                "alerting-probe_invoke_config",
                "alerting-instance_metrics",
                "alerting-asg_failures",
                "alerting-asg_failures_target",
                *(
                    f"alerting-{fn}-{part}"
                    for fn in ("alert_router", "health_probe")
                    for part in ("logs", "role", "policy", "function")
                ),
            ]
        )
    )
