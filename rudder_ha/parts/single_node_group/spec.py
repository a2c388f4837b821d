"""Names and settings of the single-node data plane (security group, launch template, autoscaling group of
one, or of two with a hot standby), shared by the cdktf construct (:mod:`rudder_ha.parts.single_node_group.cdktf`)
and the Pulumi component (:mod:`rudder_ha.parts.single_node_group.pulumi`): one data-plane instance serving at a
time, replaced automatically when it fails.

- Launch template: private subnets, no public IP, no SSH key, IMDSv2 only (hop limit 1, so only the
  host's processes reach the metadata service), encrypted gp3 root volume, detailed monitoring.
- Security group: the gateway port from the ALB's security group only.
- Autoscaling group: min = max = desired = 1 over every private subnet, ELB health checks, an
  instance refresh that terminates before it launches (never two data planes at once), an optional
  warm pool, and a terminating lifecycle hook that the drain pipeline completes.
- ``autoscaling.failover.mode: hot_standby`` (rds mode): min = max = desired = 2, which the group spreads
  over two AZs. Only the jobsdb lease holder runs rudder-server; the standby fails the ALB's /health by
  design, so the group uses EC2 health checks (status checks, state) instead of the ALB's, and the holder's
  fence agent reports its own instance unhealthy when its backend fails (an inline policy on the instance
  role allows ``autoscaling:SetInstanceHealth`` on this group only). Refreshes and health replacements
  replace one instance at a time.

The dictionaries hold keyword arguments whose snake_case names are the same in the cdktf structs and the
Pulumi ``Args`` classes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rudder_ha.common.policies import policy_json
from rudder_ha.common.refs import Ref
from rudder_ha.config.model import GATEWAY_PORT, AutoscalingSettings, InstanceSettings, LifecycleHookSettings
from rudder_ha.parts import Part

PART = Part("single_node_group", "SingleNodeGroup")
"""Renderers: :class:`rudder_ha.parts.single_node_group.cdktf.SingleNodeGroup` and its Pulumi twin."""

TERMINATING = "autoscaling:EC2_INSTANCE_TERMINATING"
ROOT_DEVICE = "/dev/xvda"  # Amazon Linux 2023's root device name

LAUNCH_TEMPLATE_DESCRIPTION = "rudder-server backend and rudder-transformer on one instance"
INGRESS_DESCRIPTION = "gateway and /health from the ALB only"
EGRESS_DESCRIPTION = "destinations on any port, the control plane, image registries, AWS APIs"
EGRESS_CIDR = "0.0.0.0/0"

TAGGED_RESOURCE_TYPES = ("instance", "volume", "network-interface")
"""What the launch template tags at launch."""

METADATA_OPTIONS: dict[str, Any] = {
    "http_endpoint": "enabled",
    "http_tokens": "required",  # IMDSv2 only
    "http_put_response_hop_limit": 1,  # only the host's processes reach the metadata service
    "instance_metadata_tags": "enabled",
}

NETWORK_INTERFACE: dict[str, Any] = {
    "device_index": 0,
    "associate_public_ip_address": "false",
    "delete_on_termination": "true",
}
"""The primary interface, without its security groups."""

GROUP_SIZE = 1
"""min = max = desired: one data plane at a time (``replace``; a hot standby makes it two)."""
HEALTH_CHECK_TYPE = "ELB"
HOT_STANDBY_HEALTH_CHECK_TYPE = "EC2"
"""The standby fails the ALB's /health until it holds the lease: ELB health checks would replace it."""
REFRESH_STRATEGY = "Rolling"
MAINTENANCE_POLICY: dict[str, int] = {"min_healthy_percentage": 0, "max_healthy_percentage": 100}
"""Health replacements too: terminate and launch together, never more than one in service."""
HOT_STANDBY_MIN_HEALTHY_PERCENTAGE = 50
"""Of two instances, one at a time is replaced: the other holds (or takes) the lease meanwhile."""
REPORT_HEALTH_POLICY_NAME = "report-own-health"

WARM_POOL_REUSE_ON_SCALE_IN = False
"""A warm instance returned on scale-in would carry the old instance's state: always a fresh one."""

ENABLED_METRICS = (
    "GroupDesiredCapacity",
    "GroupInServiceInstances",
    "GroupPendingInstances",
    "GroupTerminatingInstances",
    "GroupTotalInstances",
    "WarmPoolWarmedCapacity",
)
METRICS_GRANULARITY = "1Minute"


@dataclass(frozen=True)
class SingleNodeGroupProps:
    """Props of ``SingleNodeGroup`` (the cdktf construct and the Pulumi component alike)."""

    name_prefix: str
    vpc_id: Ref
    private_subnet_ids: Sequence[Ref]
    alb_security_group_id: Ref
    target_group_arn: Ref
    instance_profile_arn: Ref
    user_data_base64: Ref
    instance: InstanceSettings
    autoscaling: AutoscalingSettings
    propagated_tags: dict[str, str]
    """Tags every instance and volume carries (provider default tags do not reach ASG-launched instances)."""
    preconditions: Sequence[Any] = field(default_factory=list)
    """Checks the group must pass before it is created: Terraform ``Precondition`` s in cdktf (set on the group's
    lifecycle), Outputs in Pulumi (the group's subnets resolve only once every one has; a failing one fails
    the group). E.g. the network's zone check, which fails when the private subnets span fewer than two zones."""
    depends_on: Sequence[Any] = field(default_factory=list)
    """Resources the group waits for, e.g. the instance bundle object the first boot fetches."""
    launch_template_depends_on: Sequence[Any] = field(default_factory=list)
    """Resources the launch template and the group both wait for, e.g. the first baked image whose SSM
    parameter the template's ``resolve:ssm:`` image id names."""


def data_plane_name(name_prefix: str) -> str:
    """Name of the security group, the launch template, the group and the instances."""
    return f"{name_prefix}-data-plane"


def lifecycle_hook_name(name_prefix: str) -> str:
    """The terminating lifecycle hook the drain pipeline completes."""
    return f"{name_prefix}-drain"


def security_group_description(name_prefix: str) -> str:
    """The data-plane security group's description."""
    return f"{name_prefix} data-plane instances"


def resource_tags(name_prefix: str, propagated_tags: dict[str, str]) -> dict[str, str]:
    """Tags of every instance, volume and interface (provider default tags do not reach them), plus ``Name``."""
    return {**propagated_tags, "Name": data_plane_name(name_prefix)}


def root_volume(inst: InstanceSettings) -> dict[str, Any]:
    """The encrypted gp3 root volume's EBS settings."""
    return {
        "volume_type": "gp3",
        "volume_size": inst.root_volume_size_gib,
        "iops": inst.root_volume_iops,
        "throughput": inst.root_volume_throughput_mibps,
        "encrypted": "true",
        "kms_key_id": inst.ebs_kms_key_arn,
        "delete_on_termination": "true",
    }


def maintenance_policy(scaling: AutoscalingSettings) -> dict[str, int]:
    """Health replacements: :data:`MAINTENANCE_POLICY`, or one of two at a time with a hot standby."""
    if scaling.failover.hot_standby:
        return {"min_healthy_percentage": HOT_STANDBY_MIN_HEALTHY_PERCENTAGE, "max_healthy_percentage": 100}
    return dict(MAINTENANCE_POLICY)


def refresh_preferences(default_instance_warmup_seconds: int, *, hot_standby: bool = False) -> dict[str, Any]:
    """Instance refresh that terminates before it launches (never two data planes at once); with a hot
    standby, one instance at a time."""
    return {
        "min_healthy_percentage": HOT_STANDBY_MIN_HEALTHY_PERCENTAGE if hot_standby else 0,
        "max_healthy_percentage": 100,
        "skip_matching": True,
        "instance_warmup": str(default_instance_warmup_seconds),
    }


def security_group_args(name_prefix: str, vpc_id: Ref) -> dict[str, Any]:
    """The data-plane security group."""
    return {
        "name": data_plane_name(name_prefix),
        "description": security_group_description(name_prefix),
        "vpc_id": vpc_id,
        "tags": {"Name": data_plane_name(name_prefix)},
    }


def ingress_rule_args(security_group_id: Ref, alb_security_group_id: Ref) -> dict[str, Any]:
    """The gateway port from the ALB's security group only."""
    return {
        "security_group_id": security_group_id,
        "referenced_security_group_id": alb_security_group_id,
        "ip_protocol": "tcp",
        "from_port": GATEWAY_PORT,
        "to_port": GATEWAY_PORT,
        "description": INGRESS_DESCRIPTION,
    }


def egress_rule_args(security_group_id: Ref) -> dict[str, Any]:
    """Any destination on any port."""
    return {
        "security_group_id": security_group_id,
        "cidr_ipv4": EGRESS_CIDR,
        "ip_protocol": "-1",
        "description": EGRESS_DESCRIPTION,
    }


def launch_template_args(name_prefix: str, inst: InstanceSettings, user_data_base64: Ref) -> dict[str, Any]:
    """The launch template's top-level settings (its nested blocks come from the constants above)."""
    return {
        "name": data_plane_name(name_prefix),
        "description": LAUNCH_TEMPLATE_DESCRIPTION,
        "image_id": inst.ami,
        "instance_type": inst.instance_type,
        "ebs_optimized": "true",
        "update_default_version": True,
        "user_data": user_data_base64,
    }


def group_args(name_prefix: str, scaling: AutoscalingSettings, target_group_arn: Ref) -> dict[str, Any]:
    """The autoscaling group's top-level settings: one instance and ELB health checks (two and EC2 health
    checks with a hot standby), metrics every minute (its subnets, launch template and nested blocks are
    passed by each front end)."""
    size = scaling.failover.group_size
    return {
        "name": data_plane_name(name_prefix),
        "min_size": size,
        "max_size": size,
        "desired_capacity": size,
        "health_check_type": HOT_STANDBY_HEALTH_CHECK_TYPE if scaling.failover.hot_standby else HEALTH_CHECK_TYPE,
        "health_check_grace_period": scaling.health_check_grace_period_seconds,
        "default_instance_warmup": scaling.default_instance_warmup_seconds,
        "target_group_arns": [target_group_arn],
        "enabled_metrics": list(ENABLED_METRICS),
        "metrics_granularity": METRICS_GRANULARITY,
    }


def warm_pool_args(scaling: AutoscalingSettings) -> dict[str, Any] | None:
    """The warm pool's settings apart from its reuse policy (:data:`WARM_POOL_REUSE_ON_SCALE_IN`); None
    when disabled."""
    if not scaling.warm_pool.enabled:
        return None
    return {"pool_state": scaling.warm_pool.pool_state, "min_size": scaling.warm_pool.min_size}


def lifecycle_hook_args(name_prefix: str, hook: LifecycleHookSettings) -> dict[str, Any]:
    """The terminating lifecycle hook that the drain pipeline completes."""
    return {
        "name": lifecycle_hook_name(name_prefix),
        "lifecycle_transition": TERMINATING,
        "heartbeat_timeout": hook.heartbeat_timeout_seconds,
        "default_result": hook.default_result,
    }


def group_tags(resource_tags: dict[str, str]) -> list[dict[str, Any]]:
    """The group's tags, sorted by key, each propagated to the instances it launches."""
    return [{"key": key, "value": value, "propagate_at_launch": True} for key, value in sorted(resource_tags.items())]


def report_health_policy(group_arn: str) -> str:
    """hot standby: the instance role's inline policy letting an instance report itself unhealthy to its own
    group (``rudder-jobsdb-fence hold --unhealthy-command``), so the group replaces it (JSON)."""
    return policy_json(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ReportOwnHealth",
                    "Effect": "Allow",
                    "Action": "autoscaling:SetInstanceHealth",
                    "Resource": group_arn,
                }
            ],
        }
    )
