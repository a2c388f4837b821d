"""Managed node groups for the eks topology: one per availability zone, each held on termination."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import Token
from cdktf_cdktf_provider_aws.autoscaling_lifecycle_hook import AutoscalingLifecycleHook
from cdktf_cdktf_provider_aws.eks_node_group import (
    EksNodeGroup,
    EksNodeGroupLaunchTemplate,
    EksNodeGroupScalingConfig,
    EksNodeGroupUpdateConfig,
)
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from cdktf_cdktf_provider_aws.launch_template import (
    LaunchTemplate,
    LaunchTemplateBlockDeviceMappings,
    LaunchTemplateBlockDeviceMappingsEbs,
    LaunchTemplateMetadataOptions,
    LaunchTemplateTagSpecifications,
)
from constructs import Construct

from rudder_ha.config.model import EksSettings, LifecycleHookSettings
from rudder_ha.constructs.naming import service_assume_role_policy
from rudder_ha.constructs.single_node_group import TERMINATING

NODE_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryReadOnly", "AmazonSSMManagedInstanceCore")


@dataclass(frozen=True)
class EksNodeGroupsProps:
    """Props of :class:`ZonalNodeGroups`."""

    name_prefix: str
    cluster_name: str
    availability_zones: list[str]
    private_subnet_ids: list[str]
    """One per zone, in the same order."""
    settings: EksSettings
    lifecycle_hook: LifecycleHookSettings
    tags: dict[str, str]


class ZonalNodeGroups(Construct):
    """One managed node group per AZ, so a pod whose jobsdb lives on an EBS volume (bound to its AZ) can
    always be rescheduled in that AZ. Nodes: IMDSv2 only with hop limit 1 (pods use EKS Pod Identity, not
    the node's role), encrypted gp3 root volumes, no SSH. Each group's Auto Scaling group gets a
    terminating lifecycle hook that the drain pipeline completes after evicting the node's pods."""

    def __init__(self, scope: Construct, id_: str, props: EksNodeGroupsProps) -> None:
        super().__init__(scope, id_)
        s = props.settings
        name = props.name_prefix
        self.role = IamRole(
            self,
            "node_role",
            name=f"{name}-eks-node",
            assume_role_policy=service_assume_role_policy("ec2.amazonaws.com"),
        )
        attachments = [
            IamRolePolicyAttachment(
                self, f"node_policy_{i}", role=self.role.name, policy_arn=f"arn:aws:iam::aws:policy/{policy}"
            )
            for i, policy in enumerate(NODE_POLICIES)
        ]
        self.launch_template = LaunchTemplate(
            self,
            "launch_template",
            name=f"{name}-eks-node",
            update_default_version=True,
            metadata_options=LaunchTemplateMetadataOptions(
                http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1
            ),
            block_device_mappings=[
                LaunchTemplateBlockDeviceMappings(
                    device_name="/dev/xvda",
                    ebs=LaunchTemplateBlockDeviceMappingsEbs(
                        volume_type="gp3",
                        volume_size=s.node_volume_size_gib,
                        encrypted="true",
                        delete_on_termination="true",
                    ),
                )
            ],
            tag_specifications=[
                LaunchTemplateTagSpecifications(resource_type=kind, tags={**props.tags, "Name": f"{name}-eks-node"})
                for kind in ("instance", "volume", "network-interface")
            ],
        )
        self.groups: list[EksNodeGroup] = []
        self.hooks: list[AutoscalingLifecycleHook] = []
        for i, (zone, subnet) in enumerate(zip(props.availability_zones, props.private_subnet_ids, strict=True)):
            group = EksNodeGroup(
                self,
                f"group_{i}",
                cluster_name=props.cluster_name,
                node_group_name=f"{name}-{zone}",
                node_role_arn=self.role.arn,
                subnet_ids=[subnet],
                instance_types=[s.node_instance_type],
                ami_type="AL2023_x86_64_STANDARD",
                scaling_config=EksNodeGroupScalingConfig(
                    min_size=s.nodes_min_per_az, max_size=s.nodes_max_per_az, desired_size=s.nodes_desired_per_az
                ),
                update_config=EksNodeGroupUpdateConfig(max_unavailable=1),
                launch_template=EksNodeGroupLaunchTemplate(
                    id=self.launch_template.id, version=Token.as_string(self.launch_template.latest_version)
                ),
                labels={"topology.rudder-ha/zone": zone},
                depends_on=attachments,
            )
            self.groups.append(group)
            self.hooks.append(
                AutoscalingLifecycleHook(
                    self,
                    f"group_{i}_drain",
                    name=f"{name}-node-drain",
                    autoscaling_group_name=self.asg_name(group),
                    lifecycle_transition=TERMINATING,
                    heartbeat_timeout=props.lifecycle_hook.heartbeat_timeout_seconds,
                    default_result=props.lifecycle_hook.default_result,
                )
            )

    @staticmethod
    def asg_name(group: EksNodeGroup) -> str:
        """The name of the Auto Scaling group EKS created for ``group``."""
        return group.resources.get(0).autoscaling_groups.get(0).name

    @property
    def asg_names(self) -> list[str]:
        """Every node group's Auto Scaling group name."""
        return [self.asg_name(g) for g in self.groups]
