"""The event archive and rudder-server's metrics, synthesized: the bucket is private, encrypted and aged out as
configured; rudder-server's archiver writes with a role that can do nothing else; the instance role can only
find the archive, assume that role and publish metrics to its own namespace; the dashboard shows
rudder-server's metrics; the Pulumi program declares the same resources.

dev with ``event_archive.enabled: true`` is synthesized here in-process (prod, where the archive is on by
default, also bakes an image, which these tests do not need)."""

from __future__ import annotations

import dataclasses
import json
from types import ModuleType
from typing import Any

import pytest

from rudder_ha.config import load_environment
from rudder_ha.instance import server_metrics
from rudder_ha.parts.event_archive import spec as archive_spec
from tests.support.paths import REPO
from tests.support.synth import resources

ENV = "dev"
NAMESPACE = server_metrics.namespace(ENV)
ARCHIVE_TYPES = (
    "aws_s3_bucket",
    "aws_s3_bucket_server_side_encryption_configuration",
    "aws_s3_bucket_public_access_block",
    "aws_s3_bucket_policy",
    "aws_s3_bucket_versioning",
    "aws_s3_bucket_ownership_controls",
    "aws_s3_bucket_lifecycle_configuration",
    "aws_ssm_parameter",
    "aws_iam_role",
    "aws_iam_role_policy",
    "aws_cloudwatch_dashboard",
)


def _policy(text: str) -> dict[str, Any]:
    return json.loads(text)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@pytest.fixture(scope="module")
def archived(tmp_path_factory: pytest.TempPathFactory, in_process_synthesis: ModuleType) -> tuple[Any, dict[str, Any]]:
    """dev with the event archive on (transition after 45 days to Glacier IR, expiry after 400), synthesized."""
    dev = load_environment(REPO / "environments" / f"{ENV}.yaml")
    archive = dataclasses.replace(
        dev.event_archive,
        enabled=True,
        transition_days=45,
        transition_storage_class="GLACIER_IR",
        expiration_days=400,
    )
    config = dataclasses.replace(dev, event_archive=archive)
    outdir = tmp_path_factory.mktemp("cdktf-archive.out")
    (name,) = in_process_synthesis.synthesize([config], outdir)
    return config, json.loads((outdir / "stacks" / name / "cdk.tf.json").read_text(encoding="utf-8"))


def _keyed(stack: dict[str, Any], kind: str, prefix: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in stack["resource"].get(kind, {}).items() if k.startswith(prefix)}


def _archive(stack: dict[str, Any], kind: str) -> dict[str, Any]:
    (only,) = _keyed(stack, kind, "event_archive_").values()
    return only


def _bucket_ref(stack: dict[str, Any]) -> str:
    (key,) = _keyed(stack, "aws_s3_bucket", "event_archive_")
    return key


def test_the_bucket_is_private_encrypted_and_owner_enforced(archived: tuple[Any, dict[str, Any]]) -> None:
    _, stack = archived
    bucket_key = _bucket_ref(stack)
    assert _archive(stack, "aws_s3_bucket")["bucket_prefix"] == "rudder-ha-dev-archive-"
    block = _archive(stack, "aws_s3_bucket_public_access_block")
    assert all(block[k] is True for k in archive_spec_public_access())
    ownership = _archive(stack, "aws_s3_bucket_ownership_controls")
    assert ownership["rule"]["object_ownership"] == "BucketOwnerEnforced"
    (rule,) = _archive(stack, "aws_s3_bucket_server_side_encryption_configuration")["rule"]
    default = rule["apply_server_side_encryption_by_default"]
    (key_id,) = stack["resource"]["aws_kms_key"]
    assert default == {"sse_algorithm": "aws:kms", "kms_master_key_id": f"${{aws_kms_key.{key_id}.arn}}"}
    assert rule["bucket_key_enabled"] is True
    assert _archive(stack, "aws_s3_bucket_policy")["bucket"] == f"${{aws_s3_bucket.{bucket_key}.id}}"


def archive_spec_public_access() -> tuple[str, ...]:
    from rudder_ha.parts.private_bucket.spec import PUBLIC_ACCESS_BLOCK

    return tuple(PUBLIC_ACCESS_BLOCK)


def test_the_bucket_policy_is_tls_only_and_only_the_writer_role_archives(
    archived: tuple[Any, dict[str, Any]],
) -> None:
    _, stack = archived
    bucket_arn = f"${{aws_s3_bucket.{_bucket_ref(stack)}.arn}}"
    (role_key,) = _keyed(stack, "aws_iam_role", "event_archive_")
    statements = {s["Sid"]: s for s in _policy(_archive(stack, "aws_s3_bucket_policy")["policy"])["Statement"]}
    tls = statements["DenyInsecureTransport"]
    assert tls["Effect"] == "Deny" and tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert sorted(tls["Resource"]) == sorted([bucket_arn, f"{bucket_arn}/*"])
    writer_only = statements["OnlyTheWriterRoleArchives"]
    assert writer_only["Effect"] == "Deny" and writer_only["Action"] == "s3:PutObject"
    assert writer_only["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": f"${{aws_iam_role.{role_key}.arn}}"}}


def test_the_lifecycle_transitions_and_expires_as_configured(archived: tuple[Any, dict[str, Any]]) -> None:
    _, stack = archived
    (rule,) = _archive(stack, "aws_s3_bucket_lifecycle_configuration")["rule"]
    assert rule["status"] == "Enabled"
    assert rule["transition"] == [{"days": 45, "storage_class": "GLACIER_IR"}]
    assert rule["expiration"] == [{"days": 400}]
    assert rule["abort_incomplete_multipart_upload"] == [{"days_after_initiation": 1}]


def test_the_writer_role_only_puts_objects_under_the_prefix(archived: tuple[Any, dict[str, Any]]) -> None:
    _, stack = archived
    ((role_key, role),) = _keyed(stack, "aws_iam_role", "event_archive_").items()
    (instance_role_key,) = [k for k in stack["resource"]["aws_iam_role"] if k.startswith("instance_role_")]
    trust = _policy(role["assume_role_policy"])["Statement"]
    assert trust == [
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"${{aws_iam_role.{instance_role_key}.arn}}"},
            "Action": "sts:AssumeRole",
        }
    ]
    assert role["max_session_duration"] == 3600
    writer = [p for p in resources(stack, "aws_iam_role_policy") if p["role"] == f"${{aws_iam_role.{role_key}.id}}"]
    assert len(writer) == 1
    statements = _policy(writer[0]["policy"])["Statement"]
    bucket_arn = f"${{aws_s3_bucket.{_bucket_ref(stack)}.arn}}"
    actions = sorted(a for s in statements for a in _list(s["Action"]))
    assert actions == ["kms:Decrypt", "kms:GenerateDataKey", "s3:PutObject"]
    put = next(s for s in statements if s["Action"] == "s3:PutObject")
    assert put["Resource"] == f"{bucket_arn}/{archive_spec.ARCHIVE_PREFIX}/*"
    kms = next(s for s in statements if s is not put)
    (key_id,) = stack["resource"]["aws_kms_key"]
    assert kms["Resource"] == f"${{aws_kms_key.{key_id}.arn}}"
    assert kms["Condition"]["StringEquals"] == {
        "kms:ViaService": "s3.eu-west-1.amazonaws.com",
        "kms:EncryptionContext:aws:s3:arn": bucket_arn,
    }


def test_the_instance_role_finds_the_archive_and_assumes_the_writer_nothing_more(
    archived: tuple[Any, dict[str, Any]],
) -> None:
    _, stack = archived
    (role_key,) = _keyed(stack, "aws_iam_role", "event_archive_")
    use = next(p for p in resources(stack, "aws_iam_role_policy") if p["name"] == archive_spec.INSTANCE_POLICY_NAME)
    assert use["role"].startswith("${aws_iam_role.instance_role_")
    statements = {s["Sid"]: s for s in _policy(use["policy"])["Statement"]}
    assert statements["FindEventArchive"]["Action"] == "ssm:GetParameter"
    assert statements["FindEventArchive"]["Resource"].endswith(":parameter/rudder-ha/dev/event-archive")
    assert statements["DecryptEventArchiveParameter"]["Condition"] == {
        "StringEquals": {"kms:ViaService": "ssm.eu-west-1.amazonaws.com"}
    }
    assert statements["AssumeArchiveWriter"] == {
        "Sid": "AssumeArchiveWriter",
        "Effect": "Allow",
        "Action": "sts:AssumeRole",
        "Resource": f"${{aws_iam_role.{role_key}.arn}}",
    }
    # No S3 action on the instance role touches the archive: only the writer role writes to it.
    instance_policies = [p for p in resources(stack, "aws_iam_role_policy") if "instance_role_" in p["role"]]
    bucket = _bucket_ref(stack)
    for inline in instance_policies:
        for statement in _policy(inline["policy"])["Statement"]:
            if any(a.startswith("s3:") for a in _list(statement["Action"])):
                assert bucket not in json.dumps(statement["Resource"]), statement


def test_the_parameter_names_bucket_prefix_and_writer_encrypted(archived: tuple[Any, dict[str, Any]]) -> None:
    _, stack = archived
    parameter = _archive(stack, "aws_ssm_parameter")
    (role_key,) = _keyed(stack, "aws_iam_role", "event_archive_")
    (key_id,) = stack["resource"]["aws_kms_key"]
    assert parameter["name"] == "/rudder-ha/dev/event-archive"
    assert parameter["type"] == "SecureString" and parameter["key_id"] == f"${{aws_kms_key.{key_id}.arn}}"
    assert json.loads(parameter["value"]) == {
        "bucket": f"${{aws_s3_bucket.{_bucket_ref(stack)}.bucket}}",
        "prefix": "gateway-jobs",
        "writer_role_arn": f"${{aws_iam_role.{role_key}.arn}}",
    }


def test_the_group_waits_for_the_parameter_and_the_bucket_is_an_output(archived: tuple[Any, dict[str, Any]]) -> None:
    _, stack = archived
    (parameter_key,) = _keyed(stack, "aws_ssm_parameter", "event_archive_")
    (group,) = resources(stack, "aws_autoscaling_group")
    assert f"aws_ssm_parameter.{parameter_key}" in group["depends_on"]
    output = stack["output"]["event_archive_bucket"]
    assert output["value"] == f"${{aws_s3_bucket.{_bucket_ref(stack)}.bucket}}" and output["description"]


def test_without_the_archive_there_is_nothing_of_it(archived: tuple[Any, dict[str, Any]]) -> None:
    from rudder_ha.instance.user_data import instance_settings

    dev = load_environment(REPO / "environments" / f"{ENV}.yaml")
    assert not dev.event_archive.enabled
    settings = instance_settings(dev)
    assert settings["RUDDER_EVENT_ARCHIVE"] == "off" and settings["RUDDER_EVENT_ARCHIVE_PARAMETER"] == ""
    config, _ = archived
    on = instance_settings(config)
    assert on["RUDDER_EVENT_ARCHIVE"] == "on"
    assert on["RUDDER_EVENT_ARCHIVE_PARAMETER"] == archive_spec.archive_parameter(ENV)


# --- rudder-server's metrics: the instance role may publish to one namespace; the dashboard reads it ----------


def test_the_instance_role_publishes_metrics_only_to_the_rudder_server_namespace(
    archived: tuple[Any, dict[str, Any]],
) -> None:
    _, stack = archived
    (publish,) = [p for p in resources(stack, "aws_iam_role_policy") if p["name"] == "publish-rudder-server-metrics"]
    assert publish["role"].startswith("${aws_iam_role.instance_role_")
    assert _policy(publish["policy"])["Statement"] == [
        {
            "Sid": "PublishRudderServerMetrics",
            "Effect": "Allow",
            "Action": "cloudwatch:PutMetricData",
            "Resource": "*",
            "Condition": {"StringEquals": {"cloudwatch:namespace": NAMESPACE}},
        }
    ]


def test_the_dashboard_shows_rudder_servers_own_metrics(archived: tuple[Any, dict[str, Any]]) -> None:
    _, stack = archived
    (dashboard,) = resources(stack, "aws_cloudwatch_dashboard")
    body = json.loads(dashboard["dashboard_body"])
    titles = {w["properties"].get("title") for w in body["widgets"]}
    assert {
        "rudder-server: gateway intake",
        "rudder-server: processor",
        "rudder-server: router and batch router",
    } <= titles
    expressions = [
        line[0]["expression"]
        for w in body["widgets"]
        if w["type"] == "metric"
        for line in w["properties"]["metrics"]
        if isinstance(line[0], dict) and "expression" in line[0]
    ]
    for metric in server_metrics.DASHBOARD_METRICS:
        assert f"SUM({metric.search(ENV)})" in expressions, metric.name
    assert all(f'"{NAMESPACE}"' in e for e in expressions if "SEARCH(" in e)
    # The grid holds: no widget overlaps another.
    cells = set()
    for w in body["widgets"]:
        for x in range(w["x"], w["x"] + w["width"]):
            for y in range(w["y"], w["y"] + w["height"]):
                assert (x, y) not in cells
                cells.add((x, y))


def test_namespaces_of_two_environments_never_match_each_other() -> None:
    """The dashboard searches the namespace as a quoted phrase; ``prod``'s must not be a phrase of ``prod-eks``."""
    import re

    def words(text: str) -> list[str]:
        return re.findall(r"[A-Za-z0-9]+", text)

    for mine, other in (("prod", "prod-eks"), ("dev", "dev-2"), ("staging", "pre-staging")):
        a, b = words(server_metrics.namespace(mine)), words(server_metrics.namespace(other))
        assert not any(b[i : i + len(a)] == a for i in range(len(b) - len(a) + 1)), (mine, other)


# --- the same in Pulumi -------------------------------------------------------------------------------------


def test_pulumi_declares_the_same_archive_and_metrics_resources(archived: tuple[Any, dict[str, Any]]) -> None:
    from rudder_ha.topologies.single_node.pulumi import build
    from tests.support.parity import Aspect, cdktf_resources, compare, pulumi_resources
    from tests.support.pulumi_mocks import run_program

    config, stack = archived
    mocks = run_program(lambda: build(config).outputs(), stack=config.environment, region=config.region)
    cdktf = [r for r in cdktf_resources(stack, config.region) if r.type in ARCHIVE_TYPES]
    pulumi = [r for r in pulumi_resources(mocks, config.region) if r.type in ARCHIVE_TYPES]
    assert len(cdktf) == len(pulumi) > 20
    assert {"aws_s3_bucket_lifecycle_configuration", "aws_iam_role", "aws_ssm_parameter"} <= {r.type for r in cdktf}
    assert not compare(Aspect("event archive and metrics", ARCHIVE_TYPES, ()), cdktf, pulumi)


def test_the_archived_stack_is_least_privilege(archived: tuple[Any, dict[str, Any]]) -> None:
    """The repository-wide check (``tests/test_iam_least_privilege.py``) over the archive-enabled stack."""
    from tests.test_iam_least_privilege import violations

    _, stack = archived
    assert violations({"rudder-ha-dev-archived": stack}) == []
