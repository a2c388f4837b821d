"""The operations dashboard of one environment: traffic and errors, the instance and its drains, the
health probe, the jobsdb backlog and the state of every alarm (body: :mod:`rudder_ha.parts.dashboard.spec`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jsii
from cdktf import IResolveContext, IStringProducer, Lazy
from cdktf_cdktf_provider_aws.cloudwatch_dashboard import CloudwatchDashboard
from constructs import Construct

from rudder_ha.parts.dashboard import spec
from rudder_ha.parts.dashboard.spec import OperationsDashboardProps

__all__ = ["OperationsDashboard", "OperationsDashboardProps"]


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
        return spec.body(self._props)
