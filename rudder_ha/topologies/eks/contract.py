"""What the eks topology's two stacks agree on, so neither imports the other: their names, their state
keys, and the Kubernetes identity of the node-drain Lambda (mapped by the cluster stack's access entry,
granted by the workload stack's ClusterRole)."""

from __future__ import annotations

from rudder_ha.config.model import EnvironmentConfig
from rudder_ha.topologies.eks.k8s.settings import WorkloadSettings
from rudder_ha.topologies.topology import part_state_key

BACKEND_NAMESPACE = WorkloadSettings.namespace
"""The data plane's namespace: the workload stack deploys into it, the cluster stack's log filter reads it."""

NODE_DRAINER_GROUP = "rudder-ha:node-drainer"
"""The Kubernetes group the drain Lambda's access entry maps to; the workload stack binds it to
:data:`NODE_DRAINER_ROLE`."""
NODE_DRAINER_ROLE = "rudder-ha-node-drainer"
"""The ClusterRole (and its binding) granting :data:`NODE_DRAINER_GROUP` what a drain needs."""
NODE_DRAINER_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("nodes", ("get", "list", "patch")),
    ("pods", ("get", "list")),
    ("pods/eviction", ("create",)),
)
"""``(resource, verbs)`` of the core API group: cordon a node, list its pods, evict them."""


def cluster_stack_name(config: EnvironmentConfig) -> str:
    """``cdktf deploy rudder-ha-<environment>-cluster``."""
    return f"{config.name_prefix}-cluster"


def workload_stack_name(config: EnvironmentConfig) -> str:
    """``cdktf deploy rudder-ha-<environment>-workload``."""
    return f"{config.name_prefix}-workload"


def cluster_name(config: EnvironmentConfig) -> str:
    """The EKS cluster's name: the cluster stack creates it, the workload stack reads it by this name."""
    return config.name_prefix


def state_key(config: EnvironmentConfig, part: str) -> str:
    """The environment's state key with ``-<part>`` before ``.tfstate``: each stack has its own state."""
    return part_state_key(config.state.key, part)
