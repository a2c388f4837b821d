"""The CloudWatch alarms of one environment, front-end neutral: metrics, math, thresholds, severities,
names and descriptions.

Every alarm sends ALARM *and* OK to the alerts topic (OK resolves the incident the router opened) and
carries ``severity=critical|warning`` in its description, which the router reads. Alarm names all start
with ``<name_prefix>-`` (the topic policy only accepts alarms named so).

Shared by the cdktf :mod:`rudder_ha.parts.alerting.cdktf` and the Pulumi :mod:`rudder_ha.parts.alerting.pulumi`:
each turns an :class:`AlarmSpec` into its alarm resource with :meth:`AlarmSpec.settings` (keyword
arguments both front ends name alike) plus the metric queries and the topic as actions. Dimension values
may be Terraform tokens (cdktf) or Pulumi inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from rudder_ha.config.model import AlertThresholds
from rudder_ha.parts.alerting.spec import METRIC_NAMESPACE, PROBE_SAMPLE_SECONDS

Severity = Literal["critical", "warning"]
Missing = Literal["breaching", "notBreaching", "ignore", "missing"]

ALB = "AWS/ApplicationELB"
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
FIVE_XX_RATE_LABEL = "5xx % of requests"
FIVE_XX_COUNTS = (
    ("elb5xx", "HTTPCode_ELB_5XX_Count"),
    ("target5xx", "HTTPCode_Target_5XX_Count"),
    ("requests", "RequestCount"),
)
"""(id, ALB metric) of the 5xx rate's inputs."""


@dataclass(frozen=True)
class Metric:
    """One metric of an alarm."""

    namespace: str
    name: str
    dimensions: dict[str, Any]
    stat: str
    """A statistic (``Sum``, ``Maximum``...) or a percentile (``p99``)."""


@dataclass(frozen=True)
class MetricQuery:
    """One query of a metric-math alarm: a metric (``metric`` and ``period``) or an ``expression``."""

    id: str
    return_data: bool
    metric: Metric | None = None
    period: int | None = None
    expression: str | None = None
    label: str | None = None

    def settings(self) -> dict[str, Any]:
        """The query's arguments (``metric`` as a nested dict), leaving out the unset ones."""
        query: dict[str, Any] = {"id": self.id, "return_data": self.return_data}
        if self.metric is not None:
            query["metric"] = {
                "namespace": self.metric.namespace,
                "metric_name": self.metric.name,
                "dimensions": self.metric.dimensions,
                "period": self.period,
                "stat": self.metric.stat,
            }
        if self.expression is not None:
            query["expression"] = self.expression
        if self.label is not None:
            query["label"] = self.label
        return query


@dataclass(frozen=True)
class AlarmSpec:
    """One alarm: a single ``metric`` or metric-math ``queries``."""

    key: str
    """Identifies the alarm within the environment; the resource's id is :attr:`construct_id`."""
    name: str
    severity: Severity
    description: str
    """The full description: ``severity=<severity> [<environment>] <text>``."""
    comparison: str
    threshold: float
    periods: int
    """Evaluation periods, all of which must breach (datapoints to alarm)."""
    missing: Missing
    period_seconds: int = 60
    metric: Metric | None = None
    queries: tuple[MetricQuery, ...] = ()

    @property
    def construct_id(self) -> str:
        """The cdktf construct id (and the Pulumi logical-name suffix) of the alarm."""
        return f"alarm_{self.key}"

    def settings(self) -> dict[str, Any]:
        """Every argument of the alarm resource except the metric queries and the actions."""
        kwargs: dict[str, Any] = {
            "alarm_name": self.name,
            "alarm_description": self.description,
            "comparison_operator": self.comparison,
            "threshold": self.threshold,
            "evaluation_periods": self.periods,
            "datapoints_to_alarm": self.periods,
            "treat_missing_data": self.missing,
            "actions_enabled": True,
        }
        if self.metric is not None:
            kwargs.update(
                namespace=self.metric.namespace,
                metric_name=self.metric.name,
                dimensions=self.metric.dimensions,
                period=self.period_seconds,
            )
            if self.metric.stat.startswith("p"):
                kwargs["extended_statistic"] = self.metric.stat
                # A percentile of a handful of requests says nothing: keep the alarm's state then.
                kwargs["evaluate_low_sample_count_percentiles"] = "ignore"
            else:
                kwargs["statistic"] = self.metric.stat
        return kwargs


def alarm_spec(
    name_prefix: str,
    environment: str,
    key: str,
    slug: str,
    severity: Severity,
    text: str,
    metric: Metric | tuple[MetricQuery, ...],
    comparison: str,
    threshold: float,
    *,
    periods: int,
    missing: Missing,
    period_seconds: int = 60,
) -> AlarmSpec:
    """One alarm of the environment ``name_prefix``: named ``<name_prefix>-<slug>``, its description led by
    its severity and environment (the alert router reads both from there)."""
    return AlarmSpec(
        key=key,
        name=f"{name_prefix}-{slug}",
        severity=severity,
        description=f"severity={severity} [{environment}] {text}",
        comparison=comparison,
        threshold=threshold,
        periods=periods,
        missing=missing,
        period_seconds=period_seconds,
        metric=metric if isinstance(metric, Metric) else None,
        queries=metric if isinstance(metric, tuple) else (),
    )


def five_xx_rate_queries(alb_arn_suffix: str) -> tuple[MetricQuery, ...]:
    """The ALB's 5xx percentage over five minutes (the returned query is ``rate``)."""
    lb = {"LoadBalancer": alb_arn_suffix}
    return (
        *(MetricQuery(id_, False, Metric(ALB, metric, lb, "Sum"), period=300) for id_, metric in FIVE_XX_COUNTS),
        *(
            MetricQuery(
                id_,
                id_ == "rate",
                expression=expression,
                label=FIVE_XX_RATE_LABEL if id_ == "rate" else None,
            )
            for id_, expression in FIVE_XX_RATE
        ),
    )


def service_alarms(
    name_prefix: str,
    environment: str,
    thresholds: AlertThresholds,
    alb_arn_suffix: str,
    target_group_arn_suffix: str,
    standby_targets: int = 0,
) -> list[AlarmSpec]:
    """The alarms on the ALB, the health probe, the jobsdb backlog and the crash-loop guard, in order.

    ``standby_targets``: how many targets fail ``/health`` by design (a hot standby), so that the
    unhealthy-host alarm warns only of a target beyond them.
    """
    t = thresholds
    lb = {"LoadBalancer": alb_arn_suffix}
    target = {"TargetGroup": target_group_arn_suffix, **lb}
    env = {"Environment": environment}

    def alarm(*args: Any, **kwargs: Any) -> AlarmSpec:
        return alarm_spec(name_prefix, environment, *args, **kwargs)

    return [
        alarm(
            "no_healthy_target",
            "no-healthy-target",
            "critical",
            "No healthy target behind the ALB for a whole minute: event intake is down. "
            "HealthyHostCount is always reported, so a gap counts as down too.",
            Metric(ALB, "HealthyHostCount", target, "Maximum"),
            "LessThanThreshold",
            1,
            periods=1,
            missing="breaching",
        ),
        alarm(
            "unhealthy_host",
            "unhealthy-host",
            "warning",
            (
                "A target has failed the /health check for two minutes; the group replaces it on ELB health."
                if not standby_targets
                else f"More than the {standby_targets} hot-standby target(s) have failed the /health check for two "
                "minutes: the serving instance is failing (the standby takes the lease over) or the standby "
                "serves while the old holder is still registered."
            ),
            Metric(ALB, "UnHealthyHostCount", target, "Maximum"),
            "GreaterThanOrEqualToThreshold",
            1 + standby_targets,
            periods=2,
            missing="notBreaching",
        ),
        alarm(
            "alb_5xx_rate",
            "alb-5xx-rate",
            "critical",
            f"More than {t.alb_5xx_percent}% of requests over five minutes ended in a 5xx from the ALB or "
            "rudder-server: SDKs are failing to deliver events.",
            five_xx_rate_queries(alb_arn_suffix),
            "GreaterThanThreshold",
            t.alb_5xx_percent,
            periods=1,
            missing="notBreaching",  # no traffic at all is not an error rate
        ),
        alarm(
            "target_response_time",
            "target-response-time-p99",
            "warning",
            f"p99 target response time above {t.target_response_time_seconds} s for five minutes.",
            Metric(ALB, "TargetResponseTime", target, "p99"),
            "GreaterThanThreshold",
            t.target_response_time_seconds,
            periods=5,
            missing="notBreaching",  # no requests, no latency: nothing is slow
        ),
        alarm(
            "probe_down",
            "probe-down",
            "critical",
            f"The health probe got no answer from rudder-server through the ALB {t.probe_failures} times in a row "
            "(one probe every 10 s) "
            "in a row, or stopped reporting (missing data counts as down).",
            Metric(METRIC_NAMESPACE, "Up", env, "Minimum"),
            "LessThanThreshold",
            1,
            periods=t.probe_failures,
            period_seconds=PROBE_SAMPLE_SECONDS,
            missing="breaching",
        ),
        alarm(
            "probe_degraded",
            "probe-degraded",
            "warning",
            f"rudder-server answered /health as degraded (database down or not accepting events) for "
            f"{t.degraded_probes} probes in a row (one every 10 s).",
            Metric(METRIC_NAMESPACE, "Degraded", env, "Maximum"),
            "GreaterThanOrEqualToThreshold",
            1,
            periods=t.degraded_probes,
            period_seconds=PROBE_SAMPLE_SECONDS,
            missing="notBreaching",  # no answer at all is probe-down's job
        ),
        alarm(
            "backlog_age",
            "backlog-oldest-pending-age",
            "warning",
            f"The oldest pending jobsdb job is older than {t.backlog_oldest_age_seconds} s for three minutes: "
            "delivery is stuck (a destination may be down; rudder keeps retrying).",
            Metric(METRIC_NAMESPACE, "OldestPendingAgeSeconds", env, "Maximum"),
            "GreaterThanThreshold",
            t.backlog_oldest_age_seconds,
            periods=3,
            missing="notBreaching",  # a silent publisher is backlog-check-failed's job
        ),
        alarm(
            "backlog_check_failed",
            "backlog-check-failed",
            "warning",
            "The on-instance backlog check could not read the jobsdb, or published nothing, for ten minutes: "
            "the backlog alarm is blind.",
            Metric(METRIC_NAMESPACE, "BacklogCheckFailed", env, "Maximum"),
            "GreaterThanOrEqualToThreshold",
            1,
            periods=10,  # longer than a boot or a replacement, during which the check cannot tell
            missing="breaching",
        ),
        alarm(
            "gateway_only",
            "degraded-mode",
            "critical",
            "The crash-loop guard switched rudder-server to gateway-only (degraded mode): events are stored "
            "but not delivered until an operator runs `rudder-crash-guard reset` on the instance.",
            Metric(METRIC_NAMESPACE, "GatewayOnly", env, "Maximum"),
            "GreaterThanOrEqualToThreshold",
            1,
            periods=1,  # the guard publishes once a minute; one datapoint is a fact, not a blip
            missing="notBreaching",
        ),
    ]


def function_alarms(
    name_prefix: str, environment: str, label: str, function_name: str, severity: Severity = "warning"
) -> list[AlarmSpec]:
    """Errors and Throttles alarms (any in five minutes) for a Lambda function."""
    dimensions = {"FunctionName": function_name}
    return [
        alarm_spec(
            name_prefix,
            environment,
            f"{label.replace('-', '_')}_{metric.lower()}",
            f"{label}-{metric.lower()}",
            severity,
            f"The {label} Lambda function {what} in the last five minutes; see its log group.",
            Metric("AWS/Lambda", metric, dimensions, "Sum"),
            "GreaterThanOrEqualToThreshold",
            1,
            periods=1,
            period_seconds=300,
            missing="notBreaching",  # Lambda reports nothing while the function is idle
        )
        for metric, what in (("Errors", "failed"), ("Throttles", "was throttled"))
    ]


def queue_alarm(
    name_prefix: str, environment: str, label: str, queue_name: str, severity: Severity = "warning"
) -> AlarmSpec:
    """An alarm on a dead-letter queue holding any message."""
    return alarm_spec(
        name_prefix,
        environment,
        f"{label.replace('-', '_')}_dlq",
        f"{label}-dlq-not-empty",
        severity,
        f"The {label} dead-letter queue holds messages: events were not processed. Inspect and redrive them.",
        Metric("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": queue_name}, "Maximum"),
        "GreaterThanThreshold",
        0,
        periods=1,
        period_seconds=300,
        # SQS stops reporting only for queues that have been empty and idle for hours.
        missing="notBreaching",
    )


def alerting_function_alarms(
    name_prefix: str, environment: str, router_function_name: str, probe_function_name: str, router_dlq_name: str
) -> list[AlarmSpec]:
    """The alarms on alerting's own functions and dead-letter queue: a silent router is critical."""
    return [
        *function_alarms(name_prefix, environment, "alert-router", router_function_name, "critical"),
        *function_alarms(name_prefix, environment, "health-probe", probe_function_name),
        queue_alarm(name_prefix, environment, "alert-router", router_dlq_name, "critical"),
    ]
