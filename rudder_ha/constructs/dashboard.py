"""The operations dashboard of one environment: traffic and errors, the instance and its drains, the
health probe, the jobsdb backlog and the state of every alarm."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jsii
from cdktf import IResolveContext, IStringProducer, Lazy
from cdktf_cdktf_provider_aws.cloudwatch_dashboard import CloudwatchDashboard
from constructs import Construct

from rudder_ha.config.model import AlertThresholds
from rudder_ha.constructs.alerting import FIVE_XX_RATE, METRIC_NAMESPACE
from rudder_ha.constructs.naming import console_url

ALB = "AWS/ApplicationELB"
ASG = "AWS/AutoScaling"
WIDTH = 24  # the dashboard grid is 24 units wide


@dataclass(frozen=True)
class OperationsDashboardProps:
    """Props of :class:`OperationsDashboard`."""

    name_prefix: str
    environment: str
    region: str
    alb_arn_suffix: str
    target_group_arn_suffix: str
    asg_name: str
    thresholds: AlertThresholds
    alarm_arns: Callable[[], list[str]]
    """Called at synthesis, so alarms added after the dashboard (e.g. by the drain pipeline) are listed."""


@jsii.implements(IStringProducer)
class _Body:
    def __init__(self, build: Callable[[], str]) -> None:
        self._build = build

    def produce(self, context: IResolveContext) -> str:
        return self._build()


class OperationsDashboard(Construct):
    """One CloudWatch dashboard named ``<name_prefix>``; its link is :attr:`console_url`."""

    def __init__(self, scope: Construct, id_: str, props: OperationsDashboardProps) -> None:
        super().__init__(scope, id_)
        self._props = props
        self.name = props.name_prefix
        self.dashboard = CloudwatchDashboard(
            self,
            "dashboard",
            dashboard_name=self.name,
            # The body is built when the stack is synthesized; tokens inside (ARN suffixes, the group's
            # name, alarm ARNs) become Terraform references within the JSON string.
            dashboard_body=Lazy.string_value(_Body(lambda: json.dumps(self.body()))),
        )

    @property
    def console_url(self) -> str:
        """The dashboard in the CloudWatch console."""
        region = self._props.region
        return console_url(region, f"cloudwatch/home?region={region}#dashboards/dashboard/{self.name}")

    def body(self) -> dict[str, Any]:
        """The dashboard body as a Python dict (JSON-encoded into ``dashboard_body``)."""
        p = self._props
        t = p.thresholds
        lb = ["LoadBalancer", p.alb_arn_suffix]
        target = ["TargetGroup", p.target_group_arn_suffix, *lb]
        group = ["AutoScalingGroupName", p.asg_name]
        env = ["Environment", p.environment]
        alarms = p.alarm_arns()
        rows: list[list[dict[str, Any]]] = [
            [
                self._text(
                    2,
                    f"## {p.name_prefix}: RudderStack data plane\n"
                    "One instance behind the ALB. *Drains in progress* = instances held in "
                    "Terminating:Wait by the drain lifecycle hook until the jobsdb is empty. "
                    "Probe: GET /health through the ALB every minute.",
                )
            ],
            [
                self._metrics(
                    "Targets and requests",
                    [
                        [ALB, "HealthyHostCount", *target, {"stat": "Minimum", "label": "healthy hosts"}],
                        [ALB, "UnHealthyHostCount", *target, {"stat": "Maximum", "label": "unhealthy hosts"}],
                        [ALB, "RequestCount", *lb, {"stat": "Sum", "label": "requests", "yAxis": "right"}],
                    ],
                ),
                self._metrics(
                    "5xx",
                    [
                        [ALB, "HTTPCode_ELB_5XX_Count", *lb, {"id": "elb5xx", "stat": "Sum", "label": "ALB 5xx"}],
                        [
                            ALB,
                            "HTTPCode_Target_5XX_Count",
                            *lb,
                            {"id": "target5xx", "stat": "Sum", "label": "rudder-server 5xx"},
                        ],
                        [ALB, "RequestCount", *lb, {"id": "requests", "stat": "Sum", "visible": False}],
                        *(
                            [
                                {
                                    "id": id_,
                                    "expression": expression,
                                    "label": "5xx % of requests",
                                    "yAxis": "right",
                                }
                                if id_ == "rate"
                                else {"id": id_, "expression": expression, "visible": False}
                            ]
                            for id_, expression in FIVE_XX_RATE
                        ),
                    ],
                    annotation=("5xx % alarm", t.alb_5xx_percent, "right"),
                ),
                self._metrics(
                    "Target response time (s)",
                    [
                        [ALB, "TargetResponseTime", *target, {"stat": "p50", "label": "p50"}],
                        [ALB, "TargetResponseTime", *target, {"stat": "p99", "label": "p99"}],
                    ],
                    annotation=("p99 alarm", t.target_response_time_seconds, "left"),
                ),
            ],
            [
                self._metrics(
                    "Instances (Auto Scaling group)",
                    [
                        [ASG, "GroupInServiceInstances", *group, {"label": "in service"}],
                        [ASG, "GroupPendingInstances", *group, {"label": "pending"}],
                        [ASG, "GroupTerminatingInstances", *group, {"label": "terminating (draining)"}],
                    ],
                    stat="Maximum",
                ),
                self._metrics(
                    "Drains in progress",
                    [[ASG, "GroupTerminatingInstances", *group, {"label": "drains in progress"}]],
                    stat="Maximum",
                    view="singleValue",
                    width=4,
                ),
                self._metrics(
                    "Health probe",
                    [
                        [METRIC_NAMESPACE, "Up", *env, {"stat": "Minimum", "label": "up"}],
                        [METRIC_NAMESPACE, "Degraded", *env, {"stat": "Maximum", "label": "degraded"}],
                        [
                            METRIC_NAMESPACE,
                            "LatencyMs",
                            *env,
                            {"stat": "Average", "label": "latency (ms)", "yAxis": "right"},
                        ],
                    ],
                    width=12,
                ),
            ],
            [
                self._metrics(
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
        return {"start": "-PT6H", "periodOverride": "inherit", "widgets": _layout(rows)}

    def _metrics(
        self,
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
            "region": self._props.region,
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

    @staticmethod
    def _text(height: int, markdown: str) -> dict[str, Any]:
        return {"type": "text", "width": WIDTH, "height": height, "properties": {"markdown": markdown}}


def _layout(rows: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Places the widgets row by row, left to right."""
    widgets = []
    y = 0
    for row in rows:
        x = 0
        for widget in row:
            widgets.append({**widget, "x": x, "y": y})
            x += widget["width"]
        assert x <= WIDTH, "a dashboard row is at most 24 units wide"
        y += max(w["height"] for w in row)
    return widgets
