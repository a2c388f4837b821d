"""The operations dashboard of one environment, front-end neutral: traffic and errors, the instance and its
drains, the health probe, the jobsdb backlog and the state of every alarm.

Shared by the cdktf :mod:`rudder_ha.parts.dashboard.cdktf` and the Pulumi :mod:`rudder_ha.parts.dashboard.pulumi`.
Values may be Terraform tokens (cdktf) or plain strings resolved from Pulumi outputs; the body comes out
the same (``encode(body(...))``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from rudder_ha.common.policies import console_url as _console_url
from rudder_ha.common.refs import Ref
from rudder_ha.config.model import AlertThresholds
from rudder_ha.instance import server_metrics
from rudder_ha.instance.server_metrics import ServerMetric
from rudder_ha.parts import Part
from rudder_ha.parts.alerting.alarms import ALB, FIVE_XX_RATE, FIVE_XX_RATE_LABEL
from rudder_ha.parts.alerting.spec import METRIC_NAMESPACE

PART = Part("dashboard", "OperationsDashboard")
"""Renderers: :class:`rudder_ha.parts.dashboard.cdktf.OperationsDashboard` and its Pulumi twin."""

ASG = "AWS/AutoScaling"
WIDTH = 24  # the dashboard grid is 24 units wide

AlarmArns: TypeAlias = Callable[[], Sequence[Ref]] | Sequence[Ref] | Ref
"""Every alarm's ARN: a sequence of Refs (in Pulumi also one Output of a list), or a callable returning such
a sequence, read when the body is built (see :attr:`OperationsDashboardProps.alarm_arns`)."""


@dataclass(frozen=True)
class OperationsDashboardProps:
    """Props of ``OperationsDashboard`` (the cdktf construct and the Pulumi component alike)."""

    name_prefix: str
    environment: str
    region: str
    alb_arn_suffix: Ref
    target_group_arn_suffix: Ref
    asg_name: Ref
    thresholds: AlertThresholds
    alarm_arns: AlarmArns
    """Every alarm's ARN (``Alerting.alarm_arns``), or a callable returning them (e.g.
    ``lambda: alerting.alarm_arns``). cdktf calls it at synthesis, so alarms added after the dashboard (e.g.
    by the drain pipeline) are listed; Pulumi calls it when the dashboard is created, so add those alarms
    before. A plain sequence (or Pulumi Output) is taken as it is in both."""
    server_metrics: bool = False
    """Adds the row of rudder-server's own metrics (statsd through the instance's CloudWatch agent, in the
    namespace :func:`rudder_ha.instance.server_metrics.namespace`)."""


BODY_FIELDS = ("alb_arn_suffix", "target_group_arn_suffix", "asg_name", "alarm_arns")
"""The fields of :class:`OperationsDashboardProps` that :func:`body` reads and that may hold Refs."""


def current_alarm_arns(props: OperationsDashboardProps) -> Sequence[Ref] | Ref:
    """``props.alarm_arns`` now: the callable's result, or the value itself."""
    return props.alarm_arns() if callable(props.alarm_arns) else props.alarm_arns


def dashboard_name(name_prefix: str) -> str:
    """The dashboard is named after the environment's prefix."""
    return name_prefix


def console_url(region: str, name: str) -> str:
    """The dashboard in the CloudWatch console."""
    return _console_url(region, f"cloudwatch/home?region={region}#dashboards/dashboard/{name}")


def encode(body: dict[str, Any]) -> str:
    """A :func:`body` JSON-encoded, as ``dashboard_body`` takes it."""
    return json.dumps(body)


def five_xx_series(lb: list[Any]) -> list[list[Any]]:
    """The ALB's and rudder-server's 5xx counts and, on the right axis, their share of requests (the alarm's
    own math, :data:`rudder_ha.parts.alerting.alarms.FIVE_XX_RATE`); ``lb`` is the LoadBalancer dimension."""
    return [
        [ALB, "HTTPCode_ELB_5XX_Count", *lb, {"id": "elb5xx", "stat": "Sum", "label": "ALB 5xx"}],
        [ALB, "HTTPCode_Target_5XX_Count", *lb, {"id": "target5xx", "stat": "Sum", "label": "rudder-server 5xx"}],
        [ALB, "RequestCount", *lb, {"id": "requests", "stat": "Sum", "visible": False}],
        *(
            [
                {"id": id_, "expression": expression, "label": FIVE_XX_RATE_LABEL, "yAxis": "right"}
                if id_ == "rate"
                else {"id": id_, "expression": expression, "visible": False}
            ]
            for id_, expression in FIVE_XX_RATE
        ),
    ]


def probe_series(env: list[Any]) -> list[list[Any]]:
    """The health probe's Up, Degraded and latency series; ``env`` is the Environment dimension."""
    return [
        [METRIC_NAMESPACE, "Up", *env, {"stat": "Minimum", "label": "up"}],
        [METRIC_NAMESPACE, "Degraded", *env, {"stat": "Maximum", "label": "degraded"}],
        [METRIC_NAMESPACE, "LatencyMs", *env, {"stat": "Average", "label": "latency (ms)", "yAxis": "right"}],
    ]


def body(props: OperationsDashboardProps) -> dict[str, Any]:
    """The dashboard body as a Python dict. ``props`` holds plain values or Terraform tokens (Pulumi
    resolves its Outputs first); a callable ``alarm_arns`` is called here."""
    name_prefix, region, t = props.name_prefix, props.region, props.thresholds
    lb = ["LoadBalancer", props.alb_arn_suffix]
    target = ["TargetGroup", props.target_group_arn_suffix, *lb]
    group = ["AutoScalingGroupName", props.asg_name]
    env = ["Environment", props.environment]
    alarms = list(current_alarm_arns(props))

    def metrics(title: str, series: list[list[Any]], **kwargs: Any) -> dict[str, Any]:
        return _metrics(region, title, series, **kwargs)

    rows: list[list[dict[str, Any]]] = [
        [
            _text(
                2,
                f"## {name_prefix}: RudderStack data plane\n"
                "One instance behind the ALB. *Drains in progress* = instances held in "
                "Terminating:Wait by the drain lifecycle hook until the jobsdb is empty. "
                "Probe: GET /health through the ALB every minute.",
            )
        ],
        [
            metrics(
                "Targets and requests",
                [
                    [ALB, "HealthyHostCount", *target, {"stat": "Minimum", "label": "healthy hosts"}],
                    [ALB, "UnHealthyHostCount", *target, {"stat": "Maximum", "label": "unhealthy hosts"}],
                    [ALB, "RequestCount", *lb, {"stat": "Sum", "label": "requests", "yAxis": "right"}],
                ],
            ),
            metrics(
                "5xx",
                five_xx_series(lb),
                annotation=("5xx % alarm", t.alb_5xx_percent, "right"),
            ),
            metrics(
                "Target response time (s)",
                [
                    [ALB, "TargetResponseTime", *target, {"stat": "p50", "label": "p50"}],
                    [ALB, "TargetResponseTime", *target, {"stat": "p99", "label": "p99"}],
                ],
                annotation=("p99 alarm", t.target_response_time_seconds, "left"),
            ),
        ],
        [
            metrics(
                "Instances (Auto Scaling group)",
                [
                    [ASG, "GroupInServiceInstances", *group, {"label": "in service"}],
                    [ASG, "GroupPendingInstances", *group, {"label": "pending"}],
                    [ASG, "GroupTerminatingInstances", *group, {"label": "terminating (draining)"}],
                ],
                stat="Maximum",
            ),
            metrics(
                "Drains in progress",
                [[ASG, "GroupTerminatingInstances", *group, {"label": "drains in progress"}]],
                stat="Maximum",
                view="singleValue",
                width=4,
            ),
            metrics(
                "Health probe",
                probe_series(env),
                width=12,
            ),
        ],
        [
            metrics(
                "jobsdb backlog",
                [
                    [METRIC_NAMESPACE, "PendingJobs", *env, {"stat": "Maximum", "label": "pending jobs"}],
                    [
                        METRIC_NAMESPACE,
                        "OldestPendingAgeSeconds",
                        *env,
                        {"stat": "Maximum", "label": "oldest pending (s)", "yAxis": "right"},
                    ],
                    [
                        METRIC_NAMESPACE,
                        "BacklogCheckFailed",
                        *env,
                        {"stat": "Maximum", "label": "check failed", "visible": False},
                    ],
                ],
                annotation=("backlog age alarm", t.backlog_oldest_age_seconds, "right"),
                width=12,
            ),
            {
                "type": "alarm",
                "width": 12,
                "height": max(6, 2 + len(alarms) // 3),
                "properties": {"title": "Alarms", "alarms": alarms, "sortBy": "stateUpdatedTimestamp"},
            },
        ],
    ]
    if props.server_metrics:
        rows.insert(len(rows) - 1, _server_metrics_row(region, props.environment))
    return {"start": "-PT6H", "periodOverride": "inherit", "widgets": layout(rows)}


def _search(environment: str, metric: ServerMetric, id_: str, **options: Any) -> dict[str, Any]:
    """One line summing every time series of a rudder-server metric (whatever its dimensions)."""
    return {"id": id_, "expression": f"SUM({metric.search(environment)})", "label": metric.label, **options}


def _server_metrics_row(region: str, environment: str) -> list[dict[str, Any]]:
    """rudder-server's own view: gateway intake, processor throughput, router and batch-router deliveries
    and failures (statsd, published by the instance's CloudWatch agent)."""
    m = server_metrics
    return [
        _metrics(
            region,
            "rudder-server: gateway intake",
            [
                [_search(environment, m.GATEWAY_REQUESTS, "gwrequests")],
                [_search(environment, m.GATEWAY_FAILED_REQUESTS, "gwfailed")],
                [_search(environment, m.GATEWAY_EVENTS, "gwevents", yAxis="right")],
            ],
            stat="Sum",
        ),
        _metrics(
            region,
            "rudder-server: processor",
            [
                [_search(environment, m.PROCESSOR_EVENTS_IN, "procin")],
                [_search(environment, m.PROCESSOR_EVENTS_OUT, "procout")],
            ],
            stat="Sum",
        ),
        _metrics(
            region,
            "rudder-server: router and batch router",
            [
                [_search(environment, m.ROUTER_DELIVERED, "rtok")],
                [_search(environment, m.BATCH_ROUTER_DELIVERED, "brtok")],
                [_search(environment, m.ROUTER_FAILED, "rtfailed", yAxis="right")],
                [_search(environment, m.BATCH_ROUTER_FAILED, "brtfailed", yAxis="right")],
            ],
            stat="Sum",
        ),
    ]


def _metrics(
    region: str,
    title: str,
    metrics: list[list[Any]],
    *,
    stat: str = "Average",
    view: str = "timeSeries",
    width: int = 8,
    annotation: tuple[str, float, str] | None = None,
) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "title": title,
        "region": region,
        "view": view,
        "stacked": False,
        "period": 60,
        "stat": stat,
        "metrics": metrics,
    }
    if annotation:
        label, value, axis = annotation
        properties["annotations"] = {"horizontal": [{"label": label, "value": value, "yAxis": axis}]}
    return {"type": "metric", "width": width, "height": 6, "properties": properties}


def _text(height: int, markdown: str) -> dict[str, Any]:
    return {"type": "text", "width": WIDTH, "height": height, "properties": {"markdown": markdown}}


def layout(rows: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Places the widgets row by row, left to right, on the 24-unit grid (a wider row is an error)."""
    widgets = []
    y = 0
    for row in rows:
        x = 0
        for widget in row:
            widgets.append({**widget, "x": x, "y": y})
            x += widget["width"]
        if x > WIDTH:
            raise ValueError("a dashboard row is at most 24 units wide")
        y += max(w["height"] for w in row)
    return widgets
