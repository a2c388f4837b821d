"""The Pulumi load balancer, access-log bucket and private bucket, run in-process with Pulumi's mocks for
every shipped single-node environment: the settings and physical names the cdktf constructs produce."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from rudder_ha.config import EnvironmentConfig, load_environments, shipped_environment_files
from rudder_ha.config.model import LoadBalancerSettings
from rudder_ha.parts.load_balancer import spec
from rudder_ha.parts.load_balancer.pulumi import DataPlaneLoadBalancer, DataPlaneLoadBalancerProps
from rudder_ha.parts.private_bucket.pulumi import PrivateBucketProps, add_private_bucket
from tests.support.pulumi_mocks import ACCOUNT, PARTITION, RecordedResource, RecordingMocks, run_program, shared_run

CONFIGS = [c for c in load_environments(shipped_environment_files()) if c.topology == "single_node"]
IDS = [c.environment for c in CONFIGS]
VPC = "vpc-0test"
SUBNETS = ["subnet-0pub1", "subnet-0pub2"]
INSTANCES_SG = "sg-0instances"
KEY_ARN = f"arn:{PARTITION}:kms:eu-west-1:{ACCOUNT}:key/environment"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
WAF_ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
WAF_LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
ELB_ACCOUNT_ARN = f"arn:{PARTITION}:iam::156460612806:root"


def run(
    config: EnvironmentConfig,
    settings: LoadBalancerSettings | None = None,
    seen: dict[str, Any] | None = None,
    log_key_arn: str | None = KEY_ARN,
) -> RecordingMocks:
    """Builds the load balancer (with ``settings`` instead of the config's, if given) and allows it to
    reach the instances' security group, as the single-node stack does (prod by the config's tier, the
    environment key for the web ACL's log group)."""

    def program() -> None:
        provider = aws.Provider("aws", region=config.region)
        lb = DataPlaneLoadBalancer(
            "load_balancer",
            DataPlaneLoadBalancerProps(
                name_prefix=config.name_prefix,
                vpc_id=VPC,
                public_subnet_ids=SUBNETS,
                settings=settings or config.load_balancer,
                health_check=config.health_check,
                prod=config.is_prod,
                log_key_arn=log_key_arn,
            ),
            pulumi.ResourceOptions(providers=[provider]),
        )
        lb.allow_to(INSTANCES_SG)
        if seen is not None:
            lb.endpoint_url.apply(lambda url: seen.update(endpoint_url=url))
            seen.update(target_group=lb.target_group, alb=lb.alb, security_group=lb.security_group)

    def execute() -> RecordingMocks:
        return run_program(program, stack=config.environment, region=config.region)

    if settings is None and seen is None and log_key_arn == KEY_ARN and any(config is c for c in CONFIGS):
        return shared_run(("load_balancer", config.environment), execute)  # a shipped environment, read only
    return execute()


def of_type(mocks: RecordingMocks, type_: str) -> dict[str, RecordedResource]:
    return {r.name: r for r in mocks.resources if r.type == type_}


def only(mocks: RecordingMocks, type_: str, name: str) -> RecordedResource:
    found = of_type(mocks, type_)
    assert name in found, f"{type_} {name} not registered (have {sorted(found)})"
    return found[name]


def output(mocks: RecordingMocks, type_: str, name: str, key: str = "id") -> Any:
    """What the mocks returned as ``key`` (the id by default) of the resource ``name`` of ``type_``."""
    return only(mocks, type_, name).outputs[key]


SG = "aws:ec2/securityGroup:SecurityGroup"
ALB = "aws:lb/loadBalancer:LoadBalancer"
LOG_BUCKET = "load_balancer-access_logs-bucket"


# --- the ALB ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_alb_is_internet_facing_hardened_and_logs_to_its_bucket(config: EnvironmentConfig) -> None:
    mocks = run(config)
    s = config.load_balancer
    alb = only(mocks, ALB, "load_balancer-alb")
    assert alb.inputs["name"] == config.name_prefix
    assert alb.inputs["loadBalancerType"] == "application"
    assert alb.inputs["internal"] is False
    assert alb.inputs["subnets"] == SUBNETS
    assert alb.inputs["securityGroups"] == [output(mocks, SG, "load_balancer-sg")]
    assert alb.inputs["dropInvalidHeaderFields"] is True
    assert alb.inputs["desyncMitigationMode"] == "defensive"
    assert alb.inputs["enableHttp2"] is True
    assert alb.inputs["enableDeletionProtection"] is s.deletion_protection
    assert alb.inputs["idleTimeout"] == s.idle_timeout_seconds
    assert alb.inputs["accessLogs"] == {
        "bucket": output(mocks, "aws:s3/bucket:Bucket", LOG_BUCKET, "bucket"),
        "prefix": "alb",
        "enabled": True,
    }


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_target_group_health_checks_get_health_on_the_gateway_port(config: EnvironmentConfig) -> None:
    mocks = run(config)
    hc = config.health_check
    tg = only(mocks, "aws:lb/targetGroup:TargetGroup", "load_balancer-gateway")
    assert tg.inputs["name"] == f"{config.name_prefix}-gw"
    assert tg.inputs["port"] == 8080
    assert tg.inputs["protocol"] == "HTTP"
    assert tg.inputs["targetType"] == "instance"
    assert tg.inputs["vpcId"] == VPC
    assert tg.inputs["deregistrationDelay"] == hc.deregistration_delay_seconds
    assert tg.inputs["healthCheck"] == {
        "enabled": True,
        "path": "/health",
        "port": "traffic-port",
        "protocol": "HTTP",
        "matcher": "200",
        "interval": hc.interval_seconds,
        "timeout": hc.timeout_seconds,
        "healthyThreshold": hc.healthy_threshold,
        "unhealthyThreshold": hc.unhealthy_threshold,
    }


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_listeners_serve_https_and_redirect_http_or_serve_http_only_in_dev(config: EnvironmentConfig) -> None:
    mocks = run(config)
    s = config.load_balancer
    listeners = of_type(mocks, "aws:lb/listener:Listener")
    alb_arn = output(mocks, ALB, "load_balancer-alb", "arn")
    tg_arn = output(mocks, "aws:lb/targetGroup:TargetGroup", "load_balancer-gateway", "arn")
    forward = [{"type": "forward", "targetGroupArn": tg_arn}]
    assert all(listener.inputs["loadBalancerArn"] == alb_arn for listener in listeners.values())
    if s.http_only:
        assert config.tier == "dev", "plain HTTP is for dev environments only"
        assert set(listeners) == {"load_balancer-http"}
        http = listeners["load_balancer-http"].inputs
        assert (http["port"], http["protocol"], http["defaultActions"]) == (80, "HTTP", forward)
        assert "sslPolicy" not in http
    else:
        http_name = "load_balancer-http_forbidden" if config.is_prod else "load_balancer-http_redirect"
        assert set(listeners) == {"load_balancer-https", http_name}
        https = listeners["load_balancer-https"].inputs
        assert (https["port"], https["protocol"], https["defaultActions"]) == (443, "HTTPS", forward)
        assert https["sslPolicy"] == s.ssl_policy
        assert "TLS13" in https["sslPolicy"]
        assert https["certificateArn"] == s.certificate_arn
        http = listeners[http_name].inputs
        assert (http["port"], http["protocol"]) == (80, "HTTP")
        if config.is_prod:
            (action,) = http["defaultActions"]
            assert action["type"] == "fixed-response"
            assert action["fixedResponse"] == {
                "contentType": "text/plain",
                "messageBody": spec.HTTPS_ONLY_MESSAGE,
                "statusCode": "403",
            }
        else:
            assert http["defaultActions"] == [
                {"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}
            ]


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_security_group_admits_clients_on_listened_ports_and_reaches_only_the_gateway(
    config: EnvironmentConfig,
) -> None:
    mocks = run(config)
    s, prefix = config.load_balancer, config.name_prefix
    sg = only(mocks, SG, "load_balancer-sg")
    assert sg.inputs["name"] == f"{prefix}-alb"
    assert sg.inputs["description"] == f"{prefix} ALB: event intake from clients"
    assert sg.inputs["vpcId"] == VPC
    assert sg.inputs["tags"] == {"Name": f"{prefix}-alb"}
    assert "ingress" not in sg.inputs and "egress" not in sg.inputs, "rules are separate resources"

    ingress = of_type(mocks, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    ports = [80] if s.http_only else [443, 80]
    expected = {
        f"load_balancer-ingress_{port}_{j}": (port, cidr) for port in ports for j, cidr in enumerate(s.ingress_cidrs)
    }
    assert set(ingress) == set(expected)
    for name, (port, cidr) in expected.items():
        rule = ingress[name].inputs
        assert (rule["fromPort"], rule["toPort"], rule["ipProtocol"], rule["cidrIpv4"]) == (port, port, "tcp", cidr)
        assert rule["securityGroupId"] == sg.outputs["id"]
        if s.http_only:
            assert rule["description"] == "HTTP event intake (dev only)"
        else:
            http = "HTTP (answered 403)" if config.is_prod else "HTTP (redirected to HTTPS)"
            assert rule["description"] == ("HTTPS event intake" if port == 443 else http)

    egress = of_type(mocks, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
    assert list(egress) == ["load_balancer-egress_gateway"]
    rule = egress["load_balancer-egress_gateway"].inputs
    assert rule == {
        "securityGroupId": sg.outputs["id"],
        "referencedSecurityGroupId": INSTANCES_SG,
        "ipProtocol": "tcp",
        "fromPort": 8080,
        "toPort": 8080,
        "description": "to the rudder-server gateway and /health",
    }


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_endpoint_url_is_the_domain_over_https_or_the_alb_over_http_in_dev(config: EnvironmentConfig) -> None:
    seen: dict[str, Any] = {}
    mocks = run(config, seen=seen)
    s = config.load_balancer
    if s.http_only:
        host = s.domain_name or output(mocks, ALB, "load_balancer-alb", "dnsName")
        assert seen["endpoint_url"] == f"http://{host}"
    else:
        assert s.domain_name, "an HTTPS environment names its domain (the certificate's)"
        assert seen["endpoint_url"] == f"https://{s.domain_name}"
    assert isinstance(seen["target_group"], aws.lb.TargetGroup)
    assert isinstance(seen["alb"], aws.lb.LoadBalancer)
    assert isinstance(seen["security_group"], aws.ec2.SecurityGroup)


RECORD = "aws:route53/record:Record"
ZONE = "Z0123456789ABCDEFGHIJ"


def test_hosted_zone_gets_an_a_alias_record_to_the_alb_and_the_endpoint_is_its_name() -> None:
    config = next(c for c in CONFIGS if c.load_balancer.domain_name)
    seen: dict[str, Any] = {}
    mocks = run(config, dataclasses.replace(config.load_balancer, hosted_zone_id=ZONE), seen=seen)
    (record,) = of_type(mocks, RECORD).values()
    assert record.name == "load_balancer-dns"
    assert record.inputs == {
        "zoneId": ZONE,
        "name": config.load_balancer.domain_name,
        "type": "A",
        "aliases": [
            {
                "name": output(mocks, ALB, "load_balancer-alb", "dnsName"),
                "zoneId": output(mocks, ALB, "load_balancer-alb", "zoneId"),
                "evaluateTargetHealth": True,
            }
        ],
    }
    assert seen["endpoint_url"] == f"https://{record.outputs['name']}"

    assert config.load_balancer.hosted_zone_id is None, "the shipped files leave the zone to the user"
    assert not of_type(run(config), RECORD)


def test_waf_acl_is_associated_when_configured_and_cidrs_multiply_rules() -> None:
    config = next(c for c in CONFIGS if not c.load_balancer.http_only and not c.is_prod)
    acl = f"arn:{PARTITION}:wafv2:{config.region}:{ACCOUNT}:regional/webacl/rudder/abc"
    settings = dataclasses.replace(
        config.load_balancer, waf_web_acl_arn=acl, ingress_cidrs=("10.0.0.0/8", "192.0.2.0/24")
    )
    mocks = run(config, settings)
    waf = only(mocks, "aws:wafv2/webAclAssociation:WebAclAssociation", "load_balancer-waf")
    assert waf.inputs == {
        "resourceArn": output(mocks, ALB, "load_balancer-alb", "arn"),
        "webAclArn": acl,
    }
    ingress = of_type(mocks, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert ingress["load_balancer-ingress_443_1"].inputs["cidrIpv4"] == "192.0.2.0/24"
    assert ingress["load_balancer-ingress_80_1"].inputs["cidrIpv4"] == "192.0.2.0/24"
    assert len(ingress) == 4

    plain = run(config)
    assert not of_type(plain, "aws:wafv2/webAclAssociation:WebAclAssociation")


# --- the prod web ACL -------------------------------------------------------------------------------------

PROD = next(c for c in CONFIGS if c.is_prod)


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_web_acl_in_prod_only(config: EnvironmentConfig) -> None:
    mocks = run(config)
    acls = of_type(mocks, WEB_ACL)
    if config.is_prod and not config.load_balancer.waf_web_acl_arn:
        assert list(acls) == ["load_balancer-web_acl"]
        association = only(mocks, WAF_ASSOCIATION, "load_balancer-waf").inputs
        assert association == {
            "resourceArn": output(mocks, ALB, "load_balancer-alb", "arn"),
            "webAclArn": output(mocks, WEB_ACL, "load_balancer-web_acl", "arn"),
        }
    else:
        assert not acls and not of_type(mocks, WAF_ASSOCIATION) and not of_type(mocks, WAF_LOGGING)


def test_web_acl_rate_limits_and_runs_body_inspecting_managed_rules() -> None:
    acl = only(run(PROD), WEB_ACL, "load_balancer-web_acl").inputs
    assert acl["name"] == f"{PROD.name_prefix}-alb"
    assert acl["scope"] == "REGIONAL"
    assert acl["defaultAction"] == {"allow": {}}
    assert acl["visibilityConfig"]["metricName"] == f"{PROD.name_prefix}-alb"
    rules = acl["rules"]
    assert [(r["name"], r["priority"]) for r in rules] == [
        ("rate-limit-per-ip", 0),
        ("aws-common-rule-set", 1),
        ("aws-known-bad-inputs", 2),
    ]
    rate, common, bad_inputs = rules
    assert rate["action"] == {"block": {}}
    assert rate["statement"] == {
        "rateBasedStatement": {
            "limit": spec.WAF_RATE_LIMIT_PER_IP,
            "evaluationWindowSec": 300,
            "aggregateKeyType": "IP",
        }
    }
    for rule in (common, bad_inputs):
        assert rule["overrideAction"] == {"none": {}}, "the groups block with their rules' own actions"
        assert rule["statement"]["managedRuleGroupStatement"]["vendorName"] == "AWS"
        assert "action" not in rule
    assert common["statement"]["managedRuleGroupStatement"] == {
        "vendorName": "AWS",
        "name": "AWSManagedRulesCommonRuleSet",
        # SDK batches are JSON bodies far over the 8 KB an ALB hands WAF: counted, never blocked for size.
        "ruleActionOverrides": [
            {"name": "SizeRestrictions_BODY", "actionToUse": {"count": {}}},
            {"name": "GenericRFI_BODY", "actionToUse": {"count": {}}},
        ],
    }
    assert bad_inputs["statement"]["managedRuleGroupStatement"] == {
        "vendorName": "AWS",
        "name": "AWSManagedRulesKnownBadInputsRuleSet",
    }
    for rule in rules:
        visibility = rule["visibilityConfig"]
        assert visibility["cloudwatchMetricsEnabled"] and visibility["sampledRequestsEnabled"]
        assert visibility["metricName"] == f"{PROD.name_prefix}-alb-{rule['name']}"


def test_web_acl_logs_blocked_and_counted_requests_to_an_encrypted_group_without_the_write_key() -> None:
    mocks = run(PROD)
    group = only(mocks, "aws:cloudwatch/logGroup:LogGroup", "load_balancer-web_acl_logs").inputs
    assert group == {
        "name": f"aws-waf-logs-{PROD.name_prefix}",
        "kmsKeyId": KEY_ARN,
        "retentionInDays": PROD.load_balancer.access_logs_retention_days,
    }
    logging = only(mocks, WAF_LOGGING, "load_balancer-web_acl_logging").inputs
    assert logging["resourceArn"] == output(mocks, WEB_ACL, "load_balancer-web_acl", "arn")
    assert logging["logDestinationConfigs"] == [
        output(mocks, "aws:cloudwatch/logGroup:LogGroup", "load_balancer-web_acl_logs", "arn")
    ]
    assert logging["redactedFields"] == [{"singleHeader": {"name": "authorization"}}]
    assert logging["loggingFilter"] == {
        "defaultBehavior": "DROP",
        "filters": [
            {
                "behavior": "KEEP",
                "requirement": "MEETS_ANY",
                "conditions": [{"actionCondition": {"action": "BLOCK"}}, {"actionCondition": {"action": "COUNT"}}],
            }
        ],
    }


def test_prod_with_its_own_web_acl_gets_no_second_one() -> None:
    acl = f"arn:{PARTITION}:wafv2:{PROD.region}:{ACCOUNT}:regional/webacl/corporate/abc"
    mocks = run(PROD, dataclasses.replace(PROD.load_balancer, waf_web_acl_arn=acl))
    assert not of_type(mocks, WEB_ACL) and not of_type(mocks, WAF_LOGGING)
    assert only(mocks, WAF_ASSOCIATION, "load_balancer-waf").inputs["webAclArn"] == acl


def test_the_web_acl_log_group_needs_the_environment_key() -> None:
    with pytest.raises(Exception, match="log_key_arn"):
        run(PROD, log_key_arn=None)


# --- the access-log bucket --------------------------------------------------------------------------------


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_access_log_bucket_is_private_sse_s3_expiring_and_open_to_elb_delivery_only(config: EnvironmentConfig) -> None:
    mocks = run(config)
    base = "load_balancer-access_logs"
    bucket = only(mocks, "aws:s3/bucket:Bucket", f"{base}-bucket")
    assert bucket.inputs == {"bucketPrefix": f"{config.name_prefix}-alb-logs-", "forceDestroy": False}
    bucket_id = bucket.outputs["id"]
    assert bucket_id == bucket.outputs["bucket"] and bucket_id.startswith(f"{config.name_prefix}-alb-logs-")
    block = only(mocks, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", f"{base}-public_access").inputs
    assert block == {
        "bucket": bucket_id,
        "blockPublicAcls": True,
        "blockPublicPolicy": True,
        "ignorePublicAcls": True,
        "restrictPublicBuckets": True,
    }
    ownership = only(mocks, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", f"{base}-ownership")
    assert ownership.get("rule.objectOwnership") == "BucketOwnerEnforced"
    versioning = only(mocks, "aws:s3/bucketVersioning:BucketVersioning", f"{base}-versioning")
    assert versioning.get("versioningConfiguration.status") == "Enabled"
    encryption = only(
        mocks,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        f"{base}-encryption",
    )
    assert encryption.inputs["rules"] == [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]
    lifecycle = only(mocks, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", f"{base}-lifecycle")
    assert lifecycle.inputs["rules"] == [
        {
            "id": "expire-access-logs",
            "status": "Enabled",
            "filter": {},
            "expiration": {"days": config.load_balancer.access_logs_retention_days},
            "noncurrentVersionExpiration": {"noncurrentDays": 7},
            "abortIncompleteMultipartUpload": {"daysAfterInitiation": 1},
        }
    ]

    policy = only(mocks, "aws:s3/bucketPolicy:BucketPolicy", f"{base}-policy")
    assert policy.inputs["bucket"] == bucket_id
    arn = bucket.outputs["arn"]
    assert arn == f"arn:{PARTITION}:s3:::{bucket_id}"
    objects = f"{arn}/alb/AWSLogs/{ACCOUNT}/*"
    assert policy.json("policy") == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ElbAccountDelivers",
                "Effect": "Allow",
                "Principal": {"AWS": ELB_ACCOUNT_ARN},
                "Action": "s3:PutObject",
                "Resource": objects,
            },
            {
                "Sid": "LogDeliveryServiceDelivers",
                "Effect": "Allow",
                "Principal": {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": objects,
            },
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [arn, f"{arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ],
    }


# --- add_private_bucket with a customer key ---------------------------------------------------------------


class Holder(pulumi.ComponentResource):
    """A component holding one KMS-encrypted private bucket, as the instance artifacts will."""

    def __init__(self, name: str, statements: Callable[[aws.s3.Bucket], Any], opts: pulumi.ResourceOptions) -> None:
        super().__init__("rudder-ha:test:Holder", name, None, opts)
        self.bucket = add_private_bucket(
            self,
            name,
            PrivateBucketProps(
                bucket_prefix="rudder-ha-dev-artifacts-",
                lifecycle_rule_id="expire-old-versions",
                noncurrent_days=90,
                kms_key_arn="arn:aws:kms:eu-west-1:123456789012:key/k",
            ),
            statements,
        )
        self.register_outputs({})


def test_private_bucket_with_a_key_uses_sse_kms_with_a_bucket_key_and_never_expires_current_objects() -> None:
    def statements(bucket: aws.s3.Bucket) -> list[dict[str, Any]]:
        return [
            {
                "Sid": "Reader",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": bucket.arn.apply(lambda a: f"{a}/*"),
            }
        ]

    def program() -> None:
        provider = aws.Provider("aws", region="eu-west-1")
        Holder("artifacts", statements, pulumi.ResourceOptions(providers=[provider]))

    mocks = run_program(program, stack="dev", region="eu-west-1")
    names = sorted(r.name for r in mocks.resources if r.type.startswith("aws:s3/"))
    assert names == sorted(
        f"artifacts-{part}"
        for part in ("bucket", "public_access", "ownership", "versioning", "encryption", "lifecycle", "policy")
    )
    encryption = only(
        mocks,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "artifacts-encryption",
    )
    assert encryption.inputs["rules"] == [
        {
            "applyServerSideEncryptionByDefault": {
                "sseAlgorithm": "aws:kms",
                "kmsMasterKeyId": "arn:aws:kms:eu-west-1:123456789012:key/k",
            },
            "bucketKeyEnabled": True,
        }
    ]
    lifecycle = only(mocks, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "artifacts-lifecycle")
    (rule,) = lifecycle.inputs["rules"]
    assert "expiration" not in rule
    assert rule["noncurrentVersionExpiration"] == {"noncurrentDays": 90}
    statements_ = only(mocks, "aws:s3/bucketPolicy:BucketPolicy", "artifacts-policy").json("policy")["Statement"]
    assert [s["Sid"] for s in statements_] == ["Reader", "DenyInsecureTransport"]
    bucket = only(mocks, "aws:s3/bucket:Bucket", "artifacts-bucket")
    assert bucket.inputs["bucketPrefix"] == "rudder-ha-dev-artifacts-"
    assert statements_[0]["Resource"] == f"{bucket.outputs['arn']}/*", "Outputs inside statements are resolved"
