"""The public Application Load Balancer in front of the rudder-server gateway."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.lb import Lb, LbAccessLogs
from cdktf_cdktf_provider_aws.lb_listener import (
    LbListener,
    LbListenerDefaultAction,
    LbListenerDefaultActionRedirect,
)
from cdktf_cdktf_provider_aws.lb_target_group import LbTargetGroup, LbTargetGroupHealthCheck
from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.vpc_security_group_egress_rule import VpcSecurityGroupEgressRule
from cdktf_cdktf_provider_aws.vpc_security_group_ingress_rule import VpcSecurityGroupIngressRule
from cdktf_cdktf_provider_aws.wafv2_web_acl_association import Wafv2WebAclAssociation
from constructs import Construct

from rudder_ha.config.model import GATEWAY_PORT, HEALTH_PATH, HealthCheckSettings, LoadBalancerSettings
from rudder_ha.constructs.access_log_bucket import AccessLogBucket, AccessLogBucketProps


@dataclass(frozen=True)
class DataPlaneLoadBalancerProps:
    """Props of :class:`DataPlaneLoadBalancer`."""

    name_prefix: str
    vpc_id: str
    public_subnet_ids: list[str]
    settings: LoadBalancerSettings
    health_check: HealthCheckSettings


class DataPlaneLoadBalancer(Construct):
    """An internet-facing ALB: HTTPS (TLS 1.3 policy) with an HTTP->HTTPS 301, or HTTP only where a dev
    environment asks for it; invalid header fields dropped; access logs to an encrypted bucket; and a
    target group that health-checks ``GET /health`` on the gateway port.

    Call :meth:`allow_to` once the instances' security group exists so the ALB may reach port 8080.
    """

    def __init__(self, scope: Construct, id_: str, props: DataPlaneLoadBalancerProps) -> None:
        super().__init__(scope, id_)
        s = props.settings
        name = props.name_prefix
        self.logs = AccessLogBucket(
            self,
            "access_logs",
            AccessLogBucketProps(name_prefix=name, retention_days=s.access_logs_retention_days),
        )
        self.security_group = SecurityGroup(
            self,
            "sg",
            name=f"{name}-alb",
            description=f"{name} ALB: event intake from clients",
            vpc_id=props.vpc_id,
            tags={"Name": f"{name}-alb"},
        )
        listen_ports = [80] if s.http_only else [443, 80]
        for port in listen_ports:
            for j, cidr in enumerate(s.ingress_cidrs):
                VpcSecurityGroupIngressRule(
                    self,
                    f"ingress_{port}_{j}",
                    security_group_id=self.security_group.id,
                    cidr_ipv4=cidr,
                    ip_protocol="tcp",
                    from_port=port,
                    to_port=port,
                    description=("HTTPS event intake" if port == 443 else "HTTP (redirected to HTTPS)")
                    if not s.http_only
                    else "HTTP event intake (dev only)",
                )
        self.alb = Lb(
            self,
            "alb",
            name=name,
            load_balancer_type="application",
            internal=False,
            subnets=props.public_subnet_ids,
            security_groups=[self.security_group.id],
            drop_invalid_header_fields=True,
            enable_deletion_protection=s.deletion_protection,
            idle_timeout=s.idle_timeout_seconds,
            desync_mitigation_mode="defensive",
            enable_http2=True,
            access_logs=LbAccessLogs(bucket=self.logs.bucket.id, prefix=self.logs.log_prefix, enabled=True),
            depends_on=[self.logs],
        )
        hc = props.health_check
        self.target_group = LbTargetGroup(
            self,
            "gateway",
            name=f"{name}-gw",
            port=GATEWAY_PORT,
            protocol="HTTP",
            target_type="instance",
            vpc_id=props.vpc_id,
            deregistration_delay=str(hc.deregistration_delay_seconds),
            health_check=LbTargetGroupHealthCheck(
                enabled=True,
                path=HEALTH_PATH,
                port="traffic-port",
                protocol="HTTP",
                matcher="200",
                interval=hc.interval_seconds,
                timeout=hc.timeout_seconds,
                healthy_threshold=hc.healthy_threshold,
                unhealthy_threshold=hc.unhealthy_threshold,
            ),
        )
        forward = [LbListenerDefaultAction(type="forward", target_group_arn=self.target_group.arn)]
        if s.http_only:
            self.listener = LbListener(
                self, "http", load_balancer_arn=self.alb.arn, port=80, protocol="HTTP", default_action=forward
            )
        else:
            self.listener = LbListener(
                self,
                "https",
                load_balancer_arn=self.alb.arn,
                port=443,
                protocol="HTTPS",
                ssl_policy=s.ssl_policy,
                certificate_arn=s.certificate_arn,
                default_action=forward,
            )
            LbListener(
                self,
                "http_redirect",
                load_balancer_arn=self.alb.arn,
                port=80,
                protocol="HTTP",
                default_action=[
                    LbListenerDefaultAction(
                        type="redirect",
                        redirect=LbListenerDefaultActionRedirect(protocol="HTTPS", port="443", status_code="HTTP_301"),
                    )
                ],
            )
        if s.waf_web_acl_arn:
            Wafv2WebAclAssociation(self, "waf", resource_arn=self.alb.arn, web_acl_arn=s.waf_web_acl_arn)
        self._http_only = s.http_only
        self._domain = s.domain_name

    def allow_to(self, target_security_group_id: str) -> None:
        """Lets the ALB reach the gateway port on instances in ``target_security_group_id``, and nothing else."""
        VpcSecurityGroupEgressRule(
            self,
            "egress_gateway",
            security_group_id=self.security_group.id,
            referenced_security_group_id=target_security_group_id,
            ip_protocol="tcp",
            from_port=GATEWAY_PORT,
            to_port=GATEWAY_PORT,
            description="to the rudder-server gateway and /health",
        )

    @property
    def endpoint_url(self) -> str:
        """The URL SDKs send events to."""
        scheme = "http" if self._http_only else "https"
        host = self._domain or self.alb.dns_name
        return f"{scheme}://{host}"
