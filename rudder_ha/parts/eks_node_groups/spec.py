"""Names and settings of the eks topology's zonal managed node groups, shared with their cdktf construct
(:mod:`rudder_ha.parts.eks_node_groups.cdktf`). The EKS parts have no Pulumi renderer, hence no ``PART``.

Nodes: IMDSv2 only with hop limit 1, so a pod (one network hop further than the node) never gets an IMDSv2
token and so never the node role's credentials; pods that call AWS get their own role through EKS Pod
Identity. Encrypted gp3 root volumes, no SSH; each group's Auto Scaling group is held on termination until
the drain pipeline has evicted the node's pods. The node role has the two AWS managed policies EKS documents
for joining and pulling images, and Session Manager and Run Command as an inline policy (no SSM parameter,
no document). Keyword-argument dicts use the cdktf structs' snake_case names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rudder_ha.common.policies import SSM_AGENT_POLICY_NAME, ssm_agent_policy
from rudder_ha.config.model import EksSettings, LifecycleHookSettings
from rudder_ha.parts.eks_cluster.spec import managed_policy_arn
from rudder_ha.parts.single_node_group.spec import TERMINATING

NODE_SERVICE = "ec2.amazonaws.com"
"""The service that assumes the node role."""
NODE_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryPullOnly")
"""The AWS managed policies of the node role, in attachment order: joining the cluster, and pulling images (the
add-ons' and the pause image from AWS-owned registries; pull only, no listing). Session Manager is
:func:`node_ssm_agent_policy`, inline: ``AmazonSSMManagedInstanceCore`` would let every node read every SSM
parameter of the account."""
SSM_AGENT_POLICY = SSM_AGENT_POLICY_NAME
AMI_TYPE = "AL2023_x86_64_STANDARD"
ZONE_LABEL = "topology.rudder-ha/zone"
"""The node label holding the node group's availability zone."""
MAX_UNAVAILABLE = 1
"""Nodes replaced one at a time when a node group is updated."""
FORCE_UPDATE_VERSION = True
"""A version or launch-template update does not fail with ``PodEvictionFailure`` when a backend pod's drain
outlasts EKS's 15-minute eviction window (its PodDisruptionBudget lets one backend pod go at a time, and each
may drain for up to ``eks.termination_grace_period_seconds``). What keeps the events instead is the node's
own terminating lifecycle hook: the instance EKS retires is held in ``Terminating:Wait`` by the drain Lambda
(cordon, evict, wait until the node's pods are gone, heartbeats up to the drain deadline), and every backend
pod still runs its preStop drain within its grace period."""


ROOT_DEVICE = "/dev/xvda"  # Amazon Linux 2023's root device name
TAGGED_RESOURCE_TYPES = ("instance", "volume", "network-interface")
"""What the launch template tags at launch."""

METADATA_OPTIONS: dict[str, Any] = {
    "http_endpoint": "enabled",
    "http_tokens": "required",  # IMDSv2 only
    "http_put_response_hop_limit": 1,  # pods cannot reach the node's credentials
}


@dataclass(frozen=True)
class EksNodeGroupsProps:
    """Props of :class:`rudder_ha.parts.eks_node_groups.cdktf.ZonalNodeGroups`."""

    name_prefix: str
    cluster_name: str
    availability_zones: list[str]
    private_subnet_ids: list[str]
    """One per zone, in the same order."""
    settings: EksSettings
    lifecycle_hook: LifecycleHookSettings
    tags: dict[str, str]
    kubernetes_version: str | None = None
    """The cluster's version (its ``version`` attribute): the groups follow a cluster upgrade. None: the
    configured one."""


def node_name(name_prefix: str) -> str:
    """The node role's and the launch template's name, and the nodes' ``Name`` tag."""
    return f"{name_prefix}-eks-node"


def node_policy_arns() -> list[str]:
    """The node role's managed policy ARNs, in attachment order."""
    return [managed_policy_arn(policy) for policy in NODE_POLICIES]


def node_ssm_agent_policy(partition: str, region: str, account: str) -> dict:
    """Session Manager and Run Command for the nodes, and no parameter read at all (a node needs none)."""
    return ssm_agent_policy(partition, region, account)


def launch_template_tags(name_prefix: str, tags: dict[str, str]) -> dict[str, str]:
    """The tags of what the launch template launches: the environment's, and ``Name``."""
    return {**tags, "Name": node_name(name_prefix)}


def root_ebs(settings: EksSettings) -> dict[str, Any]:
    """The nodes' root volume (on :data:`ROOT_DEVICE`): encrypted gp3, deleted with the node."""
    return {
        "volume_type": "gp3",
        "volume_size": settings.node_volume_size_gib,
        "encrypted": "true",
        "delete_on_termination": "true",
    }


def group_name(name_prefix: str, zone: str) -> str:
    """The managed node group of one availability zone."""
    return f"{name_prefix}-{zone}"


def scaling_config(settings: EksSettings) -> dict[str, int]:
    """Each zonal group's size."""
    return {
        "min_size": settings.nodes_min_per_az,
        "max_size": settings.nodes_max_per_az,
        "desired_size": settings.nodes_desired_per_az,
    }


def lifecycle_hook_args(name_prefix: str, hook: LifecycleHookSettings) -> dict[str, Any]:
    """The terminating hook of a group's Auto Scaling group, besides that group's name (every group's hook
    has the same name, each in its own Auto Scaling group)."""
    return {
        "name": f"{name_prefix}-node-drain",
        "lifecycle_transition": TERMINATING,
        "heartbeat_timeout": hook.heartbeat_timeout_seconds,
        "default_result": hook.default_result,
    }
