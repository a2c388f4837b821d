"""The operations dashboard of one environment (Pulumi): traffic and errors, the instance and its drains,
the health probe, the jobsdb backlog and the state of every alarm.

The body comes from :mod:`rudder_ha.specs.dashboard`, shared with the cdktf construct
:mod:`rudder_ha.constructs.dashboard`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from rudder_ha.config.model import AlertThresholds
from rudder_ha.specs import dashboard as spec


@dataclass(frozen=True)
class OperationsDashboardProps:
    """Props of :class:`OperationsDashboard` (the fields of the cdktf ``OperationsDashboardProps``)."""

    name_prefix: str
    environment: str
    region: str
    alb_arn_suffix: pulumi.Input[str]
    target_group_arn_suffix: pulumi.Input[str]
    asg_name: pulumi.Input[str]
    thresholds: AlertThresholds
    alarm_arns: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Every alarm's ARN (``Alerting.alarm_arns``). The cdktf construct takes a callable read at synthesis;
    here the list is read when the dashboard is created, so add the drain pipeline's alarms before."""


class OperationsDashboard(pulumi.ComponentResource):
    """One CloudWatch dashboard named ``<name_prefix>``; its link is :attr:`console_url`.

    Attributes: ``dashboard`` (the resource), ``name``, ``console_url``, :meth:`body`.
    """

    def __init__(self, name: str, props: OperationsDashboardProps, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("rudder-ha:dashboard:OperationsDashboard", name, None, opts)
        self._props = props
        self.name = spec.dashboard_name(props.name_prefix)
        self._body = pulumi.Output.all(
            alb_arn_suffix=props.alb_arn_suffix,
            target_group_arn_suffix=props.target_group_arn_suffix,
            asg_name=props.asg_name,
            alarm_arns=pulumi.Output.from_input(props.alarm_arns),
        ).apply(
            lambda v: spec.body(
                name_prefix=props.name_prefix,
                environment=props.environment,
                region=props.region,
                alb_arn_suffix=v["alb_arn_suffix"],
                target_group_arn_suffix=v["target_group_arn_suffix"],
                asg_name=v["asg_name"],
                thresholds=props.thresholds,
                alarm_arns=list(v["alarm_arns"]),
            )
        )
        self.dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=self.name,
            dashboard_body=self._body.apply(spec.encode),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"dashboard_name": self.dashboard.dashboard_name, "console_url": self.console_url})

    @property
    def console_url(self) -> str:
        """The dashboard in the CloudWatch console."""
        return spec.console_url(self._props.region, self.name)

    def body(self) -> pulumi.Output[dict[str, Any]]:
        """The dashboard body as a Python dict (JSON-encoded into ``dashboard_body``)."""
        return self._body
