"""The single-node HA data plane: a launch template and an autoscaling group of exactly one (or of a holder
and a hot standby)."""

from __future__ import annotations

from cdktf import TerraformResourceLifecycle, Token
from cdktf_cdktf_provider_aws.autoscaling_group import (
    AutoscalingGroup,
    AutoscalingGroupInitialLifecycleHook,
    AutoscalingGroupInstanceMaintenancePolicy,
    AutoscalingGroupInstanceRefresh,
    AutoscalingGroupInstanceRefreshPreferences,
    AutoscalingGroupLaunchTemplate,
    AutoscalingGroupTag,
    AutoscalingGroupWarmPool,
    AutoscalingGroupWarmPoolInstanceReusePolicy,
)
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.launch_template import (
    LaunchTemplate,
    LaunchTemplateBlockDeviceMappings,
    LaunchTemplateBlockDeviceMappingsEbs,
    LaunchTemplateIamInstanceProfile,
    LaunchTemplateMetadataOptions,
    LaunchTemplateMonitoring,
    LaunchTemplateNetworkInterfaces,
    LaunchTemplateTagSpecifications,
)
from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.vpc_security_group_egress_rule import VpcSecurityGroupEgressRule
from cdktf_cdktf_provider_aws.vpc_security_group_ingress_rule import VpcSecurityGroupIngressRule
from constructs import Construct

from rudder_ha.parts.instance_role.spec import role_name
from rudder_ha.parts.single_node_group import spec
from rudder_ha.parts.single_node_group.spec import ROOT_DEVICE, TERMINATING, SingleNodeGroupProps

__all__ = ["ROOT_DEVICE", "TERMINATING", "SingleNodeGroup", "SingleNodeGroupProps"]


class SingleNodeGroup(Construct):
    """One data-plane instance at a time, replaced automatically when the ALB finds it unhealthy.

    What it builds and why: :mod:`rudder_ha.parts.single_node_group.spec`.
    """

    def __init__(self, scope: Construct, id_: str, props: SingleNodeGroupProps) -> None:
        super().__init__(scope, id_)
        name = props.name_prefix
        self.security_group = SecurityGroup(self, "sg", **spec.security_group_args(name, props.vpc_id))
        sg_id = self.security_group.id
        VpcSecurityGroupIngressRule(
            self, "ingress_gateway", **spec.ingress_rule_args(sg_id, props.alb_security_group_id)
        )
        VpcSecurityGroupEgressRule(self, "egress_all", **spec.egress_rule_args(sg_id))
        inst = props.instance
        resource_tags = spec.resource_tags(name, props.propagated_tags)
        self.launch_template = LaunchTemplate(
            self,
            "launch_template",
            **spec.launch_template_args(name, inst, props.user_data_base64),
            iam_instance_profile=LaunchTemplateIamInstanceProfile(arn=props.instance_profile_arn),
            network_interfaces=[
                LaunchTemplateNetworkInterfaces(**spec.NETWORK_INTERFACE, security_groups=[self.security_group.id])
            ],
            metadata_options=LaunchTemplateMetadataOptions(**spec.METADATA_OPTIONS),
            block_device_mappings=[
                LaunchTemplateBlockDeviceMappings(
                    device_name=ROOT_DEVICE,
                    ebs=LaunchTemplateBlockDeviceMappingsEbs(**spec.root_volume(inst)),
                )
            ],
            monitoring=LaunchTemplateMonitoring(enabled=True),
            tag_specifications=[
                LaunchTemplateTagSpecifications(resource_type=kind, tags=resource_tags)
                for kind in spec.TAGGED_RESOURCE_TYPES
            ],
            depends_on=list(props.launch_template_depends_on) or None,
        )
        scaling = props.autoscaling
        self.lifecycle_hook_name = spec.lifecycle_hook_name(name)
        self.group_name = spec.data_plane_name(name)
        warm_pool_args = spec.warm_pool_args(scaling)
        warm_pool = None
        if warm_pool_args is not None:
            warm_pool = AutoscalingGroupWarmPool(
                **warm_pool_args,
                instance_reuse_policy=AutoscalingGroupWarmPoolInstanceReusePolicy(
                    reuse_on_scale_in=spec.WARM_POOL_REUSE_ON_SCALE_IN
                ),
            )
        self.group = AutoscalingGroup(
            self,
            "group",
            **spec.group_args(name, scaling, props.target_group_arn),
            vpc_zone_identifier=props.private_subnet_ids,
            launch_template=AutoscalingGroupLaunchTemplate(
                id=self.launch_template.id, version=Token.as_string(self.launch_template.latest_version)
            ),
            instance_refresh=AutoscalingGroupInstanceRefresh(
                strategy=spec.REFRESH_STRATEGY,
                preferences=AutoscalingGroupInstanceRefreshPreferences(
                    **spec.refresh_preferences(
                        scaling.default_instance_warmup_seconds, hot_standby=scaling.failover.hot_standby
                    )
                ),
            ),
            warm_pool=warm_pool,
            # Health replacements too: terminate and launch together, never more than one in service.
            instance_maintenance_policy=AutoscalingGroupInstanceMaintenancePolicy(**spec.maintenance_policy(scaling)),
            initial_lifecycle_hook=[
                AutoscalingGroupInitialLifecycleHook(**spec.lifecycle_hook_args(name, scaling.lifecycle_hook))
            ],
            tag=[AutoscalingGroupTag(**tag) for tag in spec.group_tags(resource_tags)],
            lifecycle=(
                TerraformResourceLifecycle(precondition=list(props.preconditions)) if props.preconditions else None
            ),
            depends_on=[*props.depends_on, *props.launch_template_depends_on] or None,
        )
        self.report_health_policy = None
        if scaling.failover.hot_standby:
            self.report_health_policy = IamRolePolicy(
                self,
                "report_health",
                name=spec.REPORT_HEALTH_POLICY_NAME,
                role=role_name(name),
                policy=spec.report_health_policy(self.group.arn),
            )
