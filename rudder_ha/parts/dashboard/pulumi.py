"""The operations dashboard of one environment (Pulumi): traffic and errors, the instance and its drains,
the health probe, the jobsdb backlog and the state of every alarm.

The body comes from :mod:`rudder_ha.parts.dashboard.spec`, shared with the cdktf construct
:mod:`rudder_ha.parts.dashboard.cdktf`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pulumi
import pulumi_aws as aws

from rudder_ha.frontends.pulumi.resolve import apply_spec
from rudder_ha.parts.dashboard import spec
from rudder_ha.parts.dashboard.spec import OperationsDashboardProps

__all__ = ["OperationsDashboard", "OperationsDashboardProps"]


class OperationsDashboard(pulumi.ComponentResource):
    """One CloudWatch dashboard named ``<name_prefix>``; its link is :attr:`console_url`.

    Attributes: ``dashboard`` (the resource), ``name``, ``console_url``, :meth:`body`.
    """

    def __init__(self, name: str, props: OperationsDashboardProps, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("rudder-ha:dashboard:OperationsDashboard", name, None, opts)
        self._props = props
        self.name = spec.dashboard_name(props.name_prefix)
        # A callable alarm_arns is read now: the alarms to list are those created before the dashboard.
        now = replace(props, alarm_arns=spec.current_alarm_arns(props))
        self._body = apply_spec(spec.body, now, spec.BODY_FIELDS)
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
