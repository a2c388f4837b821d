"""The public Application Load Balancer in front of the rudder-server gateway."""

from __future__ import annotations

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.lb import Lb, LbAccessLogs
from cdktf_cdktf_provider_aws.lb_listener import LbListener, LbListenerDefaultAction
from cdktf_cdktf_provider_aws.lb_target_group import LbTargetGroup, LbTargetGroupHealthCheck
from cdktf_cdktf_provider_aws.route53_record import Route53Record, Route53RecordAlias
from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.vpc_security_group_egress_rule import VpcSecurityGroupEgressRule
from cdktf_cdktf_provider_aws.vpc_security_group_ingress_rule import VpcSecurityGroupIngressRule
from cdktf_cdktf_provider_aws.wafv2_web_acl import Wafv2WebAcl, Wafv2WebAclRule
from cdktf_cdktf_provider_aws.wafv2_web_acl_association import Wafv2WebAclAssociation
from cdktf_cdktf_provider_aws.wafv2_web_acl_logging_configuration import (
    Wafv2WebAclLoggingConfiguration,
    Wafv2WebAclLoggingConfigurationLoggingFilter,
    Wafv2WebAclLoggingConfigurationLoggingFilterFilter,
    Wafv2WebAclLoggingConfigurationLoggingFilterFilterCondition,
    Wafv2WebAclLoggingConfigurationRedactedFields,
)
from constructs import Construct

from rudder_ha.parts.access_log_bucket.cdktf import AccessLogBucket, AccessLogBucketProps
from rudder_ha.parts.load_balancer import spec
from rudder_ha.parts.load_balancer.spec import DataPlaneLoadBalancerProps

__all__ = ["DataPlaneLoadBalancer", "DataPlaneLoadBalancerProps"]


class DataPlaneLoadBalancer(Construct):
    """An internet-facing ALB: HTTPS (TLS 1.3 policy) with port 80 answering a 301 to HTTPS (dev, staging) or
    a fixed 403 (prod), or HTTP only where a dev environment asks for it; invalid header fields dropped;
    access logs to an encrypted bucket; a target group that health-checks ``GET /health`` on the gateway
    port; and in prod a web ACL of its own (rate limit, AWS managed rules reading the body, blocked and
    counted requests logged) unless the environment names one (``load_balancer.waf_web_acl_arn``); and, where
    the environment gives ``load_balancer.hosted_zone_id``, an A alias record ``domain_name`` -> the ALB.

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
        self.security_group = SecurityGroup(self, "sg", vpc_id=props.vpc_id, **spec.security_group_settings(name))
        for rule in spec.ingress_rules(s, props.prod):
            VpcSecurityGroupIngressRule(self, rule.id, security_group_id=self.security_group.id, **rule.settings)
        self.alb = Lb(
            self,
            "alb",
            name=name,
            subnets=list(props.public_subnet_ids),
            security_groups=[self.security_group.id],
            **spec.alb_settings(s),
            access_logs=LbAccessLogs(**spec.access_logs(self.logs.bucket.id, self.logs.log_prefix)),
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
                self, "http", load_balancer_arn=self.alb.arn, **spec.HTTP_LISTENER, default_action=forward
            )
        else:
            self.listener = LbListener(
                self,
                "https",
                load_balancer_arn=self.alb.arn,
                **spec.https_listener_settings(s),
                default_action=forward,
            )
            LbListener(
                self,
                spec.http_listener_id(s, props.prod),
                load_balancer_arn=self.alb.arn,
                **spec.HTTP_LISTENER,
                default_action=[LbListenerDefaultAction(**spec.http_listener_action(s, props.prod))],
            )
        self.web_acl: Wafv2WebAcl | None = None
        if spec.managed_web_acl(props):
            self.web_acl = self._web_acl(props)
            Wafv2WebAclAssociation(self, "waf", resource_arn=self.alb.arn, web_acl_arn=self.web_acl.arn)
        elif s.waf_web_acl_arn:
            Wafv2WebAclAssociation(self, "waf", resource_arn=self.alb.arn, web_acl_arn=s.waf_web_acl_arn)
        self.dns_record: Route53Record | None = None
        if spec.dns_record(s):
            self.dns_record = Route53Record(
                self,
                spec.DNS_RECORD_ID,
                **spec.dns_record_settings(s),
                alias=Route53RecordAlias(**spec.dns_alias(self.alb.dns_name, self.alb.zone_id)),
            )
        self._http_only = s.http_only
        self._domain = s.domain_name

    def _web_acl(self, props: DataPlaneLoadBalancerProps) -> Wafv2WebAcl:
        """The prod web ACL, and its log of blocked and counted requests."""
        # jsii turns a dict into a struct for a struct-typed argument, not for the items of a list: those
        # are built here (a rule's ``statement`` is schema-less in the provider and stays a dict).
        settings = spec.web_acl_settings(props.name_prefix)
        rules = [Wafv2WebAclRule(**rule) for rule in settings.pop("rule")]
        acl = Wafv2WebAcl(self, "web_acl", rule=rules, **settings)
        logs = CloudwatchLogGroup(self, "web_acl_logs", **spec.web_acl_log_group_settings(props))
        logging = spec.web_acl_logging_settings()
        log_filter = logging["logging_filter"]
        filters = [
            Wafv2WebAclLoggingConfigurationLoggingFilterFilter(
                behavior=item["behavior"],
                requirement=item["requirement"],
                condition=[Wafv2WebAclLoggingConfigurationLoggingFilterFilterCondition(**c) for c in item["condition"]],
            )
            for item in log_filter["filter"]
        ]
        Wafv2WebAclLoggingConfiguration(
            self,
            "web_acl_logging",
            resource_arn=acl.arn,
            log_destination_configs=[logs.arn],
            logging_filter=Wafv2WebAclLoggingConfigurationLoggingFilter(
                default_behavior=log_filter["default_behavior"], filter=filters
            ),
            redacted_fields=[Wafv2WebAclLoggingConfigurationRedactedFields(**f) for f in logging["redacted_fields"]],
        )
        return acl

    def allow_to(self, target_security_group_id: str) -> None:
        """Lets the ALB reach the gateway port on instances in ``target_security_group_id``, and nothing else."""
        VpcSecurityGroupEgressRule(
            self,
            "egress_gateway",
            security_group_id=self.security_group.id,
            referenced_security_group_id=target_security_group_id,
            **spec.EGRESS_RULE,
        )

    @property
    def endpoint_url(self) -> str:
        """The URL SDKs send events to: the alias record's name (so the output waits for the record), else the
        configured domain, else the ALB's DNS name."""
        host = self.dns_record.name if self.dns_record else self._domain or self.alb.dns_name
        return spec.endpoint_url(self._http_only, host)
