"""The deployed resources of one single-node environment, found by the names its stack gives them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from rudder_ha.config.model import HEALTH_PATH, EnvironmentConfig
from rudder_ha.parts.load_balancer import spec as lb_spec
from rudder_ha.parts.single_node_group import spec as group_spec


class DrillRefused(Exception):
    """The drill cannot (or must not) start; the message is the one line to print."""


@dataclass(frozen=True)
class Member:
    """One instance of the group as Auto Scaling describes it."""

    instance_id: str
    lifecycle_state: str
    health_status: str
    availability_zone: str


@dataclass(frozen=True)
class Deployment:
    """Where the drill acts and what it watches."""

    group_name: str
    target_group_arn: str
    load_balancer_dns: str
    health_url: str
    subnet_ids: tuple[str, ...]


def default_health_url(config: EnvironmentConfig, load_balancer_dns: str) -> str:
    """``/health`` through the load balancer: the domain when the file names one, else the ALB's DNS name."""
    host = config.load_balancer.domain_name or load_balancer_dns
    http_only = config.load_balancer.http_only or not config.load_balancer.domain_name
    return lb_spec.endpoint_url(http_only, host) + HEALTH_PATH


def find_deployment(config: EnvironmentConfig, clients: Any, health_url: str | None = None) -> Deployment:
    """Looks the group, target group and load balancer up; raises DrillRefused when one is missing."""
    prefix = config.name_prefix
    group_name = group_spec.data_plane_name(prefix)
    groups = clients("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[group_name])
    if not groups["AutoScalingGroups"]:
        raise DrillRefused(
            f"{config.source}: no Auto Scaling group {group_name} in {config.region}; deploy the environment first"
        )
    group = groups["AutoScalingGroups"][0]
    elbv2 = clients("elbv2")
    tg_name = lb_spec.target_group_name(prefix)
    try:
        tg = elbv2.describe_target_groups(Names=[tg_name])["TargetGroups"][0]
        lb = elbv2.describe_load_balancers(Names=[prefix])["LoadBalancers"][0]
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code not in ("TargetGroupNotFound", "LoadBalancerNotFound"):
            raise
        raise DrillRefused(
            f"{config.source}: load balancer {prefix} or target group {tg_name} not found in {config.region} "
            f"({code}); deploy the environment first"
        ) from None
    subnets = tuple(s for s in str(group.get("VPCZoneIdentifier", "")).split(",") if s)
    return Deployment(
        group_name=group_name,
        target_group_arn=str(tg["TargetGroupArn"]),
        load_balancer_dns=str(lb["DNSName"]),
        health_url=health_url or default_health_url(config, str(lb["DNSName"])),
        subnet_ids=subnets,
    )


def members(clients: Any, group_name: str) -> list[Member]:
    """The group's instances now."""
    groups = clients("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[group_name])
    found = groups["AutoScalingGroups"][0]["Instances"] if groups["AutoScalingGroups"] else []
    return [
        Member(i["InstanceId"], i["LifecycleState"], i.get("HealthStatus", "Healthy"), i.get("AvailabilityZone", ""))
        for i in found
    ]


def target_states(clients: Any, target_group_arn: str) -> dict[str, str]:
    """``instance id -> target state`` (``initial``, ``healthy``, ``unhealthy``, ``draining``, ``unused``)."""
    answer = clients("elbv2").describe_target_health(TargetGroupArn=target_group_arn)
    return {d["Target"]["Id"]: d["TargetHealth"]["State"] for d in answer["TargetHealthDescriptions"]}
