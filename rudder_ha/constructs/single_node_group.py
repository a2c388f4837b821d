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

TERMINATING = "autoscaling:EC2_INSTANCE_TERMINATING"
ROOT_DEVICE = "/dev/xvda"  # Amazon Linux 2023's root device name


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
            name=f"{name}-data-plane",
            description=f"{name} data-plane instances",
            vpc_id=props.vpc_id,
            tags={"Name": f"{name}-data-plane"},
        )
        VpcSecurityGroupIngressRule(
            self,
            "ingress_gateway",
            security_group_id=self.security_group.id,
            referenced_security_group_id=props.alb_security_group_id,
            ip_protocol="tcp",
            from_port=GATEWAY_PORT,
            to_port=GATEWAY_PORT,
            description="gateway and /health from the ALB only",
        )
        VpcSecurityGroupEgressRule(
            self,
            "egress_all",
            security_group_id=self.security_group.id,
            cidr_ipv4="0.0.0.0/0",
            ip_protocol="-1",
            description="destinations on any port, the control plane, image registries, AWS APIs",
        )
        inst = props.instance
        resource_tags = {**props.propagated_tags, "Name": f"{name}-data-plane"}
        self.launch_template = LaunchTemplate(
            self,
            "launch_template",
            name=f"{name}-data-plane",
            description="rudder-server backend and rudder-transformer on one instance",
            image_id=inst.ami,
            instance_type=inst.instance_type,
            ebs_optimized="true",
            update_default_version=True,
            iam_instance_profile=LaunchTemplateIamInstanceProfile(arn=props.instance_profile_arn),
            network_interfaces=[
                LaunchTemplateNetworkInterfaces(
                    device_index=0,
                    associate_public_ip_address="false",
                    delete_on_termination="true",
                    security_groups=[self.security_group.id],
                )
            ],
            metadata_options=LaunchTemplateMetadataOptions(
                http_endpoint="enabled",
                http_tokens="required",
                http_put_response_hop_limit=1,
                instance_metadata_tags="enabled",
            ),
            block_device_mappings=[
                LaunchTemplateBlockDeviceMappings(
                    device_name=ROOT_DEVICE,
                    ebs=LaunchTemplateBlockDeviceMappingsEbs(
                        volume_type="gp3",
                        volume_size=inst.root_volume_size_gib,
                        iops=inst.root_volume_iops,
                        throughput=inst.root_volume_throughput_mibps,
                        encrypted="true",
                        kms_key_id=inst.ebs_kms_key_arn,
                        delete_on_termination="true",
                    ),
                )
            ],
            monitoring=LaunchTemplateMonitoring(enabled=True),
            user_data=props.user_data_base64,
            tag_specifications=[
                LaunchTemplateTagSpecifications(resource_type=kind, tags=resource_tags)
                for kind in ("instance", "volume", "network-interface")
            ],
        )
        scaling = props.autoscaling
        hook = scaling.lifecycle_hook
        self.lifecycle_hook_name = f"{name}-drain"
        self.group_name = f"{name}-data-plane"
        warm_pool = None
        if scaling.warm_pool.enabled:
            warm_pool = AutoscalingGroupWarmPool(
                pool_state=scaling.warm_pool.pool_state,
                min_size=scaling.warm_pool.min_size,
                instance_reuse_policy=AutoscalingGroupWarmPoolInstanceReusePolicy(reuse_on_scale_in=False),
            )
        self.group = AutoscalingGroup(
            self,
            "group",
            name=self.group_name,
            min_size=1,
            max_size=1,
            desired_capacity=1,
            vpc_zone_identifier=props.private_subnet_ids,
            health_check_type="ELB",
            health_check_grace_period=scaling.health_check_grace_period_seconds,
            default_instance_warmup=scaling.default_instance_warmup_seconds,
            target_group_arns=[props.target_group_arn],
            launch_template=AutoscalingGroupLaunchTemplate(
                id=self.launch_template.id, version=Token.as_string(self.launch_template.latest_version)
            ),
            instance_refresh=AutoscalingGroupInstanceRefresh(
                strategy="Rolling",
                preferences=AutoscalingGroupInstanceRefreshPreferences(
                    min_healthy_percentage=0,
                    max_healthy_percentage=100,
                    skip_matching=True,
                    instance_warmup=str(scaling.default_instance_warmup_seconds),
                ),
            ),
            warm_pool=warm_pool,
            # Health replacements too: terminate and launch together, never more than one in service.
            instance_maintenance_policy=AutoscalingGroupInstanceMaintenancePolicy(
                min_healthy_percentage=0, max_healthy_percentage=100
            ),
            initial_lifecycle_hook=[
                AutoscalingGroupInitialLifecycleHook(
                    name=self.lifecycle_hook_name,
                    lifecycle_transition=TERMINATING,
                    heartbeat_timeout=hook.heartbeat_timeout_seconds,
                    default_result=hook.default_result,
                )
            ],
            enabled_metrics=[
                "GroupDesiredCapacity",
                "GroupInServiceInstances",
                "GroupPendingInstances",
                "GroupTerminatingInstances",
                "GroupTotalInstances",
                "WarmPoolWarmedCapacity",
            ],
            metrics_granularity="1Minute",
            tag=[
                AutoscalingGroupTag(key=key, value=value, propagate_at_launch=True)
                for key, value in sorted(resource_tags.items())
            ],
            lifecycle=TerraformResourceLifecycle(precondition=props.preconditions) if props.preconditions else None,
        )
