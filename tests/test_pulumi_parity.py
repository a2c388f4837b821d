"""Parity: the cdktf stack and the Pulumi program, built from one environment file, declare the same
resources with the same settings.

Every resource of every shipped single-node environment is compared property by property (after the
normalization in :mod:`tests.support.parity`), grouped by what the issue asks to hold equal. The only
properties left out are listed in :data:`NOT_COMPARABLE`, each with the reason, and with what is compared
in its place.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from rudder_ha.config import load_environments, shipped_environment_files
from tests.support.parity import Aspect, Normalized, cdktf_resources, compare, leaves, pulumi_resources

SINGLE_NODE = sorted(
    c.environment for c in load_environments(shipped_environment_files()) if c.topology == "single_node"
)

NOT_COMPARABLE = {
    "filename": "aws_lambda_function: cdktf points at its asset copy in cdktf.out, Pulumi uploads a FileArchive; "
    "both are built by rudder_ha.parts.python_function.package and source_code_hash (compared) is the zip's SHA-256",
    "code": "aws_lambda_function: Pulumi's name for the archive (see filename)",
    "source": "aws_s3_object: cdktf's asset path vs Pulumi's FileAsset of the same bundle; the object key "
    "carries the bundle's SHA-256 and source_hash/etag are compared",
}
"""Properties each front end spells in its own way, and what is compared instead."""

ASPECTS = (
    Aspect("health check", ("aws_lb_target_group",), ()),
    Aspect("autoscaling group and lifecycle hook", ("aws_autoscaling_group", "aws_autoscaling_lifecycle_hook"), ()),
    Aspect("launch template (IMDSv2, volumes, user data)", ("aws_launch_template",), ()),
    Aspect(
        "load balancer, listener TLS, web ACL and DNS record",
        (
            "aws_lb",
            "aws_lb_listener",
            "aws_route53_record",
            "aws_wafv2_web_acl",
            "aws_wafv2_web_acl_association",
            "aws_wafv2_web_acl_logging_configuration",
        ),
        (),
    ),
    Aspect(
        "network and security groups",
        (
            "aws_vpc",
            "aws_subnet",
            "aws_internet_gateway",
            "aws_nat_gateway",
            "aws_eip",
            "aws_route_table",
            "aws_route",
            "aws_route_table_association",
            "aws_flow_log",
            "aws_default_security_group",
            "aws_security_group",
            "aws_vpc_security_group_ingress_rule",
            "aws_vpc_security_group_egress_rule",
        ),
        (),
    ),
    Aspect(
        "encryption and storage",
        (
            "aws_kms_key",
            "aws_kms_alias",
            "aws_s3_bucket",
            "aws_s3_bucket_server_side_encryption_configuration",
            "aws_s3_bucket_public_access_block",
            "aws_s3_bucket_policy",
            "aws_s3_bucket_versioning",
            "aws_s3_bucket_ownership_controls",
            "aws_s3_bucket_lifecycle_configuration",
            "aws_s3_object",
            "aws_cloudwatch_log_group",
            "aws_dynamodb_table",
            "aws_ssm_parameter",
            "aws_ssm_document",
            "aws_db_instance",
            "aws_db_parameter_group",
            "aws_db_subnet_group",
        ),
        (),
        ignore=("source",),
    ),
    Aspect(
        "IAM",
        ("aws_iam_role", "aws_iam_role_policy", "aws_iam_role_policy_attachment", "aws_iam_instance_profile"),
        (),
    ),
    Aspect(
        "alarms, alert routing and dashboard",
        (
            "aws_cloudwatch_metric_alarm",
            "aws_sns_topic",
            "aws_sns_topic_policy",
            "aws_sns_topic_subscription",
            "aws_cloudwatch_dashboard",
        ),
        (),
    ),
    Aspect(
        "drain pipeline and Lambda functions",
        (
            "aws_lambda_function",
            "aws_lambda_permission",
            "aws_lambda_event_source_mapping",
            "aws_lambda_function_event_invoke_config",
            "aws_sqs_queue",
            "aws_sqs_queue_policy",
            "aws_cloudwatch_event_rule",
            "aws_cloudwatch_event_target",
        ),
        (),
        ignore=("filename", "code"),
    ),
    Aspect(
        "image pipeline",
        (
            "aws_imagebuilder_component",
            "aws_imagebuilder_distribution_configuration",
            "aws_imagebuilder_image",
            "aws_imagebuilder_image_pipeline",
            "aws_imagebuilder_image_recipe",
            "aws_imagebuilder_infrastructure_configuration",
            "aws_kms_grant",
        ),
        (),
    ),
)
COVERED = {kind for aspect in ASPECTS for kind in aspect.types}


@pytest.fixture(scope="module")
def normalized(synth: Any, pulumi_runs: dict[str, Any]) -> dict[str, tuple[list[Normalized], list[Normalized]]]:
    """environment -> (cdktf resources, Pulumi resources), normalized alike."""
    out = {}
    for environment in SINGLE_NODE:
        region = synth.configs[environment].region
        out[environment] = (
            cdktf_resources(synth.stack(environment), region),
            pulumi_resources(pulumi_runs[environment], region),
        )
    return out


def test_every_single_node_environment_is_compared() -> None:
    assert {"dev", "staging", "prod"} <= set(SINGLE_NODE)


@pytest.mark.parametrize("environment", SINGLE_NODE)
def test_same_resources(environment: str, normalized: dict) -> None:
    """The same number of resources of every Terraform type, and no type the comparison would skip."""
    cdktf, pulumi = normalized[environment]
    left, right = Counter(r.type for r in cdktf), Counter(r.type for r in pulumi)
    problems = [
        f"{kind}: {left[kind]} in cdktf, {right[kind]} in Pulumi"
        for kind in sorted(set(left) | set(right))
        if left[kind] != right[kind]
    ]
    problems += [f"{kind}: not covered by any parity aspect" for kind in sorted(set(left) - COVERED)]
    assert not problems, f"{environment}:\n" + "\n".join(problems)


@pytest.mark.parametrize("aspect", ASPECTS, ids=lambda a: a.title)
@pytest.mark.parametrize("environment", SINGLE_NODE)
def test_front_ends_agree(environment: str, aspect: Aspect, normalized: dict) -> None:
    cdktf, pulumi = normalized[environment]
    problems = compare(aspect, cdktf, pulumi)
    assert not problems, f"{environment}: the front ends differ:\n" + "\n".join(problems)


@pytest.mark.parametrize("environment", SINGLE_NODE)
def test_same_provider_settings(environment: str, synth: Any, pulumi_runs: dict[str, Any]) -> None:
    """Region, the accounts it may touch, and the default tags (but for managed-by)."""
    (cdktf_provider,) = synth.stack(environment)["provider"]["aws"]
    (pulumi_provider,) = [r for r in pulumi_runs[environment].resources if r.type == "pulumi:providers:aws"]
    tags = json.loads(pulumi_provider.inputs["defaultTags"])["tags"]
    assert pulumi_provider.inputs["region"] == cdktf_provider["region"]
    assert json.loads(pulumi_provider.inputs.get("allowedAccountIds", "[]")) == cdktf_provider.get(
        "allowed_account_ids", []
    )
    expected = {**cdktf_provider["default_tags"][0]["tags"], "managed-by": "pulumi"}
    assert tags == expected


def _one(resources: list[Normalized], kind: str) -> Normalized:
    (found,) = [r for r in resources if r.type == kind]
    return found


def test_a_changed_setting_is_reported_readably(normalized: dict) -> None:
    """The comparison can fail, and says where: a health-check interval changed on one side only."""
    cdktf, pulumi = normalized["dev"]
    group = _one(pulumi, "aws_lb_target_group")
    changed = Normalized(
        group.type, group.name, {**group.props, "health_check": {**group.props["health_check"], "interval": 30}}
    )
    problems = compare(ASPECTS[0], cdktf, [changed if r is group else r for r in pulumi])
    interval = _one(cdktf, "aws_lb_target_group").props["health_check"]["interval"]
    assert problems == [
        f"health check: aws_lb_target_group {group.name}: health_check.interval: cdktf={interval} pulumi=30"
    ]


def test_a_missing_resource_is_reported(normalized: dict) -> None:
    cdktf, pulumi = normalized["dev"]
    alarms = next(a for a in ASPECTS if a.title.startswith("alarms"))
    victim = next(r for r in pulumi if r.type == "aws_cloudwatch_metric_alarm")
    problems = compare(alarms, cdktf, [r for r in pulumi if r is not victim])
    assert problems == [f"{alarms.title}: aws_cloudwatch_metric_alarm {victim.name}: 1 in cdktf, 0 in Pulumi"]


def test_references_are_compared_by_target(normalized: dict) -> None:
    """A reference reads the same on both sides only when it points at the same resource's attribute."""
    cdktf, pulumi = normalized["prod"]
    for side in (cdktf, pulumi):
        group = _one(side, "aws_autoscaling_group")
        assert group.props["launch_template"]["id"] == f"{{ref:aws_launch_template:{group.name}.id}}"
        assert group.props["target_group_arn"] == ["{ref:aws_lb_target_group:rudder-ha-prod-gw.arn}"]


def test_a_reference_to_another_resource_is_reported(normalized: dict) -> None:
    """Pointing the group at the wrong launch template is a difference even though both are ids."""
    cdktf, pulumi = normalized["prod"]
    group = _one(pulumi, "aws_autoscaling_group")
    wrong = {**group.props["launch_template"], "id": "{ref:aws_launch_template:some-other-template.id}"}
    changed = Normalized(group.type, group.name, {**group.props, "launch_template": wrong})
    problems = compare(ASPECTS[1], cdktf, [changed if r is group else r for r in pulumi])
    expected = f"{{ref:aws_launch_template:{group.name}.id}}"
    assert problems == [
        f"{ASPECTS[1].title}: aws_autoscaling_group {group.name}: launch_template.id: "
        f'cdktf="{expected}" pulumi="{{ref:aws_launch_template:some-other-template.id}}"'
    ]


@pytest.mark.parametrize("environment", SINGLE_NODE)
def test_the_comparison_covers_the_settings(environment: str, normalized: dict) -> None:
    """Not an empty comparison: thousands of settings per environment, and the ones the issue names."""
    cdktf, _ = normalized[environment]
    settings = sum(len(leaves(r.props)) for r in cdktf)
    assert settings > 1000
    group = _one(cdktf, "aws_autoscaling_group")
    # prod runs a hot standby, which fails /health by design: EC2 health checks (tests/test_failover.py)
    assert group.props["health_check_type"] == ("EC2" if environment == "prod" else "ELB")
    assert group.props["initial_lifecycle_hook"]["lifecycle_transition"] == "autoscaling:EC2_INSTANCE_TERMINATING"
    template = _one(cdktf, "aws_launch_template")
    assert template.props["metadata_option"]["http_token"] == "required"  # names are singular (see parity.py)
    assert _one(cdktf, "aws_lb_target_group").props["health_check"]["path"] == "/health"
