"""The EKS topology's cdktf stacks for one environment, in deployment order."""

from __future__ import annotations

from constructs import Construct

from rudder_ha.config.model import EnvironmentConfig
from rudder_ha.topologies.eks.cluster_stack import EksClusterStack
from rudder_ha.topologies.eks.workload_stack import EksWorkloadStack


def build_stacks(scope: Construct, config: EnvironmentConfig) -> list[str]:
    """The cluster stack, then the workload stack planned against it; returns their names."""
    return [EksClusterStack(scope, config).node.id, EksWorkloadStack(scope, config).node.id]
