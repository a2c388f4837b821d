"""The eks topology is watched like single-node: prod-eks synthesized alone (so this module does not depend on
the other environments), and the scripts behind two of its signals run for real under ``sh``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from rudder_ha.config import load_environment
from rudder_ha.config.model import EnvironmentConfig
from rudder_ha.parts.alerting import alarms as alerting_alarms
from rudder_ha.topologies import registry
from rudder_ha.topologies.eks import observability
from rudder_ha.topologies.eks.k8s import metrics as backlog_metrics
from rudder_ha.topologies.eks.k8s import render
from rudder_ha.topologies.eks.k8s.common import BACKEND_NAME
from rudder_ha.topologies.eks.k8s.drain import SCRIPTS_DIR
from rudder_ha.topologies.eks.k8s.from_config import workload_settings
from rudder_ha.topologies.eks.k8s.network import POD_IDENTITY_AGENT_CIDR
from tests.support.synth import only, resources

REPO = Path(__file__).resolve().parent.parent
CLUSTER = "rudder-ha-prod-eks-cluster"
WORKLOAD = "rudder-ha-prod-eks-workload"
WAIT_SECONDS = 30  # an upper bound for a condition to come true, never a synchronization sleep


@pytest.fixture(scope="module")
def config() -> EnvironmentConfig:
    return load_environment(REPO / "environments" / "prod-eks.yaml")


@pytest.fixture(scope="module")
def stacks(
    config: EnvironmentConfig, tmp_path_factory: pytest.TempPathFactory, in_process_synthesis: ModuleType
) -> dict[str, dict[str, Any]]:
    outdir = tmp_path_factory.mktemp("eks-observability")
    names = in_process_synthesis.synthesize([config], outdir)
    assert names == [CLUSTER, WORKLOAD]
    return {n: json.loads((outdir / "stacks" / n / "cdk.tf.json").read_text(encoding="utf-8")) for n in names}


def _alarms(stack: dict[str, Any]) -> list[dict[str, Any]]:
    return resources(stack, "aws_cloudwatch_metric_alarm")


# --- the cluster stack: alerting, subscribed router, probe, drain, nodes --------------------------------------


def test_the_router_is_subscribed_to_the_topic_the_drain_publishes_to(stacks: dict[str, dict[str, Any]]) -> None:
    cluster = stacks[CLUSTER]
    (topic_key,) = cluster["resource"]["aws_sns_topic"]
    subscription = only(cluster, "aws_sns_topic_subscription")
    assert subscription["protocol"] == "lambda"
    assert subscription["topic_arn"] == f"${{aws_sns_topic.{topic_key}.arn}}"
    router = next(f for f in resources(cluster, "aws_lambda_function") if f["function_name"].endswith("alert-router"))
    assert subscription["endpoint"].endswith(".arn}") and "alert_router" in subscription["endpoint"]
    assert router["environment"]["variables"]["ENVIRONMENT"] == "prod-eks"
    drain = next(f for f in resources(cluster, "aws_lambda_function") if f["function_name"].endswith("-drain"))
    assert f"aws_sns_topic.{topic_key}.arn" in drain["environment"]["variables"]["ALERT_TOPIC_ARN"]


def test_the_probe_gets_health_through_the_public_name(stacks: dict[str, dict[str, Any]]) -> None:
    probe = next(
        f for f in resources(stacks[CLUSTER], "aws_lambda_function") if f["function_name"].endswith("health-probe")
    )
    assert probe["environment"]["variables"]["HEALTH_URL"] == "https://events-eks.example.com/health"
    rule = next(r for r in resources(stacks[CLUSTER], "aws_cloudwatch_event_rule") if "schedule_expression" in r)
    assert rule["schedule_expression"] == "rate(1 minute)"


def test_node_launch_and_termination_failures_of_every_zone_reach_the_topic(
    stacks: dict[str, dict[str, Any]],
) -> None:
    cluster = stacks[CLUSTER]
    rule = next(r for r in resources(cluster, "aws_cloudwatch_event_rule") if "event_pattern" in r)
    pattern = json.loads(rule["event_pattern"])
    groups = pattern["detail"]["AutoScalingGroupName"]
    assert len(groups) == 3 and all("aws_eks_node_group" in g for g in groups)
    target = only(cluster, "aws_cloudwatch_event_target", within="node_failures")
    assert target["arn"].startswith("${aws_sns_topic.")


def test_container_insights_is_the_documented_add_on_with_a_scoped_role(stacks: dict[str, dict[str, Any]]) -> None:
    cluster = stacks[CLUSTER]
    addon = next(a for a in resources(cluster, "aws_eks_addon") if a["addon_name"] == "amazon-cloudwatch-observability")
    (association,) = addon["pod_identity_association"]
    assert association["service_account"] == "cloudwatch-agent"
    groups = [g for g in resources(cluster, "aws_cloudwatch_log_group") if "/aws/containerinsights/" in g["name"]]
    assert {g["name"].rsplit("/", 1)[1] for g in groups} == {"performance", "application", "dataplane", "host"}
    assert all(g["kms_key_id"].startswith("${aws_kms_key.") for g in groups)
    policy = next(p for p in resources(cluster, "aws_iam_role_policy") if p["name"] == "container-insights")
    statements = json.loads(policy["policy"])["Statement"]
    logs = next(s for s in statements if s["Sid"] == "WriteContainerInsightsLogs")
    assert "logs:CreateLogGroup" not in logs["Action"]
    assert all("aws_cloudwatch_log_group.eks_container_insights_" in r for r in logs["Resource"])


def test_a_drain_overrun_is_counted_from_the_containers_logs_and_pages(
    stacks: dict[str, dict[str, Any]], config: EnvironmentConfig
) -> None:
    cluster = stacks[CLUSTER]
    metric_filter = only(cluster, "aws_cloudwatch_log_metric_filter")
    assert "eks_container_insights_application" in metric_filter["log_group_name"]
    assert observability.DRAIN_OVERRUN_TEXT in metric_filter["pattern"]
    assert '$.kubernetes.namespace_name = "rudder"' in metric_filter["pattern"]
    transformation = metric_filter["metric_transformation"]
    assert transformation["namespace"] == observability.drain_overrun_namespace(config)
    alarm = next(a for a in _alarms(cluster) if a["alarm_name"] == "rudder-ha-prod-eks-drain-overrun")
    assert alarm["metric_name"] == transformation["name"] and alarm["namespace"] == transformation["namespace"]
    assert alarm["alarm_description"].startswith("severity=critical")


def test_the_node_drain_and_its_dead_letters_page(stacks: dict[str, dict[str, Any]]) -> None:
    names = {a["alarm_name"]: a for a in _alarms(stacks[CLUSTER])}
    for slug in ("drain-errors", "drain-throttles", "drain-dlq-not-empty", "alert-router-dlq-not-empty"):
        assert names[f"rudder-ha-prod-eks-{slug}"]["alarm_description"].startswith("severity=critical"), slug


# --- the workload stack: the controller's ALB, the pods, the dashboard ----------------------------------------


def test_the_alb_is_read_back_by_the_controllers_tags_once_the_ingress_has_an_address(
    stacks: dict[str, dict[str, Any]],
) -> None:
    workload = stacks[WORKLOAD]
    ingress_key = next(k for k in workload["resource"]["kubernetes_manifest"] if k.startswith("k8s_ingress_"))
    ingress = workload["resource"]["kubernetes_manifest"][ingress_key]
    assert ingress["wait"] == {"fields": {"status.loadBalancer.ingress[0].hostname": "^.+$"}}
    alb = workload["data"]["aws_lb"]["alb"]
    target_group = workload["data"]["aws_lb_target_group"]["target_group"]
    for lookup in (alb, target_group):
        assert lookup["depends_on"] == [f"kubernetes_manifest.{ingress_key}"]
        assert lookup["tags"]["elbv2.k8s.aws/cluster"] == "rudder-ha-prod-eks"
        assert lookup["tags"]["ingress.k8s.aws/stack"] == "rudder/rudder-gateway"
    assert target_group["tags"]["ingress.k8s.aws/resource"] == "rudder/rudder-gateway-rudder-gateway:8080"


def test_the_workload_alarms_watch_that_alb_and_the_pods_and_go_to_the_topic(
    stacks: dict[str, dict[str, Any]],
) -> None:
    workload = stacks[WORKLOAD]
    by_name = {a["alarm_name"]: a for a in _alarms(workload)}
    assert "rudder-ha-prod-eks-degraded-mode" not in by_name  # no crash guard on EKS
    for alarm in by_name.values():
        assert alarm["alarm_actions"] == ["${data.aws_sns_topic.alerts.arn}"] == alarm["ok_actions"]
    healthy = by_name["rudder-ha-prod-eks-no-healthy-target"]
    assert healthy["dimensions"] == {
        "LoadBalancer": "${data.aws_lb.alb.arn_suffix}",
        "TargetGroup": "${data.aws_lb_target_group.target_group.arn_suffix}",
    }
    assert healthy["treat_missing_data"] == "breaching"
    assert by_name["rudder-ha-prod-eks-backlog-oldest-pending-age"]["dimensions"] == {"Environment": "prod-eks"}
    restarts = by_name["rudder-ha-prod-eks-backend-restarts"]
    metric = next(q for q in restarts["metric_query"] if "metric" in q)["metric"]
    assert metric["dimensions"]["PodName"] == BACKEND_NAME and metric["namespace"] == "ContainerInsights"
    missing = by_name["rudder-ha-prod-eks-backend-pods-missing"]
    assert missing["threshold"] == 3
    # quiet through one whole drain (grace period 3600 s) plus ten minutes
    assert missing["evaluation_periods"] * missing["period"] >= 3600 + 600
    assert workload["data"]["aws_sns_topic"]["alerts"]["name"] == "rudder-ha-prod-eks-alerts"


def test_every_alarm_name_starts_with_the_prefix_the_topic_policy_admits(stacks: dict[str, dict[str, Any]]) -> None:
    for stack in stacks.values():
        for alarm in _alarms(stack):
            assert alarm["alarm_name"].startswith("rudder-ha-prod-eks-"), alarm["alarm_name"]


def test_the_dashboard_lists_every_alarm_of_both_stacks(
    stacks: dict[str, dict[str, Any]], config: EnvironmentConfig
) -> None:
    dashboard = only(stacks[WORKLOAD], "aws_cloudwatch_dashboard")
    body = json.loads(dashboard["dashboard_body"])
    (alarm_widget,) = [w for w in body["widgets"] if w["type"] == "alarm"]
    listed = alarm_widget["properties"]["alarms"]
    cluster_names = {a["alarm_name"] for a in _alarms(stacks[CLUSTER])}
    assert {a.rsplit(":alarm:", 1)[1] for a in listed if ":alarm:" in a} == cluster_names
    assert len(listed) == len(cluster_names) + len(_alarms(stacks[WORKLOAD]))
    for widget in body["widgets"]:
        assert widget["x"] + widget["width"] <= 24
    series = json.dumps(body)
    assert "pod_number_of_container_restarts" in series and "cluster_failed_node_count" in series
    assert observability.drain_overrun_namespace(config) in series


def test_the_names_the_dashboard_assumes_are_the_names_the_cluster_stack_makes(config: EnvironmentConfig) -> None:
    prefix, env = config.name_prefix, config.environment
    made = [a.name for a in alerting_alarms.function_alarms(prefix, env, "drain", "f")]
    assert set(made) <= set(observability.alerting_alarm_names(config))


# --- what the config says reaches the stacks -------------------------------------------------------------------


def test_eks_reads_alerting_and_still_refuses_what_it_ignores() -> None:
    eks = registry.named("eks")
    assert eks.reads_setting("alerting.slack_webhook_url")
    for unread in ("degraded_mode", "image_pipeline", "instance"):
        assert not eks.reads_setting(unread) and eks.unread_reason(unread)


def test_a_receiver_reaches_the_router(
    config: EnvironmentConfig, tmp_path: Path, in_process_synthesis: ModuleType
) -> None:
    text = (REPO / "environments" / "prod-eks.yaml").read_text(encoding="utf-8")
    text += "\nalerting:\n  slack_webhook_url: /rudder-ha/prod-eks/slack-webhook-url\n"
    path = tmp_path / "prod-eks.yaml"
    path.write_text(text, encoding="utf-8")
    in_process_synthesis.synthesize([load_environment(path)], tmp_path / "out")
    cluster = json.loads((tmp_path / "out" / "stacks" / CLUSTER / "cdk.tf.json").read_text(encoding="utf-8"))
    router = next(f for f in resources(cluster, "aws_lambda_function") if f["function_name"].endswith("alert-router"))
    variables = router["environment"]["variables"]
    assert variables["SLACK_WEBHOOK_URL_PARAMETER"] == "/rudder-ha/prod-eks/slack-webhook-url"


# --- backlog per pod: the sidecar, its role and its network path -----------------------------------------------


def test_every_backend_pod_runs_the_backlog_publisher(config: EnvironmentConfig) -> None:
    manifests = render(workload_settings(config))
    statefulset = next(m for m in manifests if m["kind"] == "StatefulSet")
    sidecars = {c["name"]: c for c in statefulset["spec"]["template"]["spec"]["initContainers"]}
    sidecar = sidecars[backlog_metrics.CONTAINER]
    assert sidecar["restartPolicy"] == "Always"
    assert list(sidecars)[-1] == backlog_metrics.CONTAINER  # stops first, publishes through the drain
    assert sidecar["command"][4:6] == ["prod-eks", "eu-west-1"]
    files = next(m for m in manifests if m["kind"] == "ConfigMap")["data"]
    assert files["rudder-backlog-metrics"] == (REPO / "ami" / "bin" / "rudder-backlog-metrics").read_text()
    policy = next(m for m in manifests if m["kind"] == "NetworkPolicy" and m["metadata"]["name"] == BACKEND_NAME)
    assert {"to": [{"ipBlock": {"cidr": POD_IDENTITY_AGENT_CIDR}}], "ports": [{"protocol": "TCP", "port": 80}]} in (
        policy["spec"]["egress"]
    )


def test_the_backend_role_may_publish_to_the_rudderha_namespace_only(stacks: dict[str, dict[str, Any]]) -> None:
    policy = next(p for p in resources(stacks[WORKLOAD], "aws_iam_role_policy") if p["name"] == "backend")
    (statement,) = [s for s in json.loads(policy["policy"])["Statement"] if s["Sid"] == "PublishBacklogMetrics"]
    assert statement["Action"] == "cloudwatch:PutMetricData"
    assert statement["Condition"] == {"StringEquals": {"cloudwatch:namespace": "RudderHA"}}


def _executable(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o755)


def test_the_sidecar_loop_runs_the_unchanged_publisher_as_a_pod(tmp_path: Path) -> None:
    """The real loop and the real ``rudder-backlog-metrics``; ``rudder-drain-check`` and ``aws`` are stand-ins
    on PATH (the check answers "pending", the CLI records its arguments)."""
    bin_dir, work = tmp_path / "bin", tmp_path / "work"
    bin_dir.mkdir()
    work.mkdir()
    calls, log = tmp_path / "aws-calls", tmp_path / "loop.log"
    _executable(
        bin_dir / "rudder-drain-check",
        '#!/bin/sh\necho \'{"pending_jobs": 7, "oldest_pending_age_seconds": 42.5}\'\nexit 75\n',
    )
    _executable(bin_dir / "aws", f'#!/bin/sh\nprintf "%s\\n" "$@" >> "{calls}"\necho done >> "{calls}"\n')
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "JOBS_DB_HOST": "/nowhere"}
    argv = [
        "/bin/sh",
        str(SCRIPTS_DIR / "backlog-metrics.sh"),
        str(work),
        "3600",
        "prod-eks",
        "eu-west-1",
        "--",
        sys.executable,
        str(REPO / "ami" / "bin" / "rudder-backlog-metrics"),
    ]
    with log.open("w", encoding="utf-8") as out:
        loop = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            _wait_for(lambda: calls.exists() and "done" in calls.read_text(), loop)
        finally:
            loop.send_signal(signal.SIGTERM)
            loop.wait(timeout=WAIT_SECONDS)
    assert loop.returncode == 0, log.read_text()
    words = calls.read_text().split("\n")
    assert words[:6] == ["cloudwatch", "put-metric-data", "--region", "eu-west-1", "--namespace", "RudderHA"]
    data = json.loads(words[words.index("--metric-data") + 1])
    assert {d["MetricName"]: d["Value"] for d in data} == {
        "PendingJobs": 7,
        "OldestPendingAgeSeconds": 42.5,
        "BacklogCheckFailed": 0,
    }
    assert all(d["Dimensions"] == [{"Name": "Environment", "Value": "prod-eks"}] for d in data)
    assert (work / "instance.env").read_text() == "AWS_REGION=eu-west-1\nRUDDER_HA_ENVIRONMENT=prod-eks\n"


def _wait_for(condition: Any, process: subprocess.Popen[str]) -> None:
    """Polls ``condition`` until it holds; fails if ``process`` exits first or nothing happens in time."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert process.poll() is None, "the loop exited early"
        assert time.monotonic() < deadline, "the condition never came true"
        time.sleep(0.05)


def test_the_overrun_line_the_filter_counts_is_what_the_prestop_hook_logs(tmp_path: Path) -> None:
    """The real hook with a one-second budget and no drain agent answering: it gives up, and its log line
    carries :data:`observability.DRAIN_OVERRUN_TEXT`."""
    log = tmp_path / "server-stdout"
    handshake = tmp_path / "handshake"
    handshake.mkdir()
    run = subprocess.run(
        ["/bin/sh", str(SCRIPTS_DIR / "drain-prestop.sh"), str(handshake), "0", "1"],
        env={**os.environ, "RUDDER_DRAIN_LOG": str(log)},
        capture_output=True,
        text=True,
        timeout=WAIT_SECONDS,
        check=False,
    )
    assert run.returncode == 1
    overrun = [line for line in log.read_text().splitlines() if observability.DRAIN_OVERRUN_TEXT in line]
    assert len(overrun) == 1 and overrun[0].startswith("drain-prestop:")
    # the agent's "timeout" answer ends with the same words
    agent_answer = (SCRIPTS_DIR / "drain-prestop.sh").read_text()
    assert agent_answer.count(observability.DRAIN_OVERRUN_TEXT) == 2
