"""The single-node HA data plane: a launch template and an autoscaling group of exactly one (Pulumi
counterpart of :mod:`rudder_ha.parts.single_node_group.cdktf`; names and settings from
:mod:`rudder_ha.parts.single_node_group.spec`)."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from rudder_ha.parts.instance_role.spec import role_name
from rudder_ha.parts.single_node_group import spec
from rudder_ha.parts.single_node_group.spec import ROOT_DEVICE, TERMINATING, SingleNodeGroupProps

__all__ = ["ROOT_DEVICE", "TERMINATING", "SingleNodeGroup", "SingleNodeGroupProps"]


class SingleNodeGroup(pulumi.ComponentResource):
    """One data-plane instance at a time, replaced automatically when the ALB finds it unhealthy.

    What it builds and why: :mod:`rudder_ha.parts.single_node_group.spec`.

    Attributes: ``security_group``, ``launch_template``, ``group``, ``group_name``, ``lifecycle_hook_name``,
    ``report_health_policy`` (None unless hot standby).
    """

    def __init__(self, name: str, props: SingleNodeGroupProps, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("rudder-ha:single_node_group:SingleNodeGroup", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        prefix = props.name_prefix
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-sg", **spec.security_group_args(prefix, props.vpc_id), opts=child
        )
        sg_id = self.security_group.id
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-ingress_gateway", **spec.ingress_rule_args(sg_id, props.alb_security_group_id), opts=child
        )
        aws.vpc.SecurityGroupEgressRule(f"{name}-egress_all", **spec.egress_rule_args(sg_id), opts=child)
        inst = props.instance
        resource_tags = spec.resource_tags(prefix, props.propagated_tags)
        launch_opts = pulumi.ResourceOptions(parent=self, depends_on=list(props.launch_template_depends_on))
        self.launch_template = aws.ec2.LaunchTemplate(
            f"{name}-launch_template",
            **spec.launch_template_args(prefix, inst, props.user_data_base64),
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
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=resource_tags)
                for kind in spec.TAGGED_RESOURCE_TYPES
            ],
            opts=launch_opts,
        )
        scaling = props.autoscaling
        self.lifecycle_hook_name = spec.lifecycle_hook_name(prefix)
        self.group_name = spec.data_plane_name(prefix)
        warm_pool_args = spec.warm_pool_args(scaling)
        warm_pool = None
        if warm_pool_args is not None:
            warm_pool = aws.autoscaling.GroupWarmPoolArgs(
                **warm_pool_args,
                instance_reuse_policy=aws.autoscaling.GroupWarmPoolInstanceReusePolicyArgs(
                    reuse_on_scale_in=spec.WARM_POOL_REUSE_ON_SCALE_IN
                ),
            )
        checks = list(props.preconditions)
        # The subnets reach the group only once every check has resolved: a failing check fails the group.
        subnets = (
            pulumi.Output.all(props.private_subnet_ids, *checks).apply(lambda values: list(values[0]))
            if checks
            else props.private_subnet_ids
        )
        self.group = aws.autoscaling.Group(
            f"{name}-group",
            **spec.group_args(prefix, scaling, props.target_group_arn),
            vpc_zone_identifiers=subnets,
            launch_template=aws.autoscaling.GroupLaunchTemplateArgs(
                id=self.launch_template.id,
                version=self.launch_template.latest_version.apply(lambda v: None if v is None else str(v)),
            ),
            instance_refresh=aws.autoscaling.GroupInstanceRefreshArgs(
                strategy=spec.REFRESH_STRATEGY,
                preferences=aws.autoscaling.GroupInstanceRefreshPreferencesArgs(
                    **spec.refresh_preferences(
                        scaling.default_instance_warmup_seconds, hot_standby=scaling.failover.hot_standby
                    )
                ),
            ),
            warm_pool=warm_pool,
            # Health replacements too: terminate and launch together, never more than one in service.
            instance_maintenance_policy=aws.autoscaling.GroupInstanceMaintenancePolicyArgs(
                **spec.maintenance_policy(scaling)
            ),
            initial_lifecycle_hooks=[
                aws.autoscaling.GroupInitialLifecycleHookArgs(
                    **spec.lifecycle_hook_args(prefix, scaling.lifecycle_hook)
                )
            ],
            tags=[aws.autoscaling.GroupTagArgs(**tag) for tag in spec.group_tags(resource_tags)],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*props.depends_on, *props.launch_template_depends_on]),
        )
        self.report_health_policy = None
        if scaling.failover.hot_standby:
            self.report_health_policy = aws.iam.RolePolicy(
                f"{name}-report_health",
                name=spec.REPORT_HEALTH_POLICY_NAME,
                role=role_name(prefix),
                policy=self.group.arn.apply(spec.report_health_policy),
                opts=child,
            )
        self.register_outputs(
            {
                "group_name": self.group.name,
                "launch_template_id": self.launch_template.id,
                "security_group_id": self.security_group.id,
                "lifecycle_hook_name": self.lifecycle_hook_name,
            }
        )
