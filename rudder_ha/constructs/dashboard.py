"""The operations dashboard of one environment: traffic and errors, the instance and its drains, the
health probe, the jobsdb backlog and the state of every alarm (body: :mod:`rudder_ha.specs.dashboard`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jsii
from cdktf import IResolveContext, IStringProducer, Lazy
from cdktf_cdktf_provider_aws.cloudwatch_dashboard import CloudwatchDashboard
from constructs import Construct

from rudder_ha.config.model import AlertThresholds
from rudder_ha.specs import dashboard as spec


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
        self.name = spec.dashboard_name(props.name_prefix)
        self.dashboard = CloudwatchDashboard(
            self,
            "dashboard",
            dashboard_name=self.name,
            # The body is built when the stack is synthesized; tokens inside (ARN suffixes, the group's
            # name, alarm ARNs) become Terraform references within the JSON string.
            dashboard_body=Lazy.string_value(_Body(lambda: spec.encode(self.body()))),
        )

    @property
    def console_url(self) -> str:
        """The dashboard in the CloudWatch console."""
        return spec.console_url(self._props.region, self.name)

    def body(self) -> dict[str, Any]:
        """The dashboard body as a Python dict (JSON-encoded into ``dashboard_body``)."""
        return spec.body(**self._body_args())

    def _body_args(self) -> dict[str, Any]:
        p = self._props
        return {
            "name_prefix": p.name_prefix,
            "environment": p.environment,
            "region": p.region,
            "alb_arn_suffix": p.alb_arn_suffix,
            "target_group_arn_suffix": p.target_group_arn_suffix,
            "asg_name": p.asg_name,
            "thresholds": p.thresholds,
            "alarm_arns": p.alarm_arns(),
        }
