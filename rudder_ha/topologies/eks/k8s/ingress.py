"""The public entry: an Ingress the AWS Load Balancer Controller turns into an ALB.

HTTPS only (the HTTP listener answers with a redirect), a TLS 1.3 policy, pod IPs as targets (so the
ALB health-checks and drains each backend pod itself, not a node port), invalid header fields
dropped, and the same health check as the single-node topology's target group.
"""

from __future__ import annotations

import json

from rudder_ha.config.model import GATEWAY_PORT
from rudder_ha.topologies.eks.k8s.common import BACKEND, GATEWAY_SERVICE, INGRESS_NAME, Manifest, metadata
from rudder_ha.topologies.eks.k8s.settings import IngressSettings, WorkloadSettings

ANNOTATION_PREFIX = "alb.ingress.kubernetes.io/"


def _attributes(pairs: dict[str, str]) -> str:
    """The controller's ``key=value,key=value`` attribute syntax."""
    return ",".join(f"{key}={value}" for key, value in pairs.items())


def load_balancer_attributes(ingress: IngressSettings) -> dict[str, str]:
    """ALB attributes."""
    attributes = {
        "routing.http.drop_invalid_header_fields.enabled": "true",
        "idle_timeout.timeout_seconds": str(ingress.idle_timeout_seconds),
        "deletion_protection.enabled": "true" if ingress.deletion_protection else "false",
    }
    if ingress.access_logs_bucket:
        attributes["access_logs.s3.enabled"] = "true"
        attributes["access_logs.s3.bucket"] = ingress.access_logs_bucket
    return attributes


def annotations(ingress: IngressSettings) -> dict[str, str]:
    """Every ``alb.ingress.kubernetes.io/*`` annotation of the Ingress."""
    values = {
        "scheme": ingress.scheme,
        "target-type": "ip",
        "backend-protocol": "HTTP",
        "ip-address-type": "ipv4",
        "listen-ports": json.dumps([{"HTTP": 80}, {"HTTPS": 443}], separators=(",", ":")),
        "ssl-redirect": "443",
        "certificate-arn": ingress.certificate_arn,
        "ssl-policy": ingress.ssl_policy,
        "inbound-cidrs": ",".join(ingress.ingress_cidrs),
        "healthcheck-protocol": "HTTP",
        "healthcheck-port": "traffic-port",
        "healthcheck-path": ingress.health_check_path,
        "healthcheck-interval-seconds": str(ingress.health_check_interval_seconds),
        "healthcheck-timeout-seconds": str(ingress.health_check_timeout_seconds),
        "healthy-threshold-count": str(ingress.healthy_threshold),
        "unhealthy-threshold-count": str(ingress.unhealthy_threshold),
        "success-codes": "200",
        "load-balancer-attributes": _attributes(load_balancer_attributes(ingress)),
        "target-group-attributes": _attributes(
            {"deregistration_delay.timeout_seconds": str(ingress.deregistration_delay_seconds)}
        ),
    }
    if ingress.load_balancer_name:
        values["load-balancer-name"] = ingress.load_balancer_name
    if ingress.waf_web_acl_arn:
        values["wafv2-acl-arn"] = ingress.waf_web_acl_arn
    return {ANNOTATION_PREFIX + key: value for key, value in values.items()}


def ingress(settings: WorkloadSettings) -> Manifest:
    """The Ingress (class ``alb``) routing everything to the gateway Service."""
    rule: dict = {
        "http": {
            "paths": [
                {
                    "path": "/",
                    "pathType": "Prefix",
                    "backend": {"service": {"name": GATEWAY_SERVICE, "port": {"number": GATEWAY_PORT}}},
                }
            ]
        }
    }
    if settings.ingress.host:
        rule = {"host": settings.ingress.host, **rule}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": metadata(INGRESS_NAME, settings, BACKEND, annotations=annotations(settings.ingress)),
        "spec": {"ingressClassName": "alb", "rules": [rule]},
    }
