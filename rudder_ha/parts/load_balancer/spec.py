"""The data-plane ALB's names, listeners, security-group rules, target-group health check and endpoint,
shared by :mod:`rudder_ha.parts.load_balancer.cdktf` (cdktf) and :mod:`rudder_ha.parts.load_balancer.pulumi`.

Keyword-argument dicts use the attribute names both front ends share (Terraform's snake_case)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rudder_ha.common.refs import Ref
from rudder_ha.config.model import GATEWAY_PORT, HEALTH_PATH, HealthCheckSettings, LoadBalancerSettings
from rudder_ha.parts import Part

PART = Part("load_balancer", "DataPlaneLoadBalancer")
"""Renderers: :class:`rudder_ha.parts.load_balancer.cdktf.DataPlaneLoadBalancer` and its Pulumi twin."""

HTTPS_PORT = 443
HTTP_PORT = 80
EGRESS_DESCRIPTION = "to the rudder-server gateway and /health"
REDIRECT_TO_HTTPS: dict[str, str] = {"protocol": "HTTPS", "port": str(HTTPS_PORT), "status_code": "HTTP_301"}
"""The HTTP listener's redirect action (every field a string, as the provider schema has them)."""
HTTP_LISTENER: dict[str, Any] = {"port": HTTP_PORT, "protocol": "HTTP"}
"""Keyword arguments of a plain-HTTP listener, besides its load balancer and default action."""
EGRESS_RULE: dict[str, Any] = {
    "ip_protocol": "tcp",
    "from_port": GATEWAY_PORT,
    "to_port": GATEWAY_PORT,
    "description": EGRESS_DESCRIPTION,
}
"""Keyword arguments of the ALB's one egress rule, besides its security groups."""


@dataclass(frozen=True)
class DataPlaneLoadBalancerProps:
    """Props of the ``DataPlaneLoadBalancer`` construct (cdktf) and component (Pulumi)."""

    name_prefix: str
    vpc_id: Ref
    public_subnet_ids: Sequence[Ref]
    settings: LoadBalancerSettings
    health_check: HealthCheckSettings


@dataclass(frozen=True)
class IngressRule:
    """One client ingress rule of the ALB's security group."""

    id: str
    """The cdktf construct id (``ingress_443_0``); Pulumi names the rule ``<load balancer>-<id>``."""
    port: int
    cidr_ipv4: str
    description: str

    @property
    def settings(self) -> dict[str, Any]:
        """Keyword arguments of the rule (the same names in cdktf and Pulumi), besides its security group."""
        return {
            "cidr_ipv4": self.cidr_ipv4,
            "ip_protocol": "tcp",
            "from_port": self.port,
            "to_port": self.port,
            "description": self.description,
        }


def security_group_name(name_prefix: str) -> str:
    """The ALB security group's name (and ``Name`` tag)."""
    return f"{name_prefix}-alb"


def security_group_description(name_prefix: str) -> str:
    """The ALB security group's description."""
    return f"{name_prefix} ALB: event intake from clients"


def security_group_settings(name_prefix: str) -> dict[str, Any]:
    """Keyword arguments of the ALB security group, besides its VPC."""
    name = security_group_name(name_prefix)
    return {"name": name, "description": security_group_description(name_prefix), "tags": {"Name": name}}


def listen_ports(settings: LoadBalancerSettings) -> list[int]:
    """Ports clients reach: HTTPS and HTTP (redirected), or HTTP alone in a dev environment."""
    return [HTTP_PORT] if settings.http_only else [HTTPS_PORT, HTTP_PORT]


def ingress_rules(settings: LoadBalancerSettings) -> list[IngressRule]:
    """One rule per listened port and allowed client CIDR."""
    rules = []
    for port in listen_ports(settings):
        if settings.http_only:
            description = "HTTP event intake (dev only)"
        else:
            description = "HTTPS event intake" if port == HTTPS_PORT else "HTTP (redirected to HTTPS)"
        rules.extend(
            IngressRule(id=f"ingress_{port}_{j}", port=port, cidr_ipv4=cidr, description=description)
            for j, cidr in enumerate(settings.ingress_cidrs)
        )
    return rules


def alb_settings(settings: LoadBalancerSettings) -> dict[str, Any]:
    """The ALB's settings, besides its name, subnets, security groups and access logs."""
    return {
        "load_balancer_type": "application",
        "internal": False,
        "drop_invalid_header_fields": True,
        "enable_deletion_protection": settings.deletion_protection,
        "idle_timeout": settings.idle_timeout_seconds,
        "desync_mitigation_mode": "defensive",
        "enable_http2": True,
    }


def access_logs(bucket_id: Ref, log_prefix: str) -> dict[str, Any]:
    """The ALB's ``access_logs`` block."""
    return {"bucket": bucket_id, "prefix": log_prefix, "enabled": True}


def https_listener_settings(settings: LoadBalancerSettings) -> dict[str, Any]:
    """Keyword arguments of the HTTPS listener, besides its load balancer and default action."""
    return {
        "port": HTTPS_PORT,
        "protocol": "HTTPS",
        "ssl_policy": settings.ssl_policy,
        "certificate_arn": settings.certificate_arn,
    }


def target_group_name(name_prefix: str) -> str:
    """The gateway target group's name."""
    return f"{name_prefix}-gw"


def target_group_settings(name_prefix: str) -> dict[str, Any]:
    """The gateway target group's settings, besides its VPC, deregistration delay and health check."""
    return {
        "name": target_group_name(name_prefix),
        "port": GATEWAY_PORT,
        "protocol": "HTTP",
        "target_type": "instance",
    }


def health_check(settings: HealthCheckSettings) -> dict[str, Any]:
    """The target group's health check: ``GET /health`` on the traffic port, 200 only."""
    return {
        "enabled": True,
        "path": HEALTH_PATH,
        "port": "traffic-port",
        "protocol": "HTTP",
        "matcher": "200",
        "interval": settings.interval_seconds,
        "timeout": settings.timeout_seconds,
        "healthy_threshold": settings.healthy_threshold,
        "unhealthy_threshold": settings.unhealthy_threshold,
    }


def endpoint_url(http_only: bool, host: str) -> str:
    """The URL SDKs send events to, given the ALB's DNS name or the configured domain."""
    return f"{'http' if http_only else 'https'}://{host}"
