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
"""The HTTP listener's redirect action in dev and staging (every field a string, as the provider schema has them)."""
HTTPS_ONLY_MESSAGE = (
    "HTTPS only: send events to https://. This request crossed the network in clear text; "
    "rotate the write key it carried."
)
FORBIDDEN_OVER_HTTP: dict[str, str] = {
    "content_type": "text/plain",
    "message_body": HTTPS_ONLY_MESSAGE,
    "status_code": "403",
}
"""The HTTP listener's fixed response in prod.

A 301 would not protect anything: by the time the ALB answers, the request, with the source's write key
in its Authorization header, has already crossed the network in clear text, and an SDK that follows the
redirect keeps doing so on every batch without anyone noticing. A 403 makes the misconfigured source fail
loudly on its first batch (SDKs log the status and retry), so the endpoint gets fixed and the key rotated."""
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
    prod: bool = False
    """The environment is of the prod tier: port 80 answers :data:`FORBIDDEN_OVER_HTTP` instead of
    redirecting, and the ALB gets its own web ACL (:func:`web_acl_settings`) unless
    ``settings.waf_web_acl_arn`` names one."""
    log_key_arn: Ref | None = None
    """The KMS key of the web ACL's log group (the environment key); required where :func:`managed_web_acl`."""


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


def redirects_http(settings: LoadBalancerSettings, prod: bool) -> bool:
    """Whether port 80 answers with a redirect to HTTPS (dev and staging) rather than a 403 (prod)."""
    return not settings.http_only and not prod


def http_listener_action(settings: LoadBalancerSettings, prod: bool) -> dict[str, Any]:
    """The default action (``type`` and its block) of the port-80 listener of an HTTPS environment."""
    if redirects_http(settings, prod):
        return {"type": "redirect", "redirect": REDIRECT_TO_HTTPS}
    return {"type": "fixed-response", "fixed_response": FORBIDDEN_OVER_HTTP}


def http_listener_id(settings: LoadBalancerSettings, prod: bool) -> str:
    """The construct id of the port-80 listener of an HTTPS environment (Pulumi: ``<load balancer>-<id>``)."""
    return "http_redirect" if redirects_http(settings, prod) else "http_forbidden"


def ingress_rules(settings: LoadBalancerSettings, prod: bool = False) -> list[IngressRule]:
    """One rule per listened port and allowed client CIDR."""
    rules = []
    for port in listen_ports(settings):
        if settings.http_only:
            description = "HTTP event intake (dev only)"
        elif port == HTTPS_PORT:
            description = "HTTPS event intake"
        else:
            description = "HTTP (redirected to HTTPS)" if redirects_http(settings, prod) else "HTTP (answered 403)"
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


DNS_RECORD_ID = "dns"
"""The construct id of the alias record (Pulumi: ``<load balancer>-dns``)."""


def dns_record(settings: LoadBalancerSettings) -> bool:
    """Whether the part creates the Route 53 alias record (``load_balancer.hosted_zone_id`` is set; the
    configuration rules make sure ``domain_name`` is too)."""
    return bool(settings.hosted_zone_id and settings.domain_name)


def dns_record_settings(settings: LoadBalancerSettings) -> dict[str, Any]:
    """Keyword arguments of the alias record, besides its alias block: an A record (the ALB is IPv4 only, so
    no AAAA) named ``domain_name`` in the configured hosted zone."""
    return {"zone_id": settings.hosted_zone_id, "name": settings.domain_name, "type": "A"}


def dns_alias(alb_dns_name: Ref, alb_zone_id: Ref) -> dict[str, Any]:
    """The record's alias block: the ALB, with ``evaluate_target_health`` (Route 53 treats the record as
    unhealthy while the ALB has no healthy target)."""
    return {"name": alb_dns_name, "zone_id": alb_zone_id, "evaluate_target_health": True}


def endpoint_url(http_only: bool, host: str) -> str:
    """The URL SDKs send events to, given the ALB's DNS name or the configured domain."""
    return f"{'http' if http_only else 'https'}://{host}"


# --- the web ACL of a prod environment ---------------------------------------------------------------------

WAF_RATE_LIMIT_PER_IP = 50_000
"""Requests one client address may send in :data:`WAF_RATE_WINDOW_SECONDS` before WAF blocks it (for as long
as its rate stays above): about 170 requests a second, sustained for five minutes. SDKs batch events (a
browser flushes every few seconds, a server-side SDK every few dozen events), so even a busy backend
behind one NAT address sends a few requests a second; an address far above that is a flood or a client
stuck in a retry loop. The environment file has no setting for it (yet)."""
WAF_RATE_WINDOW_SECONDS = 300
COMMON_RULE_SET = "AWSManagedRulesCommonRuleSet"
KNOWN_BAD_INPUTS_RULE_SET = "AWSManagedRulesKnownBadInputsRuleSet"
BODY_SIZE_RULE = "SizeRestrictions_BODY"
"""The common rule set's rule that matches every request body over 8 KB."""
BODY_RFI_RULE = "GenericRFI_BODY"
"""The common rule set's rule that matches a URL with an IPv4 host anywhere in the body."""
COUNTED_RULES = (BODY_SIZE_RULE, BODY_RFI_RULE)
"""Common rule set rules overridden to count (see :func:`web_acl_rules`)."""
REDACTED_HEADER = "authorization"
"""SDKs send the source's write key in HTTP basic auth: the web ACL's log never records it."""


def managed_web_acl(props: DataPlaneLoadBalancerProps) -> bool:
    """Whether the ALB gets the web ACL of :func:`web_acl_settings`: in prod, unless the environment names its own."""
    return props.prod and not props.settings.waf_web_acl_arn


def web_acl_name(name_prefix: str) -> str:
    """The web ACL's name (and the prefix of its CloudWatch metric names)."""
    return f"{name_prefix}-alb"


def _visibility(metric: str) -> dict[str, Any]:
    return {"cloudwatch_metrics_enabled": True, "metric_name": metric, "sampled_requests_enabled": True}


def _managed_rule_group(name_prefix: str, rule: str, priority: int, group: str, **statement: Any) -> dict[str, Any]:
    """A rule that runs the AWS managed rule group ``group`` with the actions its rules set (``override_action``
    none), but for the overrides in ``statement``."""
    return {
        "name": rule,
        "priority": priority,
        "override_action": {"none": {}},
        "statement": {"managed_rule_group_statement": {"vendor_name": "AWS", "name": group, **statement}},
        "visibility_config": _visibility(f"{web_acl_name(name_prefix)}-{rule}"),
    }


def web_acl_rules(name_prefix: str) -> list[dict[str, Any]]:
    """The web ACL's rules, in priority order (the same dicts for cdktf and Pulumi).

    1. ``rate-limit-per-ip``: blocks an address above :data:`WAF_RATE_LIMIT_PER_IP`.
    2. ``aws-common-rule-set``: AWS's core rule set, whose body rules (cross-site scripting, local and remote
       file inclusion, SSRF to the instance metadata address) read the request body.
    3. ``aws-known-bad-inputs``: request patterns of known exploits (Log4j and Java deserialization in the
       body, exploitable paths), which rudder-server's Go gateway is not vulnerable to but the instance's
       other software might be.

    Body size: an ALB hands WAF only the first 8 KB of a body (a fixed limit for ALBs: the web ACL's
    ``association_config`` raises it for CloudFront, API Gateway, Cognito, App Runner and Verified Access
    only). The managed body rules handle a larger body with oversize handling ``CONTINUE``, set by AWS inside
    the groups: they inspect those first 8 KB and let the request go on if nothing in them matches. The one
    rule that matches on the size itself, ``SizeRestrictions_BODY``, would block every body over 8 KB, which
    is every SDK batch of more than a few dozen events (batches are JSON, up to hundreds of KB); it is
    overridden to ``count``: such requests are labelled and counted, never blocked. The gateway enforces its
    own request size limit (``Gateway.maxReqSizeInKB``) behind the ALB.

    ``GenericRFI_BODY`` counts too: remote file inclusion tricks a server into fetching a URL it finds in the
    request, which rudder-server never does with event content, while URLs are what page events carry
    (``context.page.url``, ``referrer``), an intranet page's with an IPv4 host included. Blocking a batch
    drops every event in it, so a rule that protects nothing here must not block. The other body rules
    (cross-site scripting, which a destination's dashboard could render; file inclusion paths; the instance
    metadata address; Log4j and Java deserialization payloads) block. Counted and blocked requests are in the
    web ACL's log, labelled with the rule, which is where any further tuning starts.
    """
    return [
        {
            "name": "rate-limit-per-ip",
            "priority": 0,
            "action": {"block": {}},
            "statement": {
                "rate_based_statement": {
                    "limit": WAF_RATE_LIMIT_PER_IP,
                    "evaluation_window_sec": WAF_RATE_WINDOW_SECONDS,
                    "aggregate_key_type": "IP",
                }
            },
            "visibility_config": _visibility(f"{web_acl_name(name_prefix)}-rate-limit-per-ip"),
        },
        _managed_rule_group(
            name_prefix,
            "aws-common-rule-set",
            1,
            COMMON_RULE_SET,
            rule_action_override=[{"name": rule, "action_to_use": {"count": {}}} for rule in COUNTED_RULES],
        ),
        _managed_rule_group(name_prefix, "aws-known-bad-inputs", 2, KNOWN_BAD_INPUTS_RULE_SET),
    ]


def web_acl_settings(name_prefix: str) -> dict[str, Any]:
    """Keyword arguments of the web ACL: regional (an ALB's), allow what no rule blocks, and its rules."""
    name = web_acl_name(name_prefix)
    return {
        "name": name,
        "description": f"{name_prefix} ALB: rate limit per client address, AWS common rules and known bad inputs",
        "scope": "REGIONAL",
        "default_action": {"allow": {}},
        "rule": web_acl_rules(name_prefix),
        "visibility_config": _visibility(name),
    }


def web_acl_log_group_name(name_prefix: str) -> str:
    """The web ACL's log group: WAF delivers only to CloudWatch log groups named ``aws-waf-logs-*``."""
    return f"aws-waf-logs-{name_prefix}"


def web_acl_log_group_settings(props: DataPlaneLoadBalancerProps) -> dict[str, Any]:
    """Keyword arguments of the web ACL's log group: encrypted with the environment key, kept as long as the
    ALB's access logs."""
    if props.log_key_arn is None:
        raise ValueError(f"{props.name_prefix}: the web ACL's log group needs log_key_arn (the environment key)")
    return {
        "name": web_acl_log_group_name(props.name_prefix),
        "retention_in_days": props.settings.access_logs_retention_days,
        "kms_key_id": props.log_key_arn,
    }


def web_acl_logging_filter() -> dict[str, Any]:
    """Only requests a rule blocked or counted are logged: every accepted event batch would cost log
    ingestion at event volume and tell nothing the ALB's access logs do not."""
    return {
        "default_behavior": "DROP",
        "filter": [
            {
                "behavior": "KEEP",
                "requirement": "MEETS_ANY",
                "condition": [
                    {"action_condition": {"action": "BLOCK"}},
                    {"action_condition": {"action": "COUNT"}},
                ],
            }
        ],
    }


def web_acl_logging_settings() -> dict[str, Any]:
    """Keyword arguments of the web ACL's logging configuration, besides the ACL and the log group."""
    return {
        "logging_filter": web_acl_logging_filter(),
        "redacted_fields": [{"single_header": {"name": REDACTED_HEADER}}],
    }
