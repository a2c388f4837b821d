"""The single-node HA topology as one cdktf stack per environment; the wiring is
:func:`rudder_ha.topologies.single_node.wiring.compose`, shared with the Pulumi program."""

from __future__ import annotations

from constructs import Construct

from rudder_ha.config.model import EnvironmentConfig
from rudder_ha.frontends.cdktf.composer import CdktfComposer
from rudder_ha.frontends.cdktf.environment_stack import EnvironmentStack
from rudder_ha.topologies.single_node.wiring import SingleNodeParts, compose


def stack_name(config: EnvironmentConfig) -> str:
    """The stack users deploy: ``cdktf deploy rudder-ha-<environment>``."""
    return config.name_prefix


class SingleNodeStack(EnvironmentStack):
    """Network, ALB with /health checks, and an autoscaling group of one data-plane instance, with the drain
    pipeline, alerting, the dashboard and (where enabled) the image pipeline around it.

    :attr:`parts` holds every part's construct.
    """

    def __init__(self, scope: Construct, config: EnvironmentConfig) -> None:
        super().__init__(scope, stack_name(config), config)
        self.parts: SingleNodeParts = compose(config, CdktfComposer(self))


def build_stacks(scope: Construct, config: EnvironmentConfig) -> list[str]:
    """The topology's stacks for one environment (one here); returns their names."""
    return [SingleNodeStack(scope, config).node.id]
