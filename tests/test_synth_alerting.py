"""Alerting and the operations dashboard, asserted on the synthesized JSON; and the on-instance backlog
publisher (ami/bin/rudder-backlog-metrics) run against a fake drain check, a fake aws CLI and a fake IMDS."""

from __future__ import annotations

import ast
import http.server
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rudder_ha import PROJECT
from rudder_ha.paths import AMI_DIR
from tests.support.synth import SynthOutput, only, resources

ENVIRONMENTS = ["dev", "staging", "prod"]
synth_test = pytest.mark.synth


def ref(stack: dict[str, Any], kind: str, attribute: str, path_part: str = "") -> str:
    """``${kind.<key>.attribute}`` of the one resource of ``kind`` whose key contains ``path_part``."""
    keys = [k for k in stack["resource"][kind] if path_part in k]
    assert len(keys) == 1, f"{kind} matching {path_part!r}: {keys}"
    return f"${{{kind}.{keys[0]}.{attribute}}}"


def alarms(stack: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["alarm_name"]: a for a in resources(stack, "aws_cloudwatch_metric_alarm")}


def function(stack: dict[str, Any], suffix: str) -> dict[str, Any]:
    (found,) = [f for f in resources(stack, "aws_lambda_function") if f["function_name"].endswith(suffix)]
    return found


def statements(policy_text: str) -> list[dict[str, Any]]:
    return json.loads(policy_text)["Statement"]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# name suffix -> (metric name, threshold (None: from config), evaluation periods, treat_missing_data, severity)
def expected_alarms(synth: SynthOutput, env: str) -> dict[str, tuple[str | None, float, int, str, str]]:
    t = synth.configs[env].alerting.thresholds
    return {
        "no-healthy-target": ("HealthyHostCount", 1, 1, "breaching", "critical"),
        # a hot standby fails /health by design: only a target beyond it warns
        "unhealthy-host": (
            "UnHealthyHostCount",
            synth.configs[env].autoscaling.failover.group_size,
            2,
            "notBreaching",
            "warning",
        ),
        "alb-5xx-rate": (None, t.alb_5xx_percent, 1, "notBreaching", "critical"),
        "target-response-time-p99": (
            "TargetResponseTime",
            t.target_response_time_seconds,
            5,
            "notBreaching",
            "warning",
        ),
        "probe-down": ("Up", 1, t.probe_failures, "breaching", "critical"),
        "probe-degraded": ("Degraded", 1, t.degraded_probes, "notBreaching", "warning"),
        "backlog-oldest-pending-age": (
            "OldestPendingAgeSeconds",
            t.backlog_oldest_age_seconds,
            3,
            "notBreaching",
            "warning",
        ),
        "backlog-check-failed": ("BacklogCheckFailed", 1, 10, "breaching", "warning"),
        "degraded-mode": ("GatewayOnly", 1, 1, "notBreaching", "critical"),
        "alert-router-errors": ("Errors", 1, 1, "notBreaching", "critical"),
        "alert-router-throttles": ("Throttles", 1, 1, "notBreaching", "critical"),
        "health-probe-errors": ("Errors", 1, 1, "notBreaching", "warning"),
        "health-probe-throttles": ("Throttles", 1, 1, "notBreaching", "warning"),
        "alert-router-dlq-not-empty": ("ApproximateNumberOfMessagesVisible", 0, 1, "notBreaching", "critical"),
        # added by the drain pipeline through watch_function / watch_queue
        "drain-errors": ("Errors", 1, 1, "notBreaching", "critical"),
        "drain-throttles": ("Throttles", 1, 1, "notBreaching", "critical"),
        "drain-dlq-not-empty": ("ApproximateNumberOfMessagesVisible", 0, 1, "notBreaching", "critical"),
    }


@synth_test
@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_alarm_exists_with_its_threshold_actions_and_missing_data_policy(synth: SynthOutput, env: str) -> None:
    stack = synth.stack(env)
    topic = ref(stack, "aws_sns_topic", "arn")
    found = alarms(stack)
    expected = {f"rudder-ha-{env}-{suffix}": spec for suffix, spec in expected_alarms(synth, env).items()}
    assert set(found) == set(expected)
    for name, (metric, threshold, periods, missing, severity) in expected.items():
        alarm = found[name]
        assert alarm.get("metric_name") == metric, name
        assert alarm["threshold"] == threshold, name
        assert alarm["evaluation_periods"] == alarm["datapoints_to_alarm"] == periods, name
        assert alarm["treat_missing_data"] == missing, name
        assert alarm["alarm_actions"] == alarm["ok_actions"] == [topic], "OK must resolve what ALARM opened"
        assert alarm["actions_enabled"] is True
        assert f"severity={severity}" in alarm["alarm_description"], name
        assert len(alarm["alarm_description"]) <= 1024


@synth_test
def test_alarm_metrics_and_dimensions(synth: SynthOutput) -> None:
    stack = synth.stack("prod")
    found = {name.removeprefix("rudder-ha-prod-"): a for name, a in alarms(stack).items()}
    lb = ref(stack, "aws_lb", "arn_suffix")
    tg = ref(stack, "aws_lb_target_group", "arn_suffix")
    for name in ("no-healthy-target", "unhealthy-host", "target-response-time-p99"):
        assert found[name]["namespace"] == "AWS/ApplicationELB"
        assert found[name]["dimensions"] == {"TargetGroup": tg, "LoadBalancer": lb}
    assert found["no-healthy-target"]["comparison_operator"] == "LessThanThreshold"
    assert found["no-healthy-target"]["statistic"] == "Maximum"
    assert found["unhealthy-host"]["comparison_operator"] == "GreaterThanOrEqualToThreshold"
    assert found["target-response-time-p99"]["extended_statistic"] == "p99"
    assert "statistic" not in found["target-response-time-p99"]
    for name in ("probe-down", "probe-degraded", "backlog-oldest-pending-age", "backlog-check-failed"):
        assert found[name]["namespace"] == "RudderHA"
        assert found[name]["dimensions"] == {"Environment": "prod"}
        assert found[name]["period"] == (10 if name.startswith("probe-") else 60), name
    # 10-second periods on the probe's high-resolution series: three failed probes page in ~30-45 s
    assert found["probe-down"]["evaluation_periods"] * found["probe-down"]["period"] <= 60
    probe = function(stack, "-health-probe")
    variables = probe["environment"]["variables"]
    assert (variables["PROBE_SAMPLES"], variables["PROBE_SAMPLE_INTERVAL_SECONDS"]) == ("6", "10")
    assert probe["timeout"] >= 5 * 10 + int(variables["PROBE_TIMEOUT_SECONDS"])
    assert found["probe-down"]["comparison_operator"] == "LessThanThreshold"
    assert found["probe-down"]["statistic"] == "Minimum"
    assert found["probe-degraded"]["comparison_operator"] == "GreaterThanOrEqualToThreshold"
    assert found["backlog-oldest-pending-age"]["comparison_operator"] == "GreaterThanThreshold"
    functions = {
        "alert-router": function(stack, "-alert-router")["function_name"],
        "health-probe": function(stack, "-health-probe")["function_name"],
    }
    for label, name in functions.items():
        for metric in ("errors", "throttles"):
            alarm = found[f"{label}-{metric}"]
            assert alarm["namespace"] == "AWS/Lambda"
            key = label.replace("-", "_")
            assert alarm["dimensions"] == {"FunctionName": ref(stack, "aws_lambda_function", "function_name", key)}
            assert name == f"rudder-ha-prod-{label}"
            assert alarm["statistic"] == "Sum" and alarm["period"] == 300
    dlq = found["alert-router-dlq-not-empty"]
    assert dlq["namespace"] == "AWS/SQS"
    assert dlq["dimensions"] == {"QueueName": ref(stack, "aws_sqs_queue", "name", "alert_dlq")}
    assert dlq["comparison_operator"] == "GreaterThanThreshold"


@synth_test
@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_5xx_rate_is_metric_math_over_both_5xx_counts_and_requests(synth: SynthOutput, env: str) -> None:
    stack = synth.stack(env)
    alarm = alarms(stack)[f"rudder-ha-{env}-alb-5xx-rate"]
    assert "metric_name" not in alarm and "namespace" not in alarm
    queries = {q["id"]: q for q in alarm["metric_query"]}
    lb = ref(stack, "aws_lb", "arn_suffix")
    for id_, metric in (
        ("elb5xx", "HTTPCode_ELB_5XX_Count"),
        ("target5xx", "HTTPCode_Target_5XX_Count"),
        ("requests", "RequestCount"),
    ):
        m = queries[id_]["metric"]
        assert (m["namespace"], m["metric_name"], m["stat"], m["period"]) == ("AWS/ApplicationELB", metric, "Sum", 300)
        assert m["dimensions"] == {"LoadBalancer": lb}
        assert queries[id_]["return_data"] is False
    assert queries["errors"]["expression"] == "FILL(elb5xx, 0) + FILL(target5xx, 0)"
    assert queries["served"]["expression"] == "FILL(requests, 0)"
    assert queries["total"]["expression"] == "MAX([served, errors])"
    assert queries["rate"]["expression"] == "IF(total > 0, 100 * errors / total, 0)"
    assert [q["id"] for q in alarm["metric_query"] if q["return_data"]] == ["rate"]
    assert alarm["comparison_operator"] == "GreaterThanThreshold"


@synth_test
@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_topic_is_kms_encrypted_and_only_this_accounts_alarms_and_rules_publish(synth: SynthOutput, env: str) -> None:
    stack = synth.stack(env)
    topic = only(stack, "aws_sns_topic")
    assert topic["name"] == f"rudder-ha-{env}-alerts"
    assert topic["kms_master_key_id"] == ref(stack, "aws_kms_key", "arn")
    policy = only(stack, "aws_sns_topic_policy")
    assert policy["arn"] == ref(stack, "aws_sns_topic", "arn")
    allows = [s for s in statements(policy["policy"]) if s["Effect"] == "Allow"]
    assert sorted(s["Principal"]["Service"] for s in allows) == ["cloudwatch.amazonaws.com", "events.amazonaws.com"]
    for s in allows:
        assert s["Action"] == "sns:Publish"
        assert s["Resource"] == ref(stack, "aws_sns_topic", "arn")
        assert s["Condition"]["StringEquals"]["aws:SourceAccount"].startswith("${data.aws_caller_identity.")
        source = s["Condition"]["ArnLike"]["aws:SourceArn"]
        kind = ":alarm:" if s["Principal"]["Service"].startswith("cloudwatch") else ":rule/"
        assert source.endswith(f"{kind}rudder-ha-{env}-*")
    (deny,) = [s for s in statements(policy["policy"]) if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


@synth_test
@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_alert_router_is_subscribed_with_a_scoped_permission_and_an_encrypted_dlq(synth: SynthOutput, env: str) -> None:
    stack = synth.stack(env)
    router = function(stack, "-alert-router")
    router_arn = ref(stack, "aws_lambda_function", "arn", "alert_router")
    subscription = only(stack, "aws_sns_topic_subscription")
    assert subscription == {
        **subscription,
        "protocol": "lambda",
        "endpoint": router_arn,
        "topic_arn": ref(stack, "aws_sns_topic", "arn"),
    }
    (permission,) = [p for p in resources(stack, "aws_lambda_permission") if p["principal"] == "sns.amazonaws.com"]
    assert permission["action"] == "lambda:InvokeFunction"
    assert permission["source_arn"] == ref(stack, "aws_sns_topic", "arn")
    assert permission["function_name"] == ref(stack, "aws_lambda_function", "function_name", "alert_router")
    queue = next(q for k, q in stack["resource"]["aws_sqs_queue"].items() if "alert_dlq" in k)
    assert queue["kms_master_key_id"] == ref(stack, "aws_kms_key", "arn")
    assert queue["message_retention_seconds"] == 14 * 24 * 3600
    assert router["dead_letter_config"]["target_arn"] == ref(stack, "aws_sqs_queue", "arn", "alert_dlq")
    assert router["kms_key_arn"] == ref(stack, "aws_kms_key", "arn")
    assert router["tracing_config"] == {"mode": "Active"}


@synth_test
@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_alert_router_environment_names_the_secrets_never_their_values(synth: SynthOutput, env: str) -> None:
    stack = synth.stack(env)
    variables = function(stack, "-alert-router")["environment"]["variables"]
    settings = synth.configs[env].alerting
    receivers = {
        "PAGERDUTY_ROUTING_KEY_PARAMETER": settings.pagerduty_routing_key,
        "VICTOROPS_URL_PARAMETER": settings.victorops_url,
        "SLACK_WEBHOOK_URL_PARAMETER": settings.slack_webhook_url,
    }
    assert variables == {
        "ENVIRONMENT": env,
        "PROJECT": PROJECT,
        **{key: value for key, value in receivers.items() if value},
    }
    # The alert Lambda's test-only switch (loopback receivers) is never deployed.
    assert "ALERT_ROUTER_TEST_ALLOW_LOOPBACK" not in variables
    if env == "prod":
        assert variables["PAGERDUTY_ROUTING_KEY_PARAMETER"] == "/rudder-ha/prod/pagerduty-routing-key"
        assert variables["VICTOROPS_URL_PARAMETER"] == "/rudder-ha/prod/victorops-url"
        assert variables["SLACK_WEBHOOK_URL_PARAMETER"] == "/rudder-ha/prod/slack-webhook-url"
    for value in variables.values():
        assert value.startswith(("/", "arn:")) or value in (env, PROJECT), "a reference, not a secret value"
    data = stack.get("data", {})
    assert "aws_ssm_parameter" not in data and "aws_secretsmanager_secret_version" not in data


@synth_test
@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_alert_router_may_read_exactly_its_receiver_secrets(synth: SynthOutput, env: str) -> None:
    stack = synth.stack(env)
    policy = next(p for p in resources(stack, "aws_iam_role_policy") if "alert_router_role" in p["role"])
    by_action: dict[str, list[dict[str, Any]]] = {}
    for s in statements(policy["policy"]):
        for action in as_list(s["Action"]):
            by_action.setdefault(action, []).append(s)
    refs = synth.configs[env].alerting.secret_refs
    parameters = [r for r in refs if r.startswith("/")]
    secrets = [r for r in refs if r.startswith("arn:")]
    if parameters:
        (s,) = by_action["ssm:GetParameter"]
        partition, region, account = "data.aws_partition.", "data.aws_region.", "data.aws_caller_identity."
        assert len(s["Resource"]) == len(parameters)
        for arn, name in zip(s["Resource"], parameters, strict=True):
            assert arn.startswith("arn:${" + partition) and f":ssm:${{{region}" in arn
            assert arn.endswith(f".account_id}}:parameter{name}") and account in arn
    else:
        assert "ssm:GetParameter" not in by_action
    if secrets:
        (s,) = by_action["secretsmanager:GetSecretValue"]
        assert s["Resource"] == secrets
    else:
        assert "secretsmanager:GetSecretValue" not in by_action
    assert by_action["sqs:SendMessage"][0]["Resource"] == ref(stack, "aws_sqs_queue", "arn", "alert_dlq")
    (generate,) = by_action["kms:GenerateDataKey"]
    assert generate["Condition"] == {"StringLike": {"kms:ViaService": "sqs.*.amazonaws.com"}}
    # secrets_kms_key_arn is not set in the shipped environments: no decrypt beyond the env key.
    assert all(s["Resource"] == ref(stack, "aws_kms_key", "arn") for s in by_action["kms:Decrypt"])


@synth_test
@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_alerting_policies_have_no_wildcards_except_the_documented_ones(synth: SynthOutput, env: str) -> None:
    stack = synth.stack(env)
    checked = 0
    for key, policy in stack["resource"]["aws_iam_role_policy"].items():
        if not key.startswith("alerting_"):
            continue
        for s in statements(policy["policy"]):
            checked += 1
            assert s["Effect"] == "Allow"
            for action in as_list(s["Action"]):
                assert "*" not in action, f"{key}: {action}"
            if "*" in as_list(s["Resource"]):
                actions = set(as_list(s["Action"]))
                if actions == {"cloudwatch:PutMetricData"}:
                    assert s["Condition"] == {"StringEquals": {"cloudwatch:namespace": "RudderHA"}}
                else:
                    assert actions == {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}, key
    assert checked >= 10


@synth_test
@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_instance_role_may_publish_backlog_metrics_to_its_namespace_only(synth: SynthOutput, env: str) -> None:
    stack = synth.stack(env)
    role_key = next(
        k for k, r in stack["resource"]["aws_iam_role"].items() if r["name"] == f"rudder-ha-{env}-data-plane"
    )
    (policy,) = [p for p in resources(stack, "aws_iam_role_policy") if p.get("name") == "publish-backlog-metrics"]
    assert policy["role"] == f"${{aws_iam_role.{role_key}.name}}"
    assert statements(policy["policy"]) == [
        {
            "Sid": "PublishBacklogMetrics",
            "Effect": "Allow",
            "Action": "cloudwatch:PutMetricData",
            "Resource": "*",
            "Condition": {"StringEquals": {"cloudwatch:namespace": "RudderHA"}},
        }
    ]


@synth_test
@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_probe_runs_every_minute_against_the_public_health_url(synth: SynthOutput, env: str) -> None:
    stack = synth.stack(env)
    probe = function(stack, "-health-probe")
    variables = probe["environment"]["variables"]
    lb = synth.configs[env].load_balancer
    if lb.domain_name:
        assert variables["HEALTH_URL"] == f"https://{lb.domain_name}/health"
    else:
        assert variables["HEALTH_URL"] == f"http://{ref(stack, 'aws_lb', 'dns_name')}/health"
    assert variables["ENVIRONMENT"] == env
    assert variables["METRIC_NAMESPACE"] == "RudderHA"
    (rule_key,) = [k for k, r in stack["resource"]["aws_cloudwatch_event_rule"].items() if "schedule_expression" in r]
    assert stack["resource"]["aws_cloudwatch_event_rule"][rule_key]["schedule_expression"] == "rate(1 minute)"
    (target,) = [t for t in resources(stack, "aws_cloudwatch_event_target") if rule_key in t["rule"]]
    assert target["arn"] == ref(stack, "aws_lambda_function", "arn", "health_probe")
    (permission,) = [p for p in resources(stack, "aws_lambda_permission") if p["principal"] == "events.amazonaws.com"]
    assert permission["source_arn"] == f"${{aws_cloudwatch_event_rule.{rule_key}.arn}}"
    invoke = only(stack, "aws_lambda_function_event_invoke_config")
    assert invoke["maximum_retry_attempts"] == 0
    policy = next(p for p in resources(stack, "aws_iam_role_policy") if "health_probe_role" in p["role"])
    (put,) = [s for s in statements(policy["policy"]) if s["Action"] == "cloudwatch:PutMetricData"]
    assert put["Condition"] == {"StringEquals": {"cloudwatch:namespace": "RudderHA"}}


@synth_test
@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_failed_launches_and_terminations_of_this_group_reach_the_topic(synth: SynthOutput, env: str) -> None:
    stack = synth.stack(env)
    (rule_key,) = [
        k for k, r in stack["resource"]["aws_cloudwatch_event_rule"].items() if "event_pattern" in r and "alerting" in k
    ]
    rule = stack["resource"]["aws_cloudwatch_event_rule"][rule_key]
    assert rule["name"].startswith(f"rudder-ha-{env}-"), "the topic policy admits rules named so"
    assert json.loads(rule["event_pattern"]) == {
        "source": ["aws.autoscaling"],
        "detail-type": ["EC2 Instance Launch Unsuccessful", "EC2 Instance Terminate Unsuccessful"],
        "detail": {"AutoScalingGroupName": [ref(stack, "aws_autoscaling_group", "name")]},
    }
    (target,) = [t for t in resources(stack, "aws_cloudwatch_event_target") if rule_key in t["rule"]]
    assert target["arn"] == ref(stack, "aws_sns_topic", "arn")
    assert "input_transformer" not in target, "the router parses the raw event"


def dashboard_metrics(widget: dict[str, Any]) -> list[str]:
    return [m[1] for m in widget["properties"].get("metrics", []) if isinstance(m[0], str)]


@synth_test
@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_dashboard_shows_traffic_instances_drains_probe_backlog_and_alarms(synth: SynthOutput, env: str) -> None:
    stack = synth.stack(env)
    dashboard = only(stack, "aws_cloudwatch_dashboard")
    assert dashboard["dashboard_name"] == f"rudder-ha-{env}"
    body = json.loads(dashboard["dashboard_body"])
    widgets = {w["properties"].get("title", w["type"]): w for w in body["widgets"]}
    lb = ref(stack, "aws_lb", "arn_suffix")
    tg = ref(stack, "aws_lb_target_group", "arn_suffix")
    group = ref(stack, "aws_autoscaling_group", "name")
    assert dashboard_metrics(widgets["Targets and requests"]) == [
        "HealthyHostCount",
        "UnHealthyHostCount",
        "RequestCount",
    ]
    assert widgets["Targets and requests"]["properties"]["metrics"][0][2:6] == ["TargetGroup", tg, "LoadBalancer", lb]
    assert dashboard_metrics(widgets["5xx"]) == ["HTTPCode_ELB_5XX_Count", "HTTPCode_Target_5XX_Count", "RequestCount"]
    assert any("expression" in m[0] for m in widgets["5xx"]["properties"]["metrics"] if isinstance(m[0], dict))
    latency = widgets["Target response time (s)"]["properties"]["metrics"]
    assert [(m[1], m[-1]["stat"]) for m in latency] == [("TargetResponseTime", "p50"), ("TargetResponseTime", "p99")]
    assert dashboard_metrics(widgets["Instances (Auto Scaling group)"]) == [
        "GroupInServiceInstances",
        "GroupPendingInstances",
        "GroupTerminatingInstances",
    ]
    drains = widgets["Drains in progress"]["properties"]
    assert drains["metrics"] == [
        ["AWS/AutoScaling", "GroupTerminatingInstances", "AutoScalingGroupName", group, {"label": "drains in progress"}]
    ]
    assert drains["view"] == "singleValue"
    probe = widgets["Health probe"]["properties"]["metrics"]
    assert [m[:4] for m in probe] == [
        ["RudderHA", name, "Environment", env] for name in ("Up", "Degraded", "LatencyMs")
    ]
    assert dashboard_metrics(widgets["jobsdb backlog"])[:2] == ["PendingJobs", "OldestPendingAgeSeconds"]
    alarm_arns = {f"${{aws_cloudwatch_metric_alarm.{k}.arn}}" for k in stack["resource"]["aws_cloudwatch_metric_alarm"]}
    assert set(widgets["Alarms"]["properties"]["alarms"]) == alarm_arns
    assert widgets["Alarms"]["type"] == "alarm"
    for w in body["widgets"]:
        assert w["x"] >= 0 and w["x"] + w["width"] <= 24
        if w["type"] == "metric":
            assert w["properties"]["region"] == synth.configs[env].region


@synth_test
@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_outputs_name_the_topic_and_link_the_dashboard(synth: SynthOutput, env: str) -> None:
    outputs = synth.stack(env)["output"]
    assert outputs["alert_topic_arn"]["value"] == ref(synth.stack(env), "aws_sns_topic", "arn")
    assert outputs["alert_topic_arn"]["description"]
    assert outputs["dashboard_url"]["value"] == (
        f"https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#dashboards/dashboard/rudder-ha-{env}"
    )
    assert outputs["dashboard_url"]["description"]


# --- ami/bin/rudder-backlog-metrics -------------------------------------------------------------------

SCRIPT = AMI_DIR / "bin" / "rudder-backlog-metrics"


def _executable(path: Path, body: str) -> None:
    path.write_text(f"#!{sys.executable}\n{body}", encoding="utf-8")
    path.chmod(0o755)


@pytest.fixture
def node(tmp_path: Path) -> dict[str, Any]:
    """A fake instance: instance.env, and fakes of rudder-drain-check and aws that record their argv."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (tmp_path / "instance.env").write_text(
        "AWS_REGION=eu-west-1\nRUDDER_HA_ENVIRONMENT=prod\nRUDDER_BACKEND_IMAGE='rudderlabs/rudder-server:1.62.1'\n"
    )
    recorder = (
        "import json, os, sys\n"
        "with open(os.environ['FAKE_LOG'], 'a') as f:\n"
        "    f.write(json.dumps([os.path.basename(sys.argv[0]), *sys.argv[1:]]) + '\\n')\n"
    )
    _executable(
        bin_dir / "rudder-drain-check",
        recorder + "sys.stdout.write(os.environ['FAKE_CHECK_STDOUT'])\nsys.exit(int(os.environ['FAKE_CHECK_EXIT']))\n",
    )
    _executable(bin_dir / "aws", recorder + "sys.exit(int(os.environ.get('FAKE_AWS_EXIT', '0')))\n")
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "FAKE_LOG": str(tmp_path / "calls.jsonl"),
        "RUDDER_HA_INSTANCE_ENV": str(tmp_path / "instance.env"),
        "RUDDER_HA_JOBSDB_ENV": "/run/rudder-ha/jobsdb.env",
        "RUDDER_HA_IMDS_URL": "",  # not on EC2: no lifecycle state
    }
    return {"env": env, "log": tmp_path / "calls.jsonl"}


def run_script(node: dict[str, Any], **extra: str) -> tuple[subprocess.CompletedProcess[str], list[list[str]]]:
    run = subprocess.run(
        [sys.executable, str(SCRIPT)],
        env={**node["env"], **extra},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    calls = [json.loads(line) for line in node["log"].read_text().splitlines()] if node["log"].exists() else []
    return run, calls


def published(calls: list[list[str]]) -> dict[str, tuple[float, str]]:
    (aws,) = [c for c in calls if c[0] == "aws"]
    assert aws[1:8] == [
        "cloudwatch",
        "put-metric-data",
        "--region",
        "eu-west-1",
        "--namespace",
        "RudderHA",
        "--metric-data",
    ]
    data = json.loads(aws[8])
    assert all(d["Dimensions"] == [{"Name": "Environment", "Value": "prod"}] for d in data)
    return {d["MetricName"]: (d["Value"], d["Unit"]) for d in data}


def check_output(status: str, pending: int | None, age: float | None) -> str:
    return json.dumps(
        {"status": status, "pending_jobs": pending, "oldest_pending_age_seconds": age, "prefixes": {}, "error": None}
    )


@pytest.mark.parametrize(
    ("code", "stdout", "expected"),
    [
        (
            0,
            check_output("drained", 0, None),
            {
                "PendingJobs": (0, "Count"),
                "OldestPendingAgeSeconds": (0, "Seconds"),
                "BacklogCheckFailed": (0, "Count"),
            },
        ),
        (
            75,
            check_output("pending", 1234, 321.5),
            {
                "PendingJobs": (1234, "Count"),
                "OldestPendingAgeSeconds": (321.5, "Seconds"),
                "BacklogCheckFailed": (0, "Count"),
            },
        ),
        (69, check_output("unknown", None, None), {"BacklogCheckFailed": (1, "Count")}),
        (1, "Traceback (most recent call last):", {"BacklogCheckFailed": (1, "Count")}),
        (0, "not json", {"BacklogCheckFailed": (1, "Count")}),
    ],
    ids=["drained", "pending", "cannot-tell", "unexpected-exit", "garbled-output"],
)
def test_backlog_script_publishes_what_the_drain_check_says(
    node: dict[str, Any], code: int, stdout: str, expected: dict[str, tuple[float, str]]
) -> None:
    run, calls = run_script(node, FAKE_CHECK_EXIT=str(code), FAKE_CHECK_STDOUT=stdout)
    assert run.returncode == 0, run.stderr
    assert calls[0] == ["rudder-drain-check", "--env-file", "/run/rudder-ha/jobsdb.env"]
    assert published(calls) == expected


def test_backlog_script_fails_when_it_cannot_publish(node: dict[str, Any]) -> None:
    run, calls = run_script(
        node, FAKE_CHECK_EXIT="0", FAKE_CHECK_STDOUT=check_output("drained", 0, None), FAKE_AWS_EXIT="255"
    )
    assert run.returncode == 1
    assert "put-metric-data failed" in run.stderr
    assert [c[0] for c in calls] == ["rudder-drain-check", "aws"]


def test_backlog_script_needs_its_instance_settings(node: dict[str, Any], tmp_path: Path) -> None:
    run, calls = run_script(node, RUDDER_HA_INSTANCE_ENV=str(tmp_path / "missing.env"))
    assert run.returncode == 1
    assert calls == []


class _FakeImds(http.server.BaseHTTPRequestHandler):
    state = "Warmed:Running"

    def do_PUT(self) -> None:
        self._answer("token" if self.path == "/latest/api/token" else None)

    def do_GET(self) -> None:
        ok = self.path == "/latest/meta-data/autoscaling/target-lifecycle-state"
        self._answer(self.state if ok and self.headers.get("X-aws-ec2-metadata-token") == "token" else None)

    def _answer(self, text: str | None) -> None:
        self.send_response(200 if text else 404)
        self.end_headers()
        self.wfile.write((text or "").encode())

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def imds() -> Iterator[tuple[str, type[_FakeImds]]]:
    handler = type("Imds", (_FakeImds,), {})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/latest", handler
    server.shutdown()
    server.server_close()


def test_warm_pool_instances_publish_nothing(node: dict[str, Any], imds: tuple[str, type[_FakeImds]]) -> None:
    url, handler = imds
    drained = {"FAKE_CHECK_EXIT": "0", "FAKE_CHECK_STDOUT": check_output("drained", 0, None)}
    run, calls = run_script(node, RUDDER_HA_IMDS_URL=url, **drained)
    assert run.returncode == 0 and calls == [], run.stderr
    handler.state = "InService"
    run, calls = run_script(node, RUDDER_HA_IMDS_URL=url, **drained)
    assert run.returncode == 0
    assert published(calls)["BacklogCheckFailed"] == (0, "Count")


def test_backlog_script_runs_on_the_instances_python_39() -> None:
    ast.parse(SCRIPT.read_text(), feature_version=(3, 9))
    assert SCRIPT.read_text().startswith("#!/usr/bin/env python3\n")


def test_backlog_timer_runs_every_minute_and_provisioning_enables_it() -> None:
    timer = (AMI_DIR / "systemd" / "rudder-backlog-metrics.timer").read_text()
    assert "OnBootSec=" in timer and "OnUnitActiveSec=60s" in timer and "AccuracySec=1s" in timer
    assert "WantedBy=timers.target" in timer
    service = (AMI_DIR / "systemd" / "rudder-backlog-metrics.service").read_text()
    assert "Type=oneshot" in service and "ExecStart=/usr/local/bin/rudder-backlog-metrics" in service
    provision = (AMI_DIR / "provision.sh").read_text()
    assert re.search(r"units\+=\([^)]*rudder-backlog-metrics\.timer", provision)
