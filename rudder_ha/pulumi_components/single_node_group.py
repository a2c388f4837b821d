"""The single-node HA data plane: a launch template and an autoscaling group of exactly one (Pulumi
counterpart of :mod:`rudder_ha.constructs.single_node_group`; names and settings from
:mod:`rudder_ha.specs.single_node_group`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from rudder_ha.config.model import GATEWAY_PORT, AutoscalingSettings, InstanceSettings
from rudder_ha.specs import single_node_group as spec
from rudder_ha.specs.single_node_group import ROOT_DEVICE, TERMINATING

__all__ = ["ROOT_DEVICE", "TERMINATING", "SingleNodeGroup", "SingleNodeGroupProps"]


@dataclass(frozen=True)
class SingleNodeGroupProps:
    """Props of :class:`SingleNodeGroup`."""

    name_prefix: str
    vpc_id: pulumi.Input[str]
    private_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    alb_security_group_id: pulumi.Input[str]
    target_group_arn: pulumi.Input[str]
    instance_profile_arn: pulumi.Input[str]
    user_data_base64: pulumi.Input[str]
    instance: InstanceSettings
    autoscaling: AutoscalingSettings
    propagated_tags: dict[str, str]
    """Tags every instance and volume carries (provider default tags do not reach ASG-launched instances)."""
    preconditions: list[Any] = field(default_factory=list)
    """What the group must wait for: resources (e.g. the instance bundle object) become ``depends_on``;
    Outputs (e.g. the network's zone check, which fails when the private subnets span fewer than two
    zones) must resolve before the group is created, and an Output that fails fails the group."""
    launch_template_depends_on: list[pulumi.Resource] = field(default_factory=list)
    """What the launch template and the group both wait for, e.g. the first baked image whose SSM
    parameter the template's ``resolve:ssm:`` image id names (cdktf sets this as ``depends_on`` in the stack)."""


class SingleNodeGroup(pulumi.ComponentResource):
    """One data-plane instance at a time, replaced automatically when the ALB finds it unhealthy.

    - Launch template: private subnets, no public IP, no SSH key, IMDSv2 only (hop limit 1, so only the
      host's processes reach the metadata service), encrypted gp3 root volume, detailed monitoring.
    - Security group: the gateway port from the ALB's security group only.
    - Autoscaling group: min = max = desired = 1 over every private subnet, ELB health checks, an
      instance refresh that terminates before it launches (never two data planes at once), an optional
      warm pool, and a terminating lifecycle hook that the drain pipeline completes.

    Attributes: ``security_group``, ``launch_template``, ``group``, ``group_name``, ``lifecycle_hook_name``.
    """

    def __init__(self, name: str, props: SingleNodeGroupProps, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("rudder-ha:single_node_group:SingleNodeGroup", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        prefix = props.name_prefix
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            name=spec.data_plane_name(prefix),
            description=spec.security_group_description(prefix),
            vpc_id=props.vpc_id,
            tags={"Name": spec.data_plane_name(prefix)},
            opts=child,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-ingress_gateway",
            security_group_id=self.security_group.id,
            referenced_security_group_id=props.alb_security_group_id,
            ip_protocol="tcp",
            from_port=GATEWAY_PORT,
            to_port=GATEWAY_PORT,
            description=spec.INGRESS_DESCRIPTION,
            opts=child,
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-egress_all",
            security_group_id=self.security_group.id,
            cidr_ipv4=spec.EGRESS_CIDR,
            ip_protocol="-1",
            description=spec.EGRESS_DESCRIPTION,
            opts=child,
        )
        inst = props.instance
        resource_tags = spec.resource_tags(prefix, props.propagated_tags)
        launch_opts = pulumi.ResourceOptions(parent=self, depends_on=list(props.launch_template_depends_on))
        self.launch_template = aws.ec2.LaunchTemplate(
            f"{name}-launch_template",
            name=spec.data_plane_name(prefix),
            description=spec.LAUNCH_TEMPLATE_DESCRIPTION,
            image_id=inst.ami,
            instance_type=inst.instance_type,
            ebs_optimized="true",
            update_default_version=True,
            iam_instance_profile=aws.ec2.LaunchTemplateIamInstanceProfileArgs(arn=props.instance_profile_arn),
            network_interfaces=[
                aws.ec2.LaunchTemplateNetworkInterfaceArgs(
                    **spec.NETWORK_INTERFACE, security_groups=[self.security_group.id]
                )
            ],
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(**spec.METADATA_OPTIONS),
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name=ROOT_DEVICE,
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(**spec.root_volume(inst)),
                )
            ],
            monitoring=aws.ec2.LaunchTemplateMonitoringArgs(enabled=True),
            user_data=props.user_data_base64,
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=resource_tags)
                for kind in spec.TAGGED_RESOURCE_TYPES
            ],
            opts=launch_opts,
        )
        scaling = props.autoscaling
        hook = scaling.lifecycle_hook
        self.lifecycle_hook_name = spec.lifecycle_hook_name(prefix)
        self.group_name = spec.data_plane_name(prefix)
        warm_pool = None
        if scaling.warm_pool.enabled:
            warm_pool = aws.autoscaling.GroupWarmPoolArgs(
                pool_state=scaling.warm_pool.pool_state,
                min_size=scaling.warm_pool.min_size,
                instance_reuse_policy=aws.autoscaling.GroupWarmPoolInstanceReusePolicyArgs(
                    reuse_on_scale_in=spec.WARM_POOL_REUSE_ON_SCALE_IN
                ),
            )
        resources = [p for p in props.preconditions if isinstance(p, pulumi.Resource)]
        checks = [p for p in props.preconditions if not isinstance(p, pulumi.Resource)]
        # The subnets reach the group only once every check has resolved: a failing check fails the group.
        subnets = (
            pulumi.Output.all(props.private_subnet_ids, *checks).apply(lambda values: list(values[0]))
            if checks
            else props.private_subnet_ids
        )
        self.group = aws.autoscaling.Group(
            f"{name}-group",
            name=self.group_name,
            min_size=spec.GROUP_SIZE,
            max_size=spec.GROUP_SIZE,
            desired_capacity=spec.GROUP_SIZE,
            vpc_zone_identifiers=subnets,
            health_check_type=spec.HEALTH_CHECK_TYPE,
            health_check_grace_period=scaling.health_check_grace_period_seconds,
            default_instance_warmup=scaling.default_instance_warmup_seconds,
            target_group_arns=[props.target_group_arn],
            launch_template=aws.autoscaling.GroupLaunchTemplateArgs(
                id=self.launch_template.id,
                version=self.launch_template.latest_version.apply(lambda v: None if v is None else str(v)),
            ),
            instance_refresh=aws.autoscaling.GroupInstanceRefreshArgs(
                strategy=spec.REFRESH_STRATEGY,
                preferences=aws.autoscaling.GroupInstanceRefreshPreferencesArgs(
                    **spec.refresh_preferences(scaling.default_instance_warmup_seconds)
                ),
            ),
            warm_pool=warm_pool,
            # Health replacements too: terminate and launch together, never more than one in service.
            instance_maintenance_policy=aws.autoscaling.GroupInstanceMaintenancePolicyArgs(**spec.MAINTENANCE_POLICY),
            initial_lifecycle_hooks=[
                aws.autoscaling.GroupInitialLifecycleHookArgs(
                    name=self.lifecycle_hook_name,
                    lifecycle_transition=TERMINATING,
                    heartbeat_timeout=hook.heartbeat_timeout_seconds,
                    default_result=hook.default_result,
                )
            ],
            enabled_metrics=list(spec.ENABLED_METRICS),
            metrics_granularity=spec.METRICS_GRANULARITY,
            tags=[
                aws.autoscaling.GroupTagArgs(key=key, value=value, propagate_at_launch=True)
                for key, value in sorted(resource_tags.items())
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*resources, *props.launch_template_depends_on]),
        )
        self.register_outputs(
            {
                "group_name": self.group.name,
                "launch_template_id": self.launch_template.id,
                "security_group_id": self.security_group.id,
                "lifecycle_hook_name": self.lifecycle_hook_name,
            }
        )
