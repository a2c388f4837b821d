"""The eks environment's CloudWatch dashboard body: traffic and errors on the controller's ALB, the probe, the
jobsdb backlog of the backend pods, the pods and nodes (Container Insights), drain overruns, every alarm.

The single-node dashboard (:mod:`rudder_ha.parts.dashboard`) draws one instance and its Auto Scaling group;
this one draws pods and nodes, so it has a body of its own; the series it shares with single-node use the same
metrics, ids and 5xx math (:data:`rudder_ha.parts.alerting.alarms.FIVE_XX_RATE`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rudder_ha.config.model import EnvironmentConfig
from rudder_ha.parts.alerting.alarms import ALB
from rudder_ha.parts.alerting.spec import METRIC_NAMESPACE
from rudder_ha.parts.dashboard import spec
from rudder_ha.parts.dashboard.spec import WIDTH, five_xx_series, layout, probe_series
from rudder_ha.topologies.eks.contract import cluster_name
from rudder_ha.topologies.eks.k8s.common import BACKEND_NAME, GATEWAY_SERVICE, TRANSFORMER_NAME
from rudder_ha.topologies.eks.observability import CONTAINER_INSIGHTS, DRAIN_OVERRUN_METRIC, drain_overrun_namespace


@dataclass(frozen=True)
class EksDashboardProps:
    """What the body is drawn from; the suffixes and ARNs may be Terraform tokens."""

    config: EnvironmentConfig
    namespace: str
    alb_arn_suffix: str
    target_group_arn_suffix: str
    alarm_arns: Sequence[str]


def dashboard_name(config: EnvironmentConfig) -> str:
    """Named after the environment's prefix, like single-node's."""
    return spec.dashboard_name(config.name_prefix)


def _metrics(region: str, title: str, series: list[list[Any]], *, width: int = 8, **extra: Any) -> dict[str, Any]:
    properties = {"title": title, "region": region, "view": "timeSeries", "stacked": False, "period": 60}
    return {"type": "metric", "width": width, "height": 6, "properties": {**properties, **extra, "metrics": series}}


def body(props: EksDashboardProps) -> dict[str, Any]:
    """The dashboard body as a dict (``json.dumps`` it into ``dashboard_body``)."""
    config = props.config
    region, t = config.region, config.alerting.thresholds
    lb = ["LoadBalancer", props.alb_arn_suffix]
    target = ["TargetGroup", props.target_group_arn_suffix, *lb]
    env = ["Environment", config.environment]
    cluster = ["ClusterName", cluster_name(config)]
    pods = [*cluster, "Namespace", props.namespace]
    alarms = list(props.alarm_arns)
    rows = [
        [
            {
                "type": "text",
                "width": WIDTH,
                "height": 2,
                "properties": {
                    "markdown": f"## {config.name_prefix}: RudderStack data plane on EKS\n"
                    f"Backend pods (each with its own jobsdb) behind the ALB of Ingress in namespace "
                    f"`{props.namespace}`. Probe: GET /health through the ALB every 10 s. Drain overrun = a pod "
                    "stopped with events pending (they wait on its retained volume)."
                },
            }
        ],
        [
            _metrics(
                region,
                "Targets and requests",
                [
                    [ALB, "HealthyHostCount", *target, {"stat": "Minimum", "label": "healthy pods"}],
                    [ALB, "UnHealthyHostCount", *target, {"stat": "Maximum", "label": "unhealthy pods"}],
                    [ALB, "RequestCount", *lb, {"stat": "Sum", "label": "requests", "yAxis": "right"}],
                ],
            ),
            _metrics(region, "5xx", five_xx_series(lb), annotations=_line("5xx % alarm", t.alb_5xx_percent, "right")),
            _metrics(
                region,
                "Target response time (s)",
                [
                    [ALB, "TargetResponseTime", *target, {"stat": "p50", "label": "p50"}],
                    [ALB, "TargetResponseTime", *target, {"stat": "p99", "label": "p99"}],
                ],
                annotations=_line("p99 alarm", t.target_response_time_seconds, "left"),
            ),
        ],
        [
            _metrics(
                region,
                "Health probe",
                probe_series(env),
            ),
            _metrics(
                region,
                "jobsdb backlog (worst backend pod)",
                [
                    [METRIC_NAMESPACE, "PendingJobs", *env, {"stat": "Maximum", "label": "pending jobs"}],
                    [
                        METRIC_NAMESPACE,
                        "OldestPendingAgeSeconds",
                        *env,
                        {"stat": "Maximum", "label": "oldest pending (s)", "yAxis": "right"},
                    ],
                    [METRIC_NAMESPACE, "BacklogCheckFailed", *env, {"stat": "Maximum", "label": "check failed"}],
                ],
                annotations=_line("backlog age alarm", t.backlog_oldest_age_seconds, "right"),
            ),
            _metrics(
                region,
                "Drain overruns",
                [[drain_overrun_namespace(config), DRAIN_OVERRUN_METRIC, {"stat": "Sum", "label": "pods stopped"}]],
            ),
        ],
        [
            _metrics(
                region,
                "Running pods",
                [
                    _ci(
                        "service_number_of_running_pods",
                        [*pods, "Service", GATEWAY_SERVICE],
                        {"stat": "Minimum", "label": "backend"},
                    ),
                    _ci(
                        "service_number_of_running_pods",
                        [*pods, "Service", TRANSFORMER_NAME],
                        {"stat": "Minimum", "label": "transformer"},
                    ),
                ],
                annotations=_line("replicas", config.eks.backend_replica_count if config.eks else 1, "left"),
            ),
            _metrics(
                region,
                "Backend pods: restarts, CPU and memory",
                [
                    _ci(
                        "pod_number_of_container_restarts",
                        [*pods, "PodName", BACKEND_NAME],
                        {"stat": "Maximum", "label": "restarts (total)"},
                    ),
                    _ci(
                        "pod_cpu_utilization_over_pod_limit",
                        [*pods, "PodName", BACKEND_NAME],
                        {"stat": "Maximum", "label": "CPU % of limit", "yAxis": "right"},
                    ),
                    _ci(
                        "pod_memory_utilization_over_pod_limit",
                        [*pods, "PodName", BACKEND_NAME],
                        {"stat": "Maximum", "label": "memory % of limit", "yAxis": "right"},
                    ),
                ],
            ),
            _metrics(
                region,
                "Nodes",
                [
                    [CONTAINER_INSIGHTS, "cluster_node_count", *cluster, {"stat": "Minimum", "label": "nodes"}],
                    [CONTAINER_INSIGHTS, "cluster_failed_node_count", *cluster, {"stat": "Maximum", "label": "failed"}],
                    _ci(
                        "node_cpu_utilization",
                        [*cluster],
                        {"stat": "Maximum", "label": "busiest node CPU %", "yAxis": "right"},
                    ),
                    _ci(
                        "node_memory_utilization",
                        [*cluster],
                        {"stat": "Maximum", "label": "fullest node memory %", "yAxis": "right"},
                    ),
                ],
            ),
        ],
        [
            {
                "type": "alarm",
                "width": WIDTH,
                "height": max(6, 2 + len(alarms) // 4),
                "properties": {"title": "Alarms", "alarms": alarms, "sortBy": "stateUpdatedTimestamp"},
            }
        ],
    ]
    return {"start": "-PT6H", "periodOverride": "inherit", "widgets": layout(rows)}


def _ci(metric: str, dimensions: list[Any], options: dict[str, Any]) -> list[Any]:
    """One Container Insights series."""
    return [CONTAINER_INSIGHTS, metric, *dimensions, options]


def _line(label: str, value: float, axis: str) -> dict[str, Any]:
    return {"horizontal": [{"label": label, "value": value, "yAxis": axis}]}


def encode(document: dict[str, Any]) -> str:
    """The body as ``dashboard_body`` takes it."""
    return json.dumps(document)
