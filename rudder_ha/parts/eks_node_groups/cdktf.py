"""Managed node groups for the eks topology: one per availability zone, each held on termination."""

from __future__ import annotations

from cdktf import Token
from cdktf_cdktf_provider_aws.autoscaling_lifecycle_hook import AutoscalingLifecycleHook
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.data_aws_region import DataAwsRegion
from cdktf_cdktf_provider_aws.eks_node_group import (
    EksNodeGroup,
    EksNodeGroupLaunchTemplate,
    EksNodeGroupScalingConfig,
    EksNodeGroupUpdateConfig,
)
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from cdktf_cdktf_provider_aws.launch_template import (
    LaunchTemplate,
    LaunchTemplateBlockDeviceMappings,
    LaunchTemplateBlockDeviceMappingsEbs,
    LaunchTemplateMetadataOptions,
    LaunchTemplateTagSpecifications,
)
from constructs import Construct

from rudder_ha.frontends.cdktf.naming import policy_json, service_assume_role_policy
from rudder_ha.parts.eks_node_groups import spec
from rudder_ha.parts.eks_node_groups.spec import EksNodeGroupsProps

__all__ = ["EksNodeGroupsProps", "ZonalNodeGroups"]


class ZonalNodeGroups(Construct):
    """One managed node group per AZ, so a pod whose jobsdb lives on an EBS volume (bound to its AZ) can
    always be rescheduled in that AZ. Nodes: IMDSv2 only with hop limit 1 (a pod, one hop further, gets no
    IMDSv2 token and so never the node's credentials; pods that call AWS use EKS Pod Identity roles of their
    own), encrypted gp3 root volumes, no SSH, Session Manager through an inline policy that reads no SSM
    parameter. Each group's Auto Scaling group gets a terminating lifecycle hook that the drain pipeline
    completes after evicting the node's pods."""

    def __init__(self, scope: Construct, id_: str, props: EksNodeGroupsProps) -> None:
        super().__init__(scope, id_)
        s = props.settings
        name = props.name_prefix
        self.role = IamRole(
            self,
            "node_role",
            name=spec.node_name(name),
            assume_role_policy=service_assume_role_policy(spec.NODE_SERVICE),
        )
        attachments = [
            IamRolePolicyAttachment(self, f"node_policy_{i}", role=self.role.name, policy_arn=arn)
            for i, arn in enumerate(spec.node_policy_arns())
        ]
        self.ssm_agent = IamRolePolicy(
            self,
            "node_ssm_agent",
            role=self.role.id,
            name=spec.SSM_AGENT_POLICY,
            policy=policy_json(
                spec.node_ssm_agent_policy(
                    DataAwsPartition(self, "partition").partition,
                    DataAwsRegion(self, "region").region,
                    DataAwsCallerIdentity(self, "account").account_id,
                )
            ),
        )
        self.launch_template = LaunchTemplate(
            self,
            "launch_template",
            name=spec.node_name(name),
            update_default_version=True,
            metadata_options=LaunchTemplateMetadataOptions(**spec.METADATA_OPTIONS),
            block_device_mappings=[
                LaunchTemplateBlockDeviceMappings(
                    device_name=spec.ROOT_DEVICE, ebs=LaunchTemplateBlockDeviceMappingsEbs(**spec.root_ebs(s))
                )
            ],
            tag_specifications=[
                LaunchTemplateTagSpecifications(resource_type=kind, tags=spec.launch_template_tags(name, props.tags))
                for kind in spec.TAGGED_RESOURCE_TYPES
            ],
        )
        self.groups: list[EksNodeGroup] = []
        self.hooks: list[AutoscalingLifecycleHook] = []
        for i, (zone, subnet) in enumerate(zip(props.availability_zones, props.private_subnet_ids, strict=True)):
            # one AZ at a time: each group's create or update waits for the previous group's
            previous = self.groups[-1:]
            group = EksNodeGroup(
                self,
                f"group_{i}",
                cluster_name=props.cluster_name,
                node_group_name=spec.group_name(name, zone),
                node_role_arn=self.role.arn,
                subnet_ids=[subnet],
                instance_types=[s.node_instance_type],
                ami_type=spec.AMI_TYPE,
                scaling_config=EksNodeGroupScalingConfig(**spec.scaling_config(s)),
                version=props.kubernetes_version or s.kubernetes_version,
                force_update_version=spec.FORCE_UPDATE_VERSION,
                update_config=EksNodeGroupUpdateConfig(max_unavailable=spec.MAX_UNAVAILABLE),
                launch_template=EksNodeGroupLaunchTemplate(
                    id=self.launch_template.id, version=Token.as_string(self.launch_template.latest_version)
                ),
                labels={spec.ZONE_LABEL: zone},
                depends_on=[*attachments, self.ssm_agent, *previous],
            )
            self.groups.append(group)
            self.hooks.append(
                AutoscalingLifecycleHook(
                    self,
                    f"group_{i}_drain",
                    autoscaling_group_name=self.asg_name(group),
                    **spec.lifecycle_hook_args(name, props.lifecycle_hook),
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
