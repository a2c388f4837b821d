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

from rudder_ha.config.model import GATEWAY_PORT, HealthCheckSettings, LoadBalancerSettings
from rudder_ha.constructs.access_log_bucket import AccessLogBucket, AccessLogBucketProps
from rudder_ha.specs import load_balancer as spec


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
            name=spec.security_group_name(name),
            description=spec.security_group_description(name),
            vpc_id=props.vpc_id,
            tags={"Name": spec.security_group_name(name)},
        )
        for rule in spec.ingress_rules(s):
            VpcSecurityGroupIngressRule(
                self,
                rule.id,
                security_group_id=self.security_group.id,
                cidr_ipv4=rule.cidr_ipv4,
                ip_protocol="tcp",
                from_port=rule.port,
                to_port=rule.port,
                description=rule.description,
            )
        self.alb = Lb(
            self,
            "alb",
            name=name,
            subnets=props.public_subnet_ids,
            security_groups=[self.security_group.id],
            **spec.alb_settings(s),
            access_logs=LbAccessLogs(bucket=self.logs.bucket.id, prefix=self.logs.log_prefix, enabled=True),
            depends_on=[self.logs],
        )
        hc = props.health_check
        self.target_group = LbTargetGroup(
            self,
            "gateway",
            vpc_id=props.vpc_id,
            deregistration_delay=str(hc.deregistration_delay_seconds),
            health_check=LbTargetGroupHealthCheck(**spec.health_check(hc)),
            **spec.target_group_settings(name),
        )
        forward = [LbListenerDefaultAction(type="forward", target_group_arn=self.target_group.arn)]
        if s.http_only:
            self.listener = LbListener(
                self,
                "http",
                load_balancer_arn=self.alb.arn,
                port=spec.HTTP_PORT,
                protocol="HTTP",
                default_action=forward,
            )
        else:
            self.listener = LbListener(
                self,
                "https",
                load_balancer_arn=self.alb.arn,
                port=spec.HTTPS_PORT,
                protocol="HTTPS",
                ssl_policy=s.ssl_policy,
                certificate_arn=s.certificate_arn,
                default_action=forward,
            )
            LbListener(
                self,
                "http_redirect",
                load_balancer_arn=self.alb.arn,
                port=spec.HTTP_PORT,
                protocol="HTTP",
                default_action=[
                    LbListenerDefaultAction(
                        type="redirect", redirect=LbListenerDefaultActionRedirect(**spec.REDIRECT_TO_HTTPS)
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
            description=spec.EGRESS_DESCRIPTION,
        )

    @property
    def endpoint_url(self) -> str:
        """The URL SDKs send events to."""
        return spec.endpoint_url(self._http_only, self._domain or self.alb.dns_name)
