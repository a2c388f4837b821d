"""The synthesized single-node HA stacks, asserted property by property on the JSON."""

from __future__ import annotations

import dataclasses
import json
import re
from types import ModuleType
from typing import Any

import pytest

from rudder_ha import PROJECT
from rudder_ha.common.policies import ACTIONS_WITHOUT_RESOURCES
from tests.support.synth import SynthOutput, only, resources

pytestmark = pytest.mark.synth
ENVIRONMENTS = ["dev", "staging", "prod"]


def policy(text: str) -> dict[str, Any]:
    return json.loads(text)


WILDCARD_ONLY_ACTIONS = frozenset(ACTIONS_WITHOUT_RESOURCES)
"""Actions that take no resource ARN at all (AWS Service Authorization Reference): "*" is their only form. One
list for the whole project, with the reason for each: :data:`rudder_ha.common.policies.ACTIONS_WITHOUT_RESOURCES`
(``tests/test_iam_least_privilege.py`` holds every stack to it)."""


def _actions(statement: dict[str, Any]) -> list[str]:
    return statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]


def assert_scoped(statement: dict[str, Any]) -> None:
    """No wildcard action; ``Resource: *`` only for actions that accept nothing else (and PutMetricData
    only within the project's namespace)."""
    actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
    assert all("*" not in a for a in actions), statement
    if statement["Resource"] == "*":
        assert set(actions) <= WILDCARD_ONLY_ACTIONS, statement
        if "cloudwatch:PutMetricData" in actions:
            # the project's own (backlog) namespace, or the one rudder-server's statsd metrics go to
            namespace = statement["Condition"]["StringEquals"]["cloudwatch:namespace"]
            assert namespace == "RudderHA" or re.fullmatch(r"RudderHA/[a-z0-9-]+/rudder-server", namespace), statement


def test_every_shipped_environment_has_its_own_stack(synth: SynthOutput) -> None:
    assert sorted(synth.stacks) == [
        "rudder-ha-dev",
        "rudder-ha-prod",
        "rudder-ha-prod-eks-cluster",
        "rudder-ha-prod-eks-workload",
        "rudder-ha-staging",
    ]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_remote_state_is_per_environment_encrypted_and_locked(synth: SynthOutput, env: str) -> None:
    s3 = synth.stack(env)["terraform"]["backend"]["s3"]
    config = synth.configs[env]
    assert s3["bucket"] == config.state.bucket
    assert s3["key"] == config.state.key == f"rudder-ha/{env}/terraform.tfstate"
    assert s3["region"] == config.state.region
    assert s3["encrypt"] is True
    assert s3["use_lockfile"] is True


def test_state_keys_never_collide(synth: SynthOutput) -> None:
    keys = [
        (s["terraform"]["backend"]["s3"]["bucket"], s["terraform"]["backend"]["s3"]["key"])
        for s in synth.stacks.values()
    ]
    assert len(set(keys)) == len(keys)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_provider_default_tags_and_account_guard(synth: SynthOutput, env: str) -> None:
    (aws,) = synth.stack(env)["provider"]["aws"]
    tags = aws["default_tags"][0]["tags"]
    assert tags["project"] == PROJECT
    assert tags["environment"] == env
    assert tags["managed-by"] == "cdktf"
    assert tags["owner"] == "data-platform"
    assert aws["region"] == "eu-west-1"
    if synth.configs[env].allowed_account_ids:
        assert aws["allowed_account_ids"] == list(synth.configs[env].allowed_account_ids)


@pytest.mark.parametrize(("env", "zones", "nats"), [("dev", 2, 1), ("prod", 3, 3)])
def test_new_vpc_spans_the_zones_with_nat_and_flow_logs(synth: SynthOutput, env: str, zones: int, nats: int) -> None:
    stack = synth.stack(env)
    subnets = resources(stack, "aws_subnet")
    assert len(subnets) == 2 * zones
    assert {s["availability_zone"] for s in subnets} == set(synth.configs[env].network.availability_zones)
    assert all(s["map_public_ip_on_launch"] is False for s in subnets)
    assert len(resources(stack, "aws_nat_gateway")) == nats
    private_routes = [r for r in resources(stack, "aws_route") if "nat_gateway_id" in r]
    assert len(private_routes) == zones
    assert len({r["nat_gateway_id"] for r in private_routes}) == nats
    flow = only(stack, "aws_flow_log")
    assert flow["traffic_type"] == "ALL"
    group = next(g for g in resources(stack, "aws_cloudwatch_log_group") if g["name"].startswith("/aws/vpc-flow-logs/"))
    assert group["retention_in_days"] >= 365
    assert group["kms_key_id"].startswith("${aws_kms_key.")
    default_sg = only(stack, "aws_default_security_group")
    assert "ingress" not in default_sg and "egress" not in default_sg


def test_existing_vpc_is_used_as_given_and_checked_at_plan_time(synth: SynthOutput) -> None:
    stack = synth.stack("staging")
    assert resources(stack, "aws_vpc") == []
    assert resources(stack, "aws_subnet") == []
    group = only(stack, "aws_autoscaling_group")
    assert group["vpc_zone_identifier"] == ["subnet-0cc3333333333333c", "subnet-0dd4444444444444d"]
    (pre,) = group["lifecycle"]["precondition"]
    assert "length(distinct([data.aws_subnet." in pre["condition"] and ">= 2" in pre["condition"]
    for subnet in stack["data"]["aws_subnet"].values():
        assert subnet["lifecycle"]["postcondition"][0]["condition"] == '${self.vpc_id == "vpc-0a1b2c3d4e5f60718"}'
    alb = only(stack, "aws_lb")
    assert alb["subnets"] == ["subnet-0aa1111111111111a", "subnet-0bb2222222222222b"]


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_https_listener_with_tls13(synth: SynthOutput, env: str) -> None:
    stack = synth.stack(env)
    listeners = {ls["port"]: ls for ls in resources(stack, "aws_lb_listener")}
    assert set(listeners) == {80, 443}
    https = listeners[443]
    assert https["protocol"] == "HTTPS"
    assert https["ssl_policy"].startswith("ELBSecurityPolicy-TLS13-")
    assert https["certificate_arn"] == synth.configs[env].load_balancer.certificate_arn
    assert https["default_action"][0]["type"] == "forward"


def test_staging_redirects_http_to_https(synth: SynthOutput) -> None:
    listeners = {ls["port"]: ls for ls in resources(synth.stack("staging"), "aws_lb_listener")}
    (redirect,) = listeners[80]["default_action"]
    assert redirect["type"] == "redirect"
    assert redirect["redirect"] == {"port": "443", "protocol": "HTTPS", "status_code": "HTTP_301"}


def test_prod_answers_http_with_a_fixed_403(synth: SynthOutput) -> None:
    """No redirect in prod: the write key has already crossed in clear text; a 403 makes the source fail."""
    listeners = {ls["port"]: ls for ls in resources(synth.stack("prod"), "aws_lb_listener")}
    http = listeners[80]
    assert http["protocol"] == "HTTP"
    (action,) = http["default_action"]
    assert action["type"] == "fixed-response"
    assert action["fixed_response"]["status_code"] == "403"
    assert action["fixed_response"]["content_type"] == "text/plain"
    assert "HTTPS only" in action["fixed_response"]["message_body"]
    assert len(action["fixed_response"]["message_body"]) <= 1024, "the ALB's limit for a fixed response body"
    assert "target_group_arn" not in json.dumps(http), "port 80 forwards nothing in prod"


@pytest.mark.parametrize("env", ["dev", "staging"])
def test_no_web_acl_outside_prod(synth: SynthOutput, env: str) -> None:
    stack = synth.stack(env)
    for kind in ("aws_wafv2_web_acl", "aws_wafv2_web_acl_association", "aws_wafv2_web_acl_logging_configuration"):
        assert not resources(stack, kind), kind


def test_prod_alb_has_its_own_web_acl(synth: SynthOutput) -> None:
    stack = synth.stack("prod")
    acl = only(stack, "aws_wafv2_web_acl")
    assert acl["scope"] == "REGIONAL"
    assert acl["default_action"] == {"allow": {}}
    rules = {r["name"]: r for r in acl["rule"]}
    assert [r["priority"] for r in acl["rule"]] == [0, 1, 2]
    rate = rules["rate-limit-per-ip"]
    assert rate["action"] == {"block": {}}
    assert rate["statement"]["rate_based_statement"]["aggregate_key_type"] == "IP"
    assert rate["statement"]["rate_based_statement"]["limit"] >= 10_000
    groups = {r["statement"]["managed_rule_group_statement"]["name"]: r for r in acl["rule"] if "override_action" in r}
    assert set(groups) == {"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"}
    assert all(g["override_action"] == {"none": {}} for g in groups.values()), "the groups' own block actions"
    # SDK batches are JSON bodies well over the 8 KB an ALB hands WAF: the size rule counts, never blocks;
    # so does the rule that takes page events' URLs for file inclusion. Every other body rule blocks.
    common = groups["AWSManagedRulesCommonRuleSet"]["statement"]["managed_rule_group_statement"]
    assert common["rule_action_override"] == [
        {"name": "SizeRestrictions_BODY", "action_to_use": {"count": {}}},
        {"name": "GenericRFI_BODY", "action_to_use": {"count": {}}},
    ]
    assert (
        "rule_action_override"
        not in groups["AWSManagedRulesKnownBadInputsRuleSet"]["statement"]["managed_rule_group_statement"]
    )
    for rule in [*acl["rule"], acl]:
        assert rule["visibility_config"]["cloudwatch_metrics_enabled"] is True
    association = only(stack, "aws_wafv2_web_acl_association")
    assert association["resource_arn"].startswith("${aws_lb.load_balancer_alb")
    assert association["web_acl_arn"].startswith("${aws_wafv2_web_acl.load_balancer_web_acl")


def test_prod_web_acl_logs_blocked_and_counted_requests_without_the_write_key(synth: SynthOutput) -> None:
    stack = synth.stack("prod")
    logging = only(stack, "aws_wafv2_web_acl_logging_configuration")
    group_key = next(k for k in stack["resource"]["aws_cloudwatch_log_group"] if k.startswith("load_balancer_web_acl"))
    group = stack["resource"]["aws_cloudwatch_log_group"][group_key]
    assert group["name"].startswith("aws-waf-logs-"), "WAF delivers only to log groups named aws-waf-logs-*"
    assert group["kms_key_id"].startswith("${aws_kms_key.key")
    assert group["retention_in_days"] == synth.configs["prod"].load_balancer.access_logs_retention_days
    assert logging["log_destination_configs"] == [f"${{aws_cloudwatch_log_group.{group_key}.arn}}"]
    assert logging["resource_arn"].startswith("${aws_wafv2_web_acl.load_balancer_web_acl")
    assert logging["redacted_fields"] == [{"single_header": {"name": "authorization"}}]
    log_filter = logging["logging_filter"]
    assert log_filter["default_behavior"] == "DROP"
    (keep,) = log_filter["filter"]
    assert keep["behavior"] == "KEEP" and keep["requirement"] == "MEETS_ANY"
    assert {c["action_condition"]["action"] for c in keep["condition"]} == {"BLOCK", "COUNT"}


def test_dev_is_http_only_because_it_asked(synth: SynthOutput) -> None:
    stack = synth.stack("dev")
    (listener,) = resources(stack, "aws_lb_listener")
    assert listener["port"] == 80 and listener["protocol"] == "HTTP"
    assert listener["default_action"][0]["type"] == "forward"
    assert synth.configs["dev"].load_balancer.http_only is True


@pytest.mark.parametrize(("env", "protected"), [("dev", False), ("staging", False), ("prod", True)])
def test_alb_hardening_and_access_logs(synth: SynthOutput, env: str, protected: bool) -> None:
    stack = synth.stack(env)
    alb = only(stack, "aws_lb")
    assert alb["internal"] is False
    assert alb["load_balancer_type"] == "application"
    assert alb["drop_invalid_header_fields"] is True
    assert alb["enable_deletion_protection"] is protected
    assert alb["access_logs"]["enabled"] is True
    bucket_ref = alb["access_logs"]["bucket"]
    assert bucket_ref.startswith("${aws_s3_bucket.")
    sse = only(stack, "aws_s3_bucket_server_side_encryption_configuration", "load_balancer_access_logs")
    assert sse["rule"][0]["apply_server_side_encryption_by_default"]["sse_algorithm"] == "AES256"
    block = only(stack, "aws_s3_bucket_public_access_block", "load_balancer_access_logs")
    assert all(
        block[k] is True
        for k in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
    )
    statements = policy(only(stack, "aws_s3_bucket_policy", "load_balancer_access_logs")["policy"])["Statement"]
    principals = [s["Principal"] for s in statements if s["Effect"] == "Allow"]
    assert {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"} in principals
    assert any("data.aws_elb_service_account" in json.dumps(p) for p in principals)
    assert all(s["Action"] == "s3:PutObject" for s in statements if s["Effect"] == "Allow")
    deny = next(s for s in statements if s["Effect"] == "Deny")
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_target_group_checks_health_with_config_timings(synth: SynthOutput, env: str) -> None:
    tg = only(synth.stack(env), "aws_lb_target_group")
    hc_config = synth.configs[env].health_check
    assert tg["port"] == 8080 and tg["protocol"] == "HTTP" and tg["target_type"] == "instance"
    hc = tg["health_check"]
    assert hc["path"] == "/health"
    assert hc["matcher"] == "200"
    assert hc["interval"] == hc_config.interval_seconds
    assert 5 <= hc["interval"] <= 10
    assert hc["timeout"] == hc_config.timeout_seconds < hc["interval"]
    assert hc["healthy_threshold"] == hc["unhealthy_threshold"] == 2
    assert tg["deregistration_delay"] == str(hc_config.deregistration_delay_seconds) == "30"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_launch_template_is_private_imdsv2_and_encrypted(synth: SynthOutput, env: str) -> None:
    lt = only(synth.stack(env), "aws_launch_template")
    assert "key_name" not in lt
    (nic,) = lt["network_interfaces"]
    assert nic["associate_public_ip_address"] == "false"
    md = lt["metadata_options"]
    assert md["http_tokens"] == "required"
    assert md["http_endpoint"] == "enabled"
    assert md["http_put_response_hop_limit"] == 1
    (root,) = lt["block_device_mappings"]
    assert root["ebs"]["volume_type"] == "gp3"
    assert root["ebs"]["encrypted"] == "true"
    assert lt["iam_instance_profile"]["arn"].startswith("${aws_iam_instance_profile.")
    assert lt["image_id"] == synth.configs[env].instance.ami
    assert lt["instance_type"] == synth.configs[env].instance.instance_type
    kinds = {t["resource_type"] for t in lt["tag_specifications"]}
    assert kinds == {"instance", "volume", "network-interface"}
    assert all(t["tags"]["environment"] == env for t in lt["tag_specifications"])


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_gateway_port_is_open_to_the_alb_only(synth: SynthOutput, env: str) -> None:
    stack = synth.stack(env)
    groups = {key: g for key, g in stack["resource"]["aws_security_group"].items()}
    instance_sg = next(k for k, g in groups.items() if g["name"].endswith("-data-plane"))
    alb_sg = next(k for k, g in groups.items() if g["name"].endswith("-alb"))
    ingress = resources(stack, "aws_vpc_security_group_ingress_rule")
    to_instance = [r for r in ingress if instance_sg in r["security_group_id"]]
    assert len(to_instance) == 1
    (rule,) = to_instance
    assert rule["from_port"] == rule["to_port"] == 8080
    assert alb_sg in rule["referenced_security_group_id"]
    assert "cidr_ipv4" not in rule
    for r in ingress:
        assert r.get("description"), "every rule says why it exists"
        if "cidr_ipv4" in r:
            assert r["from_port"] in (80, 443) and alb_sg in r["security_group_id"]
    (alb_egress,) = [
        r for r in resources(stack, "aws_vpc_security_group_egress_rule") if alb_sg in r["security_group_id"]
    ]
    assert alb_egress["from_port"] == alb_egress["to_port"] == 8080
    assert instance_sg in alb_egress["referenced_security_group_id"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_autoscaling_group_of_exactly_one_replaced_on_elb_health(synth: SynthOutput, env: str) -> None:
    stack = synth.stack(env)
    config = synth.configs[env]
    group = only(stack, "aws_autoscaling_group")
    hot_standby = config.autoscaling.failover.hot_standby  # prod: a holder and a standby (tests/test_failover.py)
    assert group["min_size"] == group["max_size"] == group["desired_capacity"] == (2 if hot_standby else 1)
    assert group["health_check_type"] == ("EC2" if hot_standby else "ELB")
    assert group["health_check_grace_period"] == config.autoscaling.health_check_grace_period_seconds
    assert len(group["vpc_zone_identifier"]) >= 2
    if config.network.creates_vpc:
        private = [k for k, s in stack["resource"]["aws_subnet"].items() if s["tags"]["Tier"] == "private"]
        assert sorted(group["vpc_zone_identifier"]) == sorted(f"${{aws_subnet.{k}.id}}" for k in private)
    assert group["target_group_arns"][0].startswith("${aws_lb_target_group.")
    assert group["launch_template"]["version"].endswith(".latest_version}")
    least = 50 if hot_standby else 0  # one of two at a time, or the only one
    assert group["instance_maintenance_policy"] == {"min_healthy_percentage": least, "max_healthy_percentage": 100}
    refresh = group["instance_refresh"]
    assert refresh["preferences"]["max_healthy_percentage"] == 100
    assert refresh["preferences"]["min_healthy_percentage"] == least
    reports = [p for p in resources(stack, "aws_iam_role_policy") if p["name"] == "report-own-health"]
    if hot_standby:
        (report,) = reports
        assert report["role"] == f"rudder-ha-{env}-data-plane"
        (statement,) = policy(report["policy"])["Statement"]
        assert statement["Action"] == "autoscaling:SetInstanceHealth"
        assert statement["Resource"].startswith("${aws_autoscaling_group.") and statement["Resource"].endswith(".arn}")
    else:
        assert reports == []
    (hook,) = group["initial_lifecycle_hook"]
    assert hook["lifecycle_transition"] == "autoscaling:EC2_INSTANCE_TERMINATING"
    assert hook["heartbeat_timeout"] == config.autoscaling.lifecycle_hook.heartbeat_timeout_seconds
    assert hook["default_result"] == config.autoscaling.lifecycle_hook.default_result
    tags = {t["key"]: t for t in group["tag"]}
    assert tags["environment"]["value"] == env and tags["environment"]["propagate_at_launch"] is True
    assert tags["project"]["propagate_at_launch"] is True


@pytest.mark.parametrize(("env", "pooled"), [("dev", False), ("staging", False), ("prod", True)])
def test_warm_pool_only_where_configured(synth: SynthOutput, env: str, pooled: bool) -> None:
    group = only(synth.stack(env), "aws_autoscaling_group")
    assert ("warm_pool" in group) is pooled
    if pooled:
        assert group["warm_pool"]["pool_state"] == "Stopped"
        assert group["warm_pool"]["instance_reuse_policy"]["reuse_on_scale_in"] is False


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_instance_role_is_scoped(synth: SynthOutput, env: str) -> None:
    stack = synth.stack(env)
    config = synth.configs[env]
    role = next(r for r in resources(stack, "aws_iam_role") if r["name"].endswith("-data-plane"))
    assert policy(role["assume_role_policy"])["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
    # No AWS managed policy on the instance role: AmazonSSMManagedInstanceCore would let it (and, through IMDS,
    # anything on the instance) read every SSM parameter of the account.
    role_ref = "${aws_iam_role.instance_role_"
    assert not [a for a in resources(stack, "aws_iam_role_policy_attachment") if a["role"].startswith(role_ref)]
    own = [p for p in resources(stack, "aws_iam_role_policy") if p["role"].startswith(role_ref)]
    assert "ssm-agent" in {p["name"] for p in own}
    for inline in resources(stack, "aws_iam_role_policy"):
        for statement in policy(inline["policy"])["Statement"]:
            assert_scoped(statement)
    # The parameters it may read: its token, where the artifacts bucket is, and (rds) where the jobsdb is.
    readable = sorted(
        resource.rsplit(":parameter", 1)[1]
        for p in own
        for s in policy(p["policy"])["Statement"]
        if any(a in ("ssm:GetParameter", "ssm:GetParameters") for a in _actions(s))
        for resource in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])
    )
    expected = [f"/rudder-ha/{env}/artifacts-bucket"]
    if config.rudder.workspace_token.ssm_parameter:
        expected.append(config.rudder.workspace_token.ssm_parameter)
    if config.jobsdb.on_rds:
        expected.append(f"/rudder-ha/{env}/jobsdb")
    if config.event_archive.enabled:
        expected.append(f"/rudder-ha/{env}/event-archive")
    assert readable == sorted(expected)
    token = config.rudder.workspace_token
    read = next(
        s
        for p in resources(stack, "aws_iam_role_policy")
        for s in policy(p["policy"])["Statement"]
        if s.get("Sid") == "ReadWorkspaceToken"
    )
    if token.ssm_parameter:
        assert read["Action"] == "ssm:GetParameter"
        assert read["Resource"].endswith(f":parameter{token.ssm_parameter}")
    else:
        assert read["Action"] == "secretsmanager:GetSecretValue"
        assert read["Resource"] == token.secrets_manager_arn


def test_kms_key_rotates_and_has_a_policy(synth: SynthOutput) -> None:
    for name, stack in synth.stacks.items():
        if name.endswith("-workload"):
            continue  # the eks workload stack creates no key (the cluster stack owns the environment's)
        key = only(stack, "aws_kms_key")
        assert key["enable_key_rotation"] is True
        statements = policy(key["policy"])["Statement"]
        logs = next(s for s in statements if s["Principal"].get("Service", "").startswith("logs."))
        assert "kms:EncryptionContext:aws:logs:arn" in logs["Condition"]["ArnLike"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_outputs(synth: SynthOutput, env: str) -> None:
    outputs = synth.stack(env)["output"]
    for name in (
        "endpoint_url",
        "alb_dns_name",
        "asg_name",
        "target_group_arn",
        "alb_console_url",
        "target_group_console_url",
        "asg_console_url",
    ):
        assert name in outputs, name
        assert outputs[name].get("description")
    config = synth.configs[env]
    if config.load_balancer.domain_name:
        assert outputs["endpoint_url"]["value"] == f"https://{config.load_balancer.domain_name}"
    else:
        assert outputs["endpoint_url"]["value"].startswith("http://${aws_lb.")
    assert outputs["alb_console_url"]["value"].startswith("https://eu-west-1.console.aws.amazon.com/ec2/home")
    assert "#LoadBalancer:loadBalancerArn=${aws_lb." in outputs["alb_console_url"]["value"]
    assert "#TargetGroup:targetGroupArn=${aws_lb_target_group." in outputs["target_group_console_url"]["value"]
    assert "#AutoScalingGroupDetails:id=${aws_autoscaling_group." in outputs["asg_console_url"]["value"]


def test_no_secret_value_reaches_the_synthesized_json(synth: SynthOutput) -> None:
    for name, stack in synth.stacks.items():
        text = json.dumps(stack)
        assert "WORKSPACE_TOKEN=" not in text, name
        assert "aws_ssm_parameter" not in stack.get("data", {}), "a data source would copy the secret into state"
        assert "aws_secretsmanager_secret_version" not in stack.get("data", {})


def test_access_log_lifecycle(synth: SynthOutput) -> None:
    for env, stack in synth.stacks.items():
        if env.endswith(("-cluster", "-workload")):
            continue  # the eks topology's ALB comes from the Load Balancer Controller
        (rule,) = only(stack, "aws_s3_bucket_lifecycle_configuration", "load_balancer_access_logs")["rule"]
        assert rule["status"] == "Enabled"
        assert rule["filter"] == [{}], "applies to every object"
        assert rule["abort_incomplete_multipart_upload"] == [{"days_after_initiation": 1}]
        assert (
            rule["expiration"][0]["days"]
            == synth.configs[env.removeprefix("rudder-ha-")].load_balancer.access_logs_retention_days
        )


# --- DNS: the Route 53 alias record of load_balancer.hosted_zone_id ------------------------------------------

ZONE = "Z0123456789ABCDEFGHIJ"
RECORD = "aws_route53_record"


@pytest.fixture(scope="module")
def zoned(
    synth: SynthOutput, tmp_path_factory: pytest.TempPathFactory, in_process_synthesis: ModuleType
) -> tuple[Any, dict[str, Any]]:
    """prod with ``load_balancer.hosted_zone_id`` set, and its synthesized stack (in-process)."""
    prod = synth.configs["prod"]
    config = dataclasses.replace(prod, load_balancer=dataclasses.replace(prod.load_balancer, hosted_zone_id=ZONE))
    outdir = tmp_path_factory.mktemp("cdktf-dns.out")
    (name,) = in_process_synthesis.synthesize([config], outdir)
    return config, json.loads((outdir / "stacks" / name / "cdk.tf.json").read_text(encoding="utf-8"))


def test_hosted_zone_gets_one_a_alias_record_to_the_alb(zoned: tuple[Any, dict[str, Any]]) -> None:
    config, stack = zoned
    (key,) = stack["resource"][RECORD]
    record = stack["resource"][RECORD][key]
    (alb_key,) = stack["resource"]["aws_lb"]
    assert key.startswith("load_balancer_dns")
    assert record["zone_id"] == ZONE
    assert record["name"] == config.load_balancer.domain_name
    assert record["type"] == "A", "the ALB is IPv4 only: no AAAA record"
    assert record["alias"] == {
        "name": f"${{aws_lb.{alb_key}.dns_name}}",
        "zone_id": f"${{aws_lb.{alb_key}.zone_id}}",
        "evaluate_target_health": True,
    }
    assert "records" not in record and "ttl" not in record, "an alias record has neither"


def test_endpoint_url_is_the_alias_record(zoned: tuple[Any, dict[str, Any]]) -> None:
    _, stack = zoned
    (key,) = stack["resource"][RECORD]
    assert stack["output"]["endpoint_url"]["value"] == f"https://${{{RECORD}.{key}.name}}"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_dns_record_without_a_hosted_zone(synth: SynthOutput, env: str) -> None:
    assert synth.configs[env].load_balancer.hosted_zone_id is None, "shipped files leave the zone to the user"
    assert not resources(synth.stack(env), RECORD)


def test_pulumi_declares_the_same_alias_record(zoned: tuple[Any, dict[str, Any]]) -> None:
    """Parity for the record (the shipped files have no zone, so ``test_pulumi_parity`` never sees one)."""
    from rudder_ha.topologies.single_node.pulumi import build
    from tests.support.parity import Aspect, Normalized, cdktf_resources, compare, pulumi_resources
    from tests.support.pulumi_mocks import run_program

    config, stack = zoned
    mocks = run_program(lambda: build(config).outputs(), stack=config.environment, region=config.region)

    def records(normalized: list[Normalized]) -> list[Normalized]:
        return [r for r in normalized if r.type == RECORD]

    cdktf = records(cdktf_resources(stack, config.region))
    pulumi = records(pulumi_resources(mocks, config.region))
    assert len(cdktf) == len(pulumi) == 1
    assert pulumi[0].props["alias"]["evaluate_target_health"] is True
    assert not compare(Aspect("dns", (RECORD,), ()), cdktf, pulumi)
