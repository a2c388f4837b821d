"""Names and settings of the single-node data plane (security group, launch template, autoscaling group of
one), shared by the cdktf construct (:mod:`rudder_ha.constructs.single_node_group`) and the Pulumi component
(:mod:`rudder_ha.pulumi_components.single_node_group`).

The dictionaries hold keyword arguments whose snake_case names are the same in the cdktf structs and the
Pulumi ``Args`` classes."""

from __future__ import annotations

from typing import Any

from rudder_ha.config.model import InstanceSettings

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
"""min = max = desired: one data plane at a time."""
HEALTH_CHECK_TYPE = "ELB"
REFRESH_STRATEGY = "Rolling"
MAINTENANCE_POLICY: dict[str, int] = {"min_healthy_percentage": 0, "max_healthy_percentage": 100}
"""Health replacements too: terminate and launch together, never more than one in service."""

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


def refresh_preferences(default_instance_warmup_seconds: int) -> dict[str, Any]:
    """Instance refresh that terminates before it launches (never two data planes at once)."""
    return {
        "min_healthy_percentage": 0,
        "max_healthy_percentage": 100,
        "skip_matching": True,
        "instance_warmup": str(default_instance_warmup_seconds),
    }
