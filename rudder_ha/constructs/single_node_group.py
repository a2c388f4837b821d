"""The single-node HA data plane: a launch template and an autoscaling group of exactly one."""

from __future__ import annotations

from dataclasses import dataclass, field

from cdktf import Precondition, TerraformResourceLifecycle, Token
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

from rudder_ha.config.model import GATEWAY_PORT, AutoscalingSettings, InstanceSettings
from rudder_ha.specs import single_node_group as spec
from rudder_ha.specs.single_node_group import ROOT_DEVICE, TERMINATING

__all__ = ["ROOT_DEVICE", "TERMINATING", "SingleNodeGroup", "SingleNodeGroupProps"]


@dataclass(frozen=True)
class SingleNodeGroupProps:
    """Props of :class:`SingleNodeGroup`."""

    name_prefix: str
    vpc_id: str
    private_subnet_ids: list[str]
    alb_security_group_id: str
    target_group_arn: str
    instance_profile_arn: str
    user_data_base64: str
    instance: InstanceSettings
    autoscaling: AutoscalingSettings
    propagated_tags: dict[str, str]
    """Tags every instance and volume carries (provider default tags do not reach ASG-launched instances)."""
    preconditions: list[Precondition] = field(default_factory=list)


class SingleNodeGroup(Construct):
    """One data-plane instance at a time, replaced automatically when the ALB finds it unhealthy.

    - Launch template: private subnets, no public IP, no SSH key, IMDSv2 only (hop limit 1, so only the
      host's processes reach the metadata service), encrypted gp3 root volume, detailed monitoring.
    - Security group: the gateway port from the ALB's security group only.
    - Autoscaling group: min = max = desired = 1 over every private subnet, ELB health checks, an
      instance refresh that terminates before it launches (never two data planes at once), an optional
      warm pool, and a terminating lifecycle hook that the drain pipeline completes.
    """

    def __init__(self, scope: Construct, id_: str, props: SingleNodeGroupProps) -> None:
        super().__init__(scope, id_)
        name = props.name_prefix
        self.security_group = SecurityGroup(
            self,
            "sg",
            name=spec.data_plane_name(name),
            description=spec.security_group_description(name),
            vpc_id=props.vpc_id,
            tags={"Name": spec.data_plane_name(name)},
        )
        VpcSecurityGroupIngressRule(
            self,
            "ingress_gateway",
            security_group_id=self.security_group.id,
            referenced_security_group_id=props.alb_security_group_id,
            ip_protocol="tcp",
            from_port=GATEWAY_PORT,
            to_port=GATEWAY_PORT,
            description=spec.INGRESS_DESCRIPTION,
        )
        VpcSecurityGroupEgressRule(
            self,
            "egress_all",
            security_group_id=self.security_group.id,
            cidr_ipv4=spec.EGRESS_CIDR,
            ip_protocol="-1",
            description=spec.EGRESS_DESCRIPTION,
        )
        inst = props.instance
        resource_tags = spec.resource_tags(name, props.propagated_tags)
        self.launch_template = LaunchTemplate(
            self,
            "launch_template",
            name=spec.data_plane_name(name),
            description=spec.LAUNCH_TEMPLATE_DESCRIPTION,
            image_id=inst.ami,
            instance_type=inst.instance_type,
            ebs_optimized="true",
            update_default_version=True,
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
            user_data=props.user_data_base64,
            tag_specifications=[
                LaunchTemplateTagSpecifications(resource_type=kind, tags=resource_tags)
                for kind in spec.TAGGED_RESOURCE_TYPES
            ],
        )
        scaling = props.autoscaling
        hook = scaling.lifecycle_hook
        self.lifecycle_hook_name = spec.lifecycle_hook_name(name)
        self.group_name = spec.data_plane_name(name)
        warm_pool = None
        if scaling.warm_pool.enabled:
            warm_pool = AutoscalingGroupWarmPool(
                pool_state=scaling.warm_pool.pool_state,
                min_size=scaling.warm_pool.min_size,
                instance_reuse_policy=AutoscalingGroupWarmPoolInstanceReusePolicy(
                    reuse_on_scale_in=spec.WARM_POOL_REUSE_ON_SCALE_IN
                ),
            )
        self.group = AutoscalingGroup(
            self,
            "group",
            name=self.group_name,
            min_size=spec.GROUP_SIZE,
            max_size=spec.GROUP_SIZE,
            desired_capacity=spec.GROUP_SIZE,
            vpc_zone_identifier=props.private_subnet_ids,
            health_check_type=spec.HEALTH_CHECK_TYPE,
            health_check_grace_period=scaling.health_check_grace_period_seconds,
            default_instance_warmup=scaling.default_instance_warmup_seconds,
            target_group_arns=[props.target_group_arn],
            launch_template=AutoscalingGroupLaunchTemplate(
                id=self.launch_template.id, version=Token.as_string(self.launch_template.latest_version)
            ),
            instance_refresh=AutoscalingGroupInstanceRefresh(
                strategy=spec.REFRESH_STRATEGY,
                preferences=AutoscalingGroupInstanceRefreshPreferences(
                    **spec.refresh_preferences(scaling.default_instance_warmup_seconds)
                ),
            ),
            warm_pool=warm_pool,
            # Health replacements too: terminate and launch together, never more than one in service.
            instance_maintenance_policy=AutoscalingGroupInstanceMaintenancePolicy(**spec.MAINTENANCE_POLICY),
            initial_lifecycle_hook=[
                AutoscalingGroupInitialLifecycleHook(
                    name=self.lifecycle_hook_name,
                    lifecycle_transition=TERMINATING,
                    heartbeat_timeout=hook.heartbeat_timeout_seconds,
                    default_result=hook.default_result,
                )
            ],
            enabled_metrics=list(spec.ENABLED_METRICS),
            metrics_granularity=spec.METRICS_GRANULARITY,
            tag=[
                AutoscalingGroupTag(key=key, value=value, propagate_at_launch=True)
                for key, value in sorted(resource_tags.items())
            ],
            lifecycle=TerraformResourceLifecycle(precondition=props.preconditions) if props.preconditions else None,
        )
