"""The public Application Load Balancer in front of the rudder-server gateway (Pulumi counterpart of
:mod:`rudder_ha.parts.load_balancer.cdktf`; settings from :mod:`rudder_ha.parts.load_balancer.spec`)."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from rudder_ha.parts.access_log_bucket.pulumi import AccessLogBucket, AccessLogBucketProps
from rudder_ha.parts.load_balancer import spec
from rudder_ha.parts.load_balancer.spec import DataPlaneLoadBalancerProps

__all__ = ["DataPlaneLoadBalancer", "DataPlaneLoadBalancerProps"]


def _plural_lists(value: Any) -> Any:
    """The spec's Terraform-named blocks under Pulumi's names: pulumi-aws names a repeatable block in the
    plural (``rule`` -> ``rules``, ``filter`` -> ``filters``), a single one as Terraform does."""
    if isinstance(value, dict):
        return {
            (f"{key}s" if isinstance(item, list) and not key.endswith("s") else key): _plural_lists(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_plural_lists(item) for item in value]
    return value


class DataPlaneLoadBalancer(pulumi.ComponentResource):
    """An internet-facing ALB: HTTPS (TLS 1.3 policy) with port 80 answering a 301 to HTTPS (dev, staging) or
    a fixed 403 (prod), or HTTP only where a dev environment asks for it; invalid header fields dropped;
    access logs to an encrypted bucket; a target group that health-checks ``GET /health`` on the gateway
    port; and in prod a web ACL of its own (rate limit, AWS managed rules reading the body, blocked and
    counted requests logged) unless the environment names one (``load_balancer.waf_web_acl_arn``); and, where
    the environment gives ``load_balancer.hosted_zone_id``, an A alias record ``domain_name`` -> the ALB.

    Attributes: ``logs`` (:class:`AccessLogBucket`), ``security_group``, ``alb``, ``target_group``,
    ``listener`` (the one forwarding to the target group), ``web_acl`` (None but in prod), ``dns_record``
    (None without a hosted zone), :attr:`endpoint_url`.
    Call :meth:`allow_to` once the instances' security group exists so the ALB may reach port 8080.
    """

    def __init__(
        self, name: str, props: DataPlaneLoadBalancerProps, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rudder-ha:load_balancer:DataPlaneLoadBalancer", name, None, opts)
        self._base = name
        s = props.settings
        prefix = props.name_prefix
        child = pulumi.ResourceOptions(parent=self)
        self.logs = AccessLogBucket(
            f"{name}-access_logs",
            AccessLogBucketProps(name_prefix=prefix, retention_days=s.access_logs_retention_days),
            opts=child,
        )
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-sg", vpc_id=props.vpc_id, **spec.security_group_settings(prefix), opts=child
        )
        self.ingress_rules = [
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-{rule.id}", security_group_id=self.security_group.id, **rule.settings, opts=child
            )
            for rule in spec.ingress_rules(s, props.prod)
        ]
        self.alb = aws.lb.LoadBalancer(
            f"{name}-alb",
            name=prefix,
            subnets=list(props.public_subnet_ids),
            security_groups=[self.security_group.id],
            **spec.alb_settings(s),
            access_logs=aws.lb.LoadBalancerAccessLogsArgs(
                **spec.access_logs(self.logs.bucket.id, self.logs.log_prefix)
            ),
            # The whole bucket, policy included: the ALB checks it may write there when logging is enabled.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.logs]),
        )
        hc = props.health_check
        self.target_group = aws.lb.TargetGroup(
            f"{name}-gateway",
            vpc_id=props.vpc_id,
            deregistration_delay=hc.deregistration_delay_seconds,
            health_check=aws.lb.TargetGroupHealthCheckArgs(**spec.health_check(hc)),
            **spec.target_group_settings(prefix),
            opts=child,
        )
        forward = [aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=self.target_group.arn)]
        if s.http_only:
            self.listener = aws.lb.Listener(
                f"{name}-http",
                load_balancer_arn=self.alb.arn,
                **spec.HTTP_LISTENER,
                default_actions=forward,
                opts=child,
            )
        else:
            self.listener = aws.lb.Listener(
                f"{name}-https",
                load_balancer_arn=self.alb.arn,
                **spec.https_listener_settings(s),
                default_actions=forward,
                opts=child,
            )
            self.http_listener = aws.lb.Listener(
                f"{name}-{spec.http_listener_id(s, props.prod)}",
                load_balancer_arn=self.alb.arn,
                **spec.HTTP_LISTENER,
                default_actions=[spec.http_listener_action(s, props.prod)],
                opts=child,
            )
        self.web_acl: aws.wafv2.WebAcl | None = None
        if spec.managed_web_acl(props):
            self.web_acl = self._web_acl(props)
            aws.wafv2.WebAclAssociation(
                f"{name}-waf", resource_arn=self.alb.arn, web_acl_arn=self.web_acl.arn, opts=child
            )
        elif s.waf_web_acl_arn:
            aws.wafv2.WebAclAssociation(
                f"{name}-waf", resource_arn=self.alb.arn, web_acl_arn=s.waf_web_acl_arn, opts=child
            )
        self.dns_record: aws.route53.Record | None = None
        if spec.dns_record(s):
            self.dns_record = aws.route53.Record(
                f"{name}-{spec.DNS_RECORD_ID}",
                **spec.dns_record_settings(s),
                aliases=[spec.dns_alias(self.alb.dns_name, self.alb.zone_id)],
                opts=child,
            )
        self._http_only = s.http_only
        self._domain = s.domain_name
        self.register_outputs(
            {
                "alb_arn": self.alb.arn,
                "target_group_arn": self.target_group.arn,
                "security_group_id": self.security_group.id,
                "endpoint_url": self.endpoint_url,
            }
        )

    def _web_acl(self, props: DataPlaneLoadBalancerProps) -> aws.wafv2.WebAcl:
        """The prod web ACL, and its log of blocked and counted requests (dicts: Pulumi's ``*ArgsDict`` input
        types, snake_case, the spec's own)."""
        child = pulumi.ResourceOptions(parent=self)
        acl = aws.wafv2.WebAcl(
            f"{self._base}-web_acl", **_plural_lists(spec.web_acl_settings(props.name_prefix)), opts=child
        )
        logs = aws.cloudwatch.LogGroup(
            f"{self._base}-web_acl_logs", **spec.web_acl_log_group_settings(props), opts=child
        )
        aws.wafv2.WebAclLoggingConfiguration(
            f"{self._base}-web_acl_logging",
            resource_arn=acl.arn,
            log_destination_configs=[logs.arn],
            **_plural_lists(spec.web_acl_logging_settings()),
            opts=child,
        )
        return acl

    def allow_to(self, target_security_group_id: pulumi.Input[str]) -> aws.vpc.SecurityGroupEgressRule:
        """Lets the ALB reach the gateway port on instances in ``target_security_group_id``, and nothing else.

        Call it once (the rule's logical name is fixed, as the cdktf construct id is)."""
        return aws.vpc.SecurityGroupEgressRule(
            f"{self._base}-egress_gateway",
            security_group_id=self.security_group.id,
            referenced_security_group_id=target_security_group_id,
            **spec.EGRESS_RULE,
            opts=pulumi.ResourceOptions(parent=self),
        )

    @property
    def endpoint_url(self) -> pulumi.Output[str]:
        """The URL SDKs send events to: the alias record's name (so the output waits for the record), else the
        configured domain, else the ALB's DNS name."""
        host = self.dns_record.name if self.dns_record else pulumi.Output.from_input(self._domain or self.alb.dns_name)
        return host.apply(lambda h: spec.endpoint_url(self._http_only, h))
