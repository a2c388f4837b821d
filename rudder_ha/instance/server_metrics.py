"""rudder-server's own metrics in CloudWatch: where they go and what the dashboard reads of them.

rudder-server emits statsd (rudder-go-kit's ``stats``; ``STATSD_SERVER_URL``, default ``localhost:8125``). On a
single-node instance the CloudWatch agent listens for it on 127.0.0.1:8125 (``ami/cloudwatch/``: the agent's
configuration, and rudder-server's stats settings pointing at it, shipped in the instance bundle) and publishes
to one namespace per environment, the only one the instance role may put metrics in.

The metric names below were read from rudder-server's source (v1.62.1 and v1.83.0 alike): the gateway's
``gateway/internal/stats``, the processor's ``processor/processor.go``, the router's ``router/worker.go`` and
the batch router's ``router/batchrouter/handle_observability.go``.
"""

from __future__ import annotations

from dataclasses import dataclass

from rudder_ha.paths import AMI_DIR

STATSD_ADDRESS = "127.0.0.1:8125"
"""Where the agent listens and rudder-server sends (loopback: the backend container uses host networking)."""
AGENT_CONFIG_SOURCE = AMI_DIR / "cloudwatch" / "rudder-statsd-agent.json"
SERVER_STATS_ENV_SOURCE = AMI_DIR / "cloudwatch" / "rudder-server-stats.env"


def namespace(environment: str) -> str:
    """The environment's namespace for rudder-server metrics. The environment sits between two fixed words,
    so a dashboard search for one environment's namespace never matches another's (``prod`` vs ``prod-eks``)."""
    return f"RudderHA/{environment}/rudder-server"


@dataclass(frozen=True)
class ServerMetric:
    """One rudder-server statsd metric as the dashboard searches it: its name and dimension filters."""

    name: str
    label: str
    filters: str = ""
    """Extra search terms, e.g. ``module="router"`` or ``NOT respStatusCode="200"``."""

    def search(self, environment: str, statistic: str = "Sum", period: int = 60) -> str:
        """A CloudWatch search expression for every time series of this metric, any dimensions."""
        terms = f'"{namespace(environment)}" MetricName="{self.name}"'
        if self.filters:
            terms += f" {self.filters}"
        return f"SEARCH('{terms}', '{statistic}', {period})"


GATEWAY_REQUESTS = ServerMetric("gateway.write_key_requests", "requests")
GATEWAY_FAILED_REQUESTS = ServerMetric("gateway.write_key_failed_requests", "failed requests")
GATEWAY_EVENTS = ServerMetric("gateway.write_key_events", "events")
PROCESSOR_EVENTS_IN = ServerMetric("processor_num_events", "events read from the gateway")
PROCESSOR_EVENTS_OUT = ServerMetric("processor_num_output_events", "events for destinations")
ROUTER_DELIVERED = ServerMetric("event_delivery", "router: delivered", 'module="router"')
BATCH_ROUTER_DELIVERED = ServerMetric("event_delivery", "batch router: delivered", 'module="batch_router"')
ROUTER_FAILED = ServerMetric("router_response_counts", "router: responses other than 200", 'NOT respStatusCode="200"')
BATCH_ROUTER_FAILED = ServerMetric(
    "event_status", "batch router: failed or aborted", '(job_state="failed" OR job_state="aborted")'
)

DASHBOARD_METRICS = (
    GATEWAY_REQUESTS,
    GATEWAY_FAILED_REQUESTS,
    GATEWAY_EVENTS,
    PROCESSOR_EVENTS_IN,
    PROCESSOR_EVENTS_OUT,
    ROUTER_DELIVERED,
    BATCH_ROUTER_DELIVERED,
    ROUTER_FAILED,
    BATCH_ROUTER_FAILED,
)
"""Every rudder-server metric the dashboard shows."""
