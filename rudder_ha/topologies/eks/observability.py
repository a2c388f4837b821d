"""What watches an eks environment, front-end neutral: its alarms beyond alerting's own, the drain-overrun
log filter, and every alarm's name.

Where each alarm lives:

- the cluster stack (:mod:`rudder_ha.topologies.eks.cluster_stack`): the alerting part (alerts topic, the
  alert router subscribed to it, the health probe and their own alarms), the node-drain Lambda's and its
  dead-letter queue's alarms, failed node launches and terminations, failed nodes (Container Insights) and
  backend drains that ran out of budget (a metric filter on the containers' logs);
- the workload stack (:mod:`rudder_ha.topologies.eks.workload_stack`): what needs the ALB the Load Balancer
  Controller makes from the Ingress, read back by the controller's tags once the Ingress has an address (the
  ALB, target, probe and backlog alarms of the single-node topology, without the crash guard's) and the
  backend pods' own health (Container Insights); and the dashboard.

Every alarm is named ``<name_prefix>-*`` and sends ALARM and OK to the alerts topic, like single-node's.

Container Insights: AWS documents the ``amazon-cloudwatch-observability`` EKS add-on for it (the cluster
part installs it); with enhanced observability, its default, pod metrics carry ``ClusterName``,
``Namespace`` and ``PodName`` (the pod's workload name, the same for every replica) and service metrics
``ClusterName``, ``Namespace`` and ``Service``.
"""

from __future__ import annotations

import math

from rudder_ha.config.model import GATEWAY_PORT, EnvironmentConfig
from rudder_ha.parts.alerting import alarms
from rudder_ha.parts.alerting.alarms import AlarmSpec, Metric, MetricQuery, Severity
from rudder_ha.parts.alerting.spec import METRIC_NAMESPACE
from rudder_ha.topologies.eks.contract import cluster_name
from rudder_ha.topologies.eks.k8s.common import BACKEND_NAME, GATEWAY_SERVICE, INGRESS_NAME

CONTAINER_INSIGHTS = "ContainerInsights"
"""The namespace of the observability add-on's metrics."""
DRAIN_OVERRUN_TEXT = "stopping rudder-server with events pending"
"""What the backend's preStop hook logs (``k8s/scripts/drain-prestop.sh``) when its drain budget ran out,
or the drain agent gave up, before the jobsdb was empty."""
DRAIN_OVERRUN_METRIC = "DrainOverrun"
UNUSED_SINGLE_NODE_ALARMS = ("gateway_only",)
"""Service alarms of the alerting part that have no meaning here: the crash-loop guard runs on instances."""
ALARM_EVALUATION_LIMIT_SECONDS = 86400
"""CloudWatch: evaluation periods times period may not exceed one day."""
LB_CONTROLLER_CLUSTER_TAG = "elbv2.k8s.aws/cluster"
LB_CONTROLLER_STACK_TAG = "ingress.k8s.aws/stack"
LB_CONTROLLER_RESOURCE_TAG = "ingress.k8s.aws/resource"
"""The tags the AWS Load Balancer Controller puts on what it makes for an Ingress (its documented tagging:
the cluster, the stack ``<namespace>/<ingress>``, the resource ``LoadBalancer`` or, for a target group,
``<namespace>/<ingress>-<service>:<port>``)."""


def drain_overrun_namespace(config: EnvironmentConfig) -> str:
    """The metric filter's namespace, one per environment: a filter's metric can carry no constant dimension,
    so the environment is in the namespace."""
    return f"{METRIC_NAMESPACE}/{config.name_prefix}"


def drain_overrun_pattern(namespace: str) -> str:
    """Fluent Bit's records (JSON: ``log`` and ``kubernetes``) of the backend namespace's overrun lines."""
    return f'{{ ($.kubernetes.namespace_name = "{namespace}") && ($.log = "*{DRAIN_OVERRUN_TEXT}*") }}'


def load_balancer_tags(config: EnvironmentConfig, namespace: str) -> dict[str, str]:
    """The tags that single out the Ingress's ALB."""
    return {
        LB_CONTROLLER_CLUSTER_TAG: cluster_name(config),
        LB_CONTROLLER_STACK_TAG: f"{namespace}/{INGRESS_NAME}",
        LB_CONTROLLER_RESOURCE_TAG: "LoadBalancer",
    }


def target_group_tags(config: EnvironmentConfig, namespace: str) -> dict[str, str]:
    """The tags that single out the gateway's target group."""
    return {
        LB_CONTROLLER_CLUSTER_TAG: cluster_name(config),
        LB_CONTROLLER_STACK_TAG: f"{namespace}/{INGRESS_NAME}",
        LB_CONTROLLER_RESOURCE_TAG: f"{namespace}/{INGRESS_NAME}-{GATEWAY_SERVICE}:{GATEWAY_PORT}",
    }


def _alarm(
    config: EnvironmentConfig,
    key: str,
    severity: Severity,
    text: str,
    metric: Metric | tuple[MetricQuery, ...],
    comparison: str,
    threshold: float,
    *,
    periods: int,
    period_seconds: int = 60,
    missing: alarms.Missing = "notBreaching",
) -> AlarmSpec:
    return alarms.alarm_spec(
        config.name_prefix,
        config.environment,
        key,
        key.replace("_", "-"),
        severity,
        text,
        metric,
        comparison,
        threshold,
        periods=periods,
        missing=missing,
        period_seconds=period_seconds,
    )


def cluster_alarms(config: EnvironmentConfig) -> list[AlarmSpec]:
    """The cluster stack's own alarms: failed nodes and drain overruns."""
    cluster = {"ClusterName": cluster_name(config)}
    return [
        _alarm(
            config,
            "failed_nodes",
            "warning",
            "A node has reported a failing condition (not Ready, memory, disk or PID pressure) for five minutes "
            "(Container Insights cluster_failed_node_count). Its pods may be stuck; see kubectl describe node.",
            Metric(CONTAINER_INSIGHTS, "cluster_failed_node_count", cluster, "Maximum"),
            "GreaterThanThreshold",
            0,
            periods=5,
        ),
        _alarm(
            config,
            "drain_overrun",
            "critical",
            "A backend pod stopped with events still in its jobsdb: its drain ran past "
            "eks.termination_grace_period_seconds (a destination failing longer than that). The events wait on "
            "the pod's retained volume: run the orphan-volume drain (README, EKS: scale-down) unless the ordinal "
            "comes back.",
            Metric(drain_overrun_namespace(config), DRAIN_OVERRUN_METRIC, {}, "Sum"),
            "GreaterThanOrEqualToThreshold",
            1,
            periods=1,
        ),
    ]


def _running_pods_periods(config: EnvironmentConfig, period: int) -> int:
    """Long enough for a drain and a restart (grace period plus ten minutes), within CloudWatch's day."""
    assert config.eks is not None
    wanted = math.ceil((config.eks.termination_grace_period_seconds + 600) / period)
    return max(1, min(wanted, ALARM_EVALUATION_LIMIT_SECONDS // period))


def workload_alarms(
    config: EnvironmentConfig, namespace: str, alb_arn_suffix: str, target_group_arn_suffix: str
) -> list[AlarmSpec]:
    """The workload stack's alarms: the single-node service alarms on the controller's ALB (5xx, targets,
    latency), the probe and the backlog, minus :data:`UNUSED_SINGLE_NODE_ALARMS`; then the backend pods."""
    assert config.eks is not None
    service = [
        spec
        for spec in alarms.service_alarms(
            config.name_prefix, config.environment, config.alerting.thresholds, alb_arn_suffix, target_group_arn_suffix
        )
        if spec.key not in UNUSED_SINGLE_NODE_ALARMS
    ]
    pods = {"ClusterName": cluster_name(config), "Namespace": namespace}
    restarts = Metric(
        CONTAINER_INSIGHTS, "pod_number_of_container_restarts", {**pods, "PodName": BACKEND_NAME}, "Maximum"
    )
    replicas = config.eks.backend_replica_count
    period = 300
    return [
        *service,
        _alarm(
            config,
            "backend_restarts",
            "warning",
            "A backend container (rudder-server, its PostgreSQL or the drain agent) restarted in the last five "
            "minutes: liveness failures, out-of-memory kills or crashes. See kubectl describe pod.",
            (
                MetricQuery("restarts", False, restarts, period=period),
                MetricQuery("new", True, expression="DIFF(restarts)", label="restarts in five minutes"),
            ),
            "GreaterThanOrEqualToThreshold",
            1,
            periods=1,
            period_seconds=period,
        ),
        _alarm(
            config,
            "backend_pods_missing",
            "warning",
            f"Fewer than {replicas} backend pods (eks.backend_replica_count) have been running for longer than a "
            "drain and a restart take: a pod cannot be scheduled (no node in its volume's AZ, resources) or "
            "keeps failing.",
            Metric(
                CONTAINER_INSIGHTS, "service_number_of_running_pods", {**pods, "Service": GATEWAY_SERVICE}, "Minimum"
            ),
            "LessThanThreshold",
            replicas,
            periods=_running_pods_periods(config, period),
            period_seconds=period,
            missing="breaching",
        ),
    ]


def alerting_alarm_names(config: EnvironmentConfig) -> list[str]:
    """The alarms the cluster stack's alerting part and the node drain add (their names only depend on the
    environment, not on the functions and queues they watch)."""
    prefix, env = config.name_prefix, config.environment
    return [
        spec.name
        for spec in (
            *alarms.alerting_function_alarms(prefix, env, "", "", ""),
            *alarms.function_alarms(prefix, env, "drain", ""),
            alarms.queue_alarm(prefix, env, "drain", ""),
        )
    ]
