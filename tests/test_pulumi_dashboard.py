"""The Pulumi OperationsDashboard: the same dashboard (name, body, alarm list) as the cdktf construct, wired to
the Pulumi Alerting as the single-node program wires them (in-process mocks, no synth)."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from rudder_ha.config import EnvironmentConfig, load_environments, shipped_environment_files
from rudder_ha.parts.alerting.pulumi import Alerting, AlertingProps
from rudder_ha.parts.dashboard.pulumi import OperationsDashboard, OperationsDashboardProps
from tests.support.pulumi_mocks import ACCOUNT, RecordedResource, RecordingMocks, run_program

CONFIGS = {c.environment: c for c in load_environments(shipped_environment_files()) if c.topology == "single_node"}
SINGLE_NODE = sorted(CONFIGS)
ALB_SUFFIX = "app/rudder-ha-alb/50dc6c495c0c9188"
TG_SUFFIX = "targetgroup/rudder-ha-gw/73e2d6bc24d8a067"
ASG_NAME = "rudder-ha-data-plane-20260101"
ALARM_COUNT = 9 + 5 + 3
"""Service alarms, alerting's own function and queue alarms, the drain pipeline's."""


def output(value: str) -> pulumi.Output[str]:
    return pulumi.Output.from_input(value)


def build(config: EnvironmentConfig, *, arns_as_one_output: bool = False) -> tuple[RecordingMocks, dict[str, Any]]:
    seen: dict[str, Any] = {}

    def program() -> None:
        provider = aws.Provider("aws", region=config.region)
        opts = pulumi.ResourceOptions(providers=[provider])
        alerting = Alerting(
            "alerting",
            AlertingProps(
                name_prefix=config.name_prefix,
                environment=config.environment,
                region=config.region,
                settings=config.alerting,
                kms_key_arn=output("arn:aws:kms:eu-west-1:123456789012:key/k"),
                health_url=output("https://rudder.example.com/health"),
                alb_arn_suffix=output(ALB_SUFFIX),
                target_group_arn_suffix=output(TG_SUFFIX),
                asg_name=output(ASG_NAME),
                instance_role_name=output("rudder-ha-data-plane"),
            ),
            opts=opts,
        )
        alerting.watch_function("drain", output("rudder-ha-drain"), severity="critical")
        alerting.watch_queue("drain", output("rudder-ha-drain-dlq"), severity="critical")
        arns = alerting.alarm_arns
        dashboard = OperationsDashboard(
            "dashboard",
            OperationsDashboardProps(
                name_prefix=config.name_prefix,
                environment=config.environment,
                region=config.region,
                alb_arn_suffix=output(ALB_SUFFIX),
                target_group_arn_suffix=output(TG_SUFFIX),
                asg_name=output(ASG_NAME),
                thresholds=config.alerting.thresholds,
                alarm_arns=pulumi.Output.all(*arns) if arns_as_one_output else arns,
            ),
            opts=opts,
        )
        seen["console_url"] = dashboard.console_url
        seen["names"] = alerting.alarm_names
        pulumi.Output.all(*arns).apply(lambda v: seen.update(arns=list(v)))

    return run_program(program, stack=config.environment, region=config.region), seen


@pytest.fixture(scope="module")
def runs() -> dict[str, tuple[RecordingMocks, dict[str, Any]]]:
    return {environment: build(CONFIGS[environment]) for environment in SINGLE_NODE}


def dashboard(mocks: RecordingMocks) -> RecordedResource:
    (found,) = [r for r in mocks.resources if r.type == "aws:cloudwatch/dashboard:Dashboard"]
    return found


def widget(body: dict[str, Any], title: str) -> dict[str, Any]:
    (found,) = [w for w in body["widgets"] if w["properties"].get("title") == title]
    return found


@pytest.mark.parametrize("environment", SINGLE_NODE)
def test_name_and_console_url(environment: str, runs: dict) -> None:
    config = CONFIGS[environment]
    mocks, seen = runs[environment]
    resource = dashboard(mocks)
    assert resource.name == "dashboard-dashboard"
    assert resource.inputs["dashboardName"] == config.name_prefix
    assert seen["console_url"] == (
        f"https://{config.region}.console.aws.amazon.com/cloudwatch/home?region={config.region}"
        f"#dashboards/dashboard/{config.name_prefix}"
    )


@pytest.mark.parametrize("environment", SINGLE_NODE)
def test_alarm_widget_lists_every_alarm_including_the_drain_pipelines(environment: str, runs: dict) -> None:
    config = CONFIGS[environment]
    mocks, seen = runs[environment]
    body = dashboard(mocks).json("dashboardBody")
    alarms = widget(body, "Alarms")
    assert alarms["type"] == "alarm"
    assert alarms["properties"]["alarms"] == seen["arns"]
    assert len(seen["arns"]) == ALARM_COUNT
    # each ARN is the one AWS gave the alarm of that name, in the order of the names; all this environment's
    recorded = {
        r.inputs["name"]: r.outputs["arn"]
        for r in mocks.resources
        if r.type == "aws:cloudwatch/metricAlarm:MetricAlarm"
    }
    assert sorted(recorded) == sorted(seen["names"])
    assert seen["arns"] == [recorded[name] for name in seen["names"]]
    assert all(name.startswith(f"{config.name_prefix}-") for name in seen["names"])
    assert all(arn.startswith(f"arn:aws:cloudwatch:{config.region}:{ACCOUNT}:") for arn in seen["arns"])
    assert f"{config.name_prefix}-drain-dlq-not-empty" in seen["names"]
    assert alarms["properties"]["sortBy"] == "stateUpdatedTimestamp"
    assert alarms["height"] == max(6, 2 + ALARM_COUNT // 3)


def test_alarm_arns_may_be_one_output() -> None:
    mocks, seen = build(CONFIGS["dev"], arns_as_one_output=True)
    assert widget(dashboard(mocks).json("dashboardBody"), "Alarms")["properties"]["alarms"] == seen["arns"]


@pytest.mark.parametrize("environment", SINGLE_NODE)
def test_metrics_point_at_this_environments_resources(environment: str, runs: dict) -> None:
    config = CONFIGS[environment]
    t = config.alerting.thresholds
    mocks, _ = runs[environment]
    body = dashboard(mocks).json("dashboardBody")
    assert (body["start"], body["periodOverride"]) == ("-PT6H", "inherit")
    assert body["widgets"][0]["properties"]["markdown"].startswith(f"## {config.name_prefix}: RudderStack data plane")
    metric_widgets = [w for w in body["widgets"] if w["type"] == "metric"]
    assert len(metric_widgets) == 7
    assert {w["properties"]["region"] for w in metric_widgets} == {config.region}
    targets = widget(body, "Targets and requests")["properties"]["metrics"]
    assert targets[0] == [
        "AWS/ApplicationELB",
        "HealthyHostCount",
        "TargetGroup",
        TG_SUFFIX,
        "LoadBalancer",
        ALB_SUFFIX,
        {"stat": "Minimum", "label": "healthy hosts"},
    ]
    assert targets[2][:4] == ["AWS/ApplicationELB", "RequestCount", "LoadBalancer", ALB_SUFFIX]
    for title in ("Instances (Auto Scaling group)", "Drains in progress"):
        for series in widget(body, title)["properties"]["metrics"]:
            assert series[:1] == ["AWS/AutoScaling"] and series[2:4] == ["AutoScalingGroupName", ASG_NAME]
    for title in ("Health probe", "jobsdb backlog"):
        for series in widget(body, title)["properties"]["metrics"]:
            assert series[0] == "RudderHA" and series[2:4] == ["Environment", environment]
    annotations = {
        title: widget(body, title)["properties"]["annotations"]["horizontal"][0]
        for title in ("5xx", "Target response time (s)", "jobsdb backlog")
    }
    assert annotations["5xx"] == {"label": "5xx % alarm", "value": t.alb_5xx_percent, "yAxis": "right"}
    assert annotations["Target response time (s)"]["value"] == t.target_response_time_seconds
    assert annotations["jobsdb backlog"]["value"] == t.backlog_oldest_age_seconds


@pytest.mark.parametrize("environment", SINGLE_NODE)
def test_5xx_widget_plots_what_the_alarm_evaluates(environment: str, runs: dict) -> None:
    mocks, _ = runs[environment]
    body = dashboard(mocks).json("dashboardBody")
    (alarm,) = [
        r
        for r in mocks.resources
        if r.type.endswith("metricAlarm:MetricAlarm") and r.inputs["name"].endswith("5xx-rate")
    ]
    expressions = {q["id"]: q["expression"] for q in alarm.inputs["metricQueries"] if "expression" in q}
    plotted = {s[0]["id"]: s[0]["expression"] for s in widget(body, "5xx")["properties"]["metrics"] if len(s) == 1}
    assert plotted == expressions
    ids = {s[-1]["id"]: s[1] for s in widget(body, "5xx")["properties"]["metrics"] if len(s) > 1}
    metrics = {q["id"]: q["metric"]["metricName"] for q in alarm.inputs["metricQueries"] if "metric" in q}
    assert ids == metrics


@pytest.mark.parametrize("environment", SINGLE_NODE)
def test_layout_fills_rows_of_24(environment: str, runs: dict) -> None:
    mocks, _ = runs[environment]
    widgets = dashboard(mocks).json("dashboardBody")["widgets"]
    rows: dict[int, list[dict]] = {}
    for w in widgets:
        rows.setdefault(w["y"], []).append(w)
    assert sorted(rows) == [0, 2, 8, 14]
    for row in rows.values():
        xs = [w["x"] for w in row]
        assert xs == sorted(xs) and xs[0] == 0
        assert sum(w["width"] for w in row) == 24
