"""``python -m rudder_ha validate`` and the loader: good files, many bad ones, and fuzzed ones."""

from __future__ import annotations

import copy
import ipaddress
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rudder_ha.cli import main
from rudder_ha.config import ConfigError, load_environment
from rudder_ha.config.loader import problems_in
from tests.support.documents import DELETE
from tests.support.documents import with_setting as edit
from tests.support.paths import REPO

LINE = re.compile(r"^(?P<file>[^:]+): (?P<path>[^:]+): (?P<message>.+)$")
PROD = yaml.safe_load((REPO / "environments" / "prod.yaml").read_text())
DEV = yaml.safe_load((REPO / "environments" / "dev.yaml").read_text())
STAGING = yaml.safe_load((REPO / "environments" / "staging.yaml").read_text())
PROD_EKS = yaml.safe_load((REPO / "environments" / "prod-eks.yaml").read_text())
ZONE = "Z0123456789ABCDEFGHIJ"


def write(tmp_path: Path, doc: Any, stem: str | None = None) -> Path:
    stem = stem or (doc.get("environment") if isinstance(doc, dict) else "bad") or "bad"
    path = tmp_path / f"{stem}.yaml"
    path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc))
    return path


def test_shipped_files_validate(capsys: pytest.CaptureFixture[str]) -> None:
    files = sorted(str(p) for p in (REPO / "environments").glob("*.yaml"))
    assert main(["validate", *files]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == len(files) == 4
    assert all(": OK: " in line for line in out)
    assert "prod (prod, single_node) in eu-west-1: 3 AZs" in "\n".join(out)


def test_defaults_fill_what_the_file_leaves_out(tmp_path: Path) -> None:
    config = load_environment(REPO / "environments" / "dev.yaml")
    assert config.health_check.interval_seconds == 5
    assert config.health_check.unhealthy_threshold == 2
    assert config.health_check.timeout_seconds < config.health_check.interval_seconds
    assert config.state.key == "rudder-ha/dev/terraform.tfstate"
    assert config.state.region == "eu-west-1"
    assert config.load_balancer.deletion_protection is False
    assert config.instance.ami.startswith("resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023")
    vpc = ipaddress.IPv4Network(config.network.vpc_cidr)
    subnets = [
        ipaddress.IPv4Network(c) for c in config.network.public_subnet_cidrs + config.network.private_subnet_cidrs
    ]
    assert len(subnets) == 4
    assert all(s.subnet_of(vpc) for s in subnets)
    assert not any(a.overlaps(b) for i, a in enumerate(subnets) for b in subnets[i + 1 :])
    prod = load_environment(REPO / "environments" / "prod.yaml")
    assert prod.load_balancer.deletion_protection is True
    assert prod.network.nat_gateways == "one_per_az"
    assert prod.autoscaling.lifecycle_hook.global_timeout_seconds == 90_000


BAD_CASES: list[tuple[str, dict[str, Any] | str, str, str]] = [
    ("missing region", edit(PROD, "region", DELETE), "region", "is required"),
    (
        "unknown field",
        edit(PROD, "load_balancer.sslpolicy", "x"),
        "load_balancer",
        "unknown field(s) sslpolicy",
    ),
    ("bad tier", edit(PROD, "tier", "production"), "tier", 'use one of "dev", "staging", "prod"'),
    ("bad region", edit(PROD, "region", "Europe"), "region", "AWS region name"),
    (
        "one AZ",
        edit(DEV, "network.availability_zones", ["eu-west-1a"]),
        "network.availability_zones",
        "at least 2",
    ),
    (
        "duplicate AZ",
        edit(DEV, "network.availability_zones", ["eu-west-1a", "eu-west-1a"]),
        "network.availability_zones",
        "twice",
    ),
    (
        "AZ of another region",
        edit(DEV, "network.availability_zones", ["eu-west-1a", "us-east-1b"]),
        "network.availability_zones[1]",
        "not in region eu-west-1",
    ),
    (
        "prod with two AZs",
        edit(PROD, "network.availability_zones", ["eu-west-1a", "eu-west-1b"]),
        "network.availability_zones",
        "prod spreads over 3",
    ),
    (
        "subnet outside the VPC",
        edit(DEV, "network.private_subnet_cidrs", ["10.10.0.0/20", "10.99.0.0/20"]),
        "network.private_subnet_cidrs[1]",
        "outside the VPC CIDR",
    ),
    (
        "overlapping subnets",
        edit(
            edit(DEV, "network.private_subnet_cidrs", ["10.10.0.0/20", "10.10.16.0/20"]),
            "network.public_subnet_cidrs",
            ["10.10.8.0/24", "10.10.128.0/24"],
        ),
        "network.private_subnet_cidrs[0]",
        "overlaps 10.10.8.0/24 (network.public_subnet_cidrs[0])",
    ),
    (
        "subnet count differs from AZ count",
        edit(DEV, "network.private_subnet_cidrs", ["10.10.0.0/20"]),
        "network.private_subnet_cidrs",
        "1 CIDRs for 2 zones",
    ),
    (
        "host bits set",
        edit(DEV, "network.private_subnet_cidrs", ["10.10.0.1/20", "10.10.16.0/20"]),
        "network.private_subnet_cidrs[0]",
        "did you mean 10.10.0.0/20",
    ),
    ("VPC too large", edit(DEV, "network.vpc_cidr", "10.0.0.0/8"), "network.vpc_cidr", "use /16 to /24"),
    (
        "domain without certificate",
        edit(PROD, "load_balancer.certificate_arn", DELETE),
        "load_balancer.certificate_arn",
        "required when load_balancer.domain_name is set",
    ),
    (
        "http only in prod",
        edit(PROD, "load_balancer", {"http_only": True}),
        "load_balancer.http_only",
        "only allowed in the dev tier",
    ),
    (
        "http only with a certificate",
        edit(DEV, "load_balancer.certificate_arn", PROD["load_balancer"]["certificate_arn"]),
        "load_balancer.http_only",
        "contradicts",
    ),
    (
        "no certificate and not http only",
        edit(DEV, "load_balancer", {}),
        "load_balancer.certificate_arn",
        "http_only: true",
    ),
    (
        "certificate from another region",
        edit(
            PROD,
            "load_balancer.certificate_arn",
            PROD["load_balancer"]["certificate_arn"].replace("eu-west-1", "us-east-1"),
        ),
        "load_balancer.certificate_arn",
        "not in region eu-west-1",
    ),
    (
        "prod without deletion protection",
        edit(PROD, "load_balancer.deletion_protection", False),
        "load_balancer.deletion_protection",
        "must stay on in prod",
    ),
    (
        "timeout not shorter than interval",
        edit(PROD, "health_check.timeout_seconds", 5),
        "health_check.timeout_seconds",
        "not shorter than the 5s interval",
    ),
    (
        "grace period shorter than the healthy threshold",
        edit(
            edit(PROD, "autoscaling.health_check_grace_period_seconds", 10),
            "health_check.healthy_threshold",
            3,
        ),
        "autoscaling.health_check_grace_period_seconds",
        "raise it to at least 15",
    ),
    (
        "heartbeat shorter than deregistration delay",
        edit(PROD, "autoscaling.lifecycle_hook.heartbeat_timeout_seconds", 30),
        "autoscaling.lifecycle_hook.heartbeat_timeout_seconds",
        "raise it above 30",
    ),
    (
        "interval below the ALB minimum",
        edit(PROD, "health_check.interval_seconds", 2),
        "health_check.interval_seconds",
        "use at least 5",
    ),
    (
        "token in two stores",
        edit(
            PROD,
            "rudder.workspace_token.secrets_manager_arn",
            STAGING["rudder"]["workspace_token"]["secrets_manager_arn"],
        ),
        "rudder.workspace_token",
        "exactly one",
    ),
    ("token nowhere", edit(PROD, "rudder.workspace_token", {}), "rudder.workspace_token", "exactly one"),
    (
        "a secret in extra_env",
        edit(PROD, "rudder.extra_env", {"RSERVER_WAREHOUSE_PASSWORD": "hunter2"}),
        "rudder.extra_env.RSERVER_WAREHOUSE_PASSWORD",
        "looks like a secret",
    ),
    (
        # rudder-server would keep the warehouse's uploads in a database the drain check cannot see
        "the warehouse in a database of its own",
        edit(PROD, "rudder.extra_env", {"WAREHOUSE_JOBS_DB_HOST": "warehouse.internal"}),
        "rudder.extra_env",
        "name rudder-server settings RSERVER_",
    ),
    ("reserved tag", edit(PROD, "tags.environment", "x"), "tags.environment", "set by rudder-ha itself"),
    (
        "unpinned image",
        edit(PROD, "rudder.backend_image", "rudderlabs/rudder-server:latest"),
        "rudder.backend_image",
        "pin the image",
    ),
    (
        "existing VPC with a CIDR",
        edit(STAGING, "network.vpc_cidr", "10.0.0.0/16"),
        "network.vpc_cidr",
        "only applies when the stack creates the VPC",
    ),
    (
        "existing VPC with one private subnet",
        edit(STAGING, "network.private_subnet_ids", ["subnet-0cc3333333333333c"]),
        "network.private_subnet_ids",
        "at least 2 AZs",
    ),
    (
        "subnet ids without a VPC",
        edit(DEV, "network.private_subnet_ids", ["subnet-0cc3333333333333c", "subnet-0dd4444444444444d"]),
        "network.private_subnet_ids",
        "needs network.vpc_id",
    ),
    (
        "heartbeat too short for a failed drain step",
        edit(PROD, "autoscaling.lifecycle_hook.heartbeat_timeout_seconds", 600),
        "autoscaling.lifecycle_hook.heartbeat_timeout_seconds",
        "raise it to at least 780",
    ),
    (
        "drain deadline past the hook's global timeout",
        edit(PROD, "drain.deadline_seconds", 100_000),
        "drain.deadline_seconds",
        "global timeout of 90000s",
    ),
    ("eks section without the eks topology", edit(PROD, "eks", {}), "eks", "only applies with topology: eks"),
    (
        "public endpoint without CIDRs",
        edit(PROD_EKS, "eks.endpoint_public_access", True),
        "eks.public_access_cidrs",
        "is required with endpoint_public_access",
    ),
    (
        "prod endpoint open to the internet",
        edit(
            edit(PROD_EKS, "eks.endpoint_public_access", True),
            "eks.public_access_cidrs",
            ["0.0.0.0/0"],
        ),
        "eks.public_access_cidrs",
        "opens the prod API endpoint",
    ),
    (
        "node counts out of order",
        edit(PROD_EKS, "eks.nodes_per_az", {"min": 3, "desired": 1, "max": 2}),
        "eks.nodes_per_az",
        "min <= desired <= max",
    ),
    (
        "grace period beyond the hook",
        edit(
            edit(PROD_EKS, "eks.termination_grace_period_seconds", 86400),
            "autoscaling.lifecycle_hook.heartbeat_timeout_seconds",
            780,
        ),
        "eks.termination_grace_period_seconds",
        "outlasts the node lifecycle hook",
    ),
    (
        "hosted zone without a domain",
        edit(edit(PROD, "load_balancer.hosted_zone_id", ZONE), "load_balancer.domain_name", DELETE),
        "load_balancer.hosted_zone_id",
        "needs load_balancer.domain_name",
    ),
    (
        "hosted zone with http_only",
        edit(DEV, "load_balancer.hosted_zone_id", ZONE),
        "load_balancer.hosted_zone_id",
        "does not apply to an HTTP-only load balancer",
    ),
    (
        "hosted zone in eks",
        edit(PROD_EKS, "load_balancer.hosted_zone_id", ZONE),
        "load_balancer.hosted_zone_id",
        "only applies with topology: single_node; the eks topology ignores it (the Ingress's ALB is made by the "
        "load balancer controller",
    ),
    (
        "hosted zone path instead of id",
        edit(PROD, "load_balancer.hosted_zone_id", f"/hostedzone/{ZONE}"),
        "load_balancer.hosted_zone_id",
        "use a Route 53 hosted zone id",
    ),
    (
        "warm pool settings while off",
        edit(DEV, "autoscaling.warm_pool", {"enabled": False, "min_size": 1}),
        "autoscaling.warm_pool.enabled",
        "set enabled: true",
    ),
    (
        "eks cpu limit below request",
        edit(PROD_EKS, "eks.resources.backend", {"cpu_request": "2", "cpu_limit": "1500m"}),
        "eks.resources.backend.cpu_limit",
        "1500m is below cpu_request 2; raise the limit or lower the request",
    ),
    (
        "eks memory limit below the default request",
        edit(PROD_EKS, "eks.resources.postgres", {"memory_limit": "512Mi"}),
        "eks.resources.postgres.memory_limit",
        "512Mi is below memory_request 1Gi; raise the limit or lower the request",
    ),
    (
        "eks malformed memory quantity",
        edit(PROD_EKS, "eks.resources.transformer", {"memory_request": "2GB"}),
        "eks.resources.transformer.memory_request",
        'use a quantity such as "512Mi" or "4Gi"',
    ),
    (
        "eks unquoted cpu quantity",
        edit(PROD_EKS, "eks.resources.drain", {"cpu_limit": 1}),
        "eks.resources.drain.cpu_limit",
        'quote it: "1"',
    ),
    (
        "eks zero cpu request",
        edit(PROD_EKS, "eks.resources.drain", {"cpu_request": "0.0"}),
        "eks.resources.drain.cpu_request",
        "is zero; use a size above zero",
    ),
]

EKS_RESOURCE_CASES = [c for c in BAD_CASES if c[2].startswith("eks.resources.")]


@pytest.mark.parametrize(("doc", "path", "fragment"), [c[1:] for c in BAD_CASES], ids=[c[0] for c in BAD_CASES])
def test_bad_file_is_refused_with_field_and_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], doc: dict[str, Any], path: str, fragment: str
) -> None:
    file = write(tmp_path, doc)
    assert main(["validate", str(file)]) == 1
    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert "Traceback" not in out.out + out.err
    assert lines, "no problem reported"
    parsed = [LINE.match(line) for line in lines]
    assert all(parsed), f"malformed lines: {lines}"
    assert any(m["file"] == str(file) and m["path"] == path and fragment in m["message"] for m in parsed if m), lines


@pytest.mark.parametrize(
    ("doc", "path", "fragment"), [c[1:] for c in EKS_RESOURCE_CASES], ids=[c[0] for c in EKS_RESOURCE_CASES]
)
def test_bad_eks_resources_are_one_line_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], doc: dict[str, Any], path: str, fragment: str
) -> None:
    """A refused request or limit is reported once, at its field, with the fix (not again by the workload
    backstop), so ``validate`` and synthesis agree on it."""
    file = write(tmp_path, doc)
    assert main(["validate", str(file)]) == 1
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    (line,) = out.out.splitlines()
    parsed = LINE.match(line)
    assert parsed, line
    assert (parsed["file"], parsed["path"]) == (str(file), path)
    assert fragment in parsed["message"], line


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("environment: dev\ntier: [unclosed\n", "(top level): is not valid YAML at line"),
        ("- a\n- b\n", "(top level): must be a YAML mapping"),
        ("environment: dev\nenvironment: prod\n", "environment: is set twice (line 2, column 1); duplicate key"),
        ("", "(top level): must be a YAML mapping"),
    ],
)
def test_unparseable_file(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, fragment: str) -> None:
    file = write(tmp_path, text, stem="dev")
    assert main(["validate", str(file)]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"{file}: {fragment}")


def test_file_name_must_match_environment(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = write(tmp_path, PROD, stem="staging")
    assert main(["validate", str(file)]) == 1
    assert "environment: is 'prod' but the file is staging.yaml" in capsys.readouterr().out


def test_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "/nonexistent/prod.yaml"]) == 1
    assert "cannot be read" in capsys.readouterr().out


def test_every_problem_is_reported_not_just_the_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = edit(edit(PROD, "tier", "nope"), "region", "nowhere")
    assert main(["validate", str(write(tmp_path, doc))]) == 1
    paths = {LINE.match(line)["path"] for line in capsys.readouterr().out.splitlines()}
    assert {"tier", "region"} <= paths


def test_validate_as_a_command_exits_1_without_traceback(tmp_path: Path) -> None:
    file = write(tmp_path, edit(DEV, "network.availability_zones", ["eu-west-1a"]))
    run = subprocess.run(
        [sys.executable, "-m", "rudder_ha", "validate", str(file)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert run.returncode == 1
    assert run.stdout.startswith(f"{file}: network.availability_zones: ")
    assert "Traceback" not in run.stderr


def test_synth_refuses_invalid_file_and_writes_nothing(tmp_path: Path) -> None:
    envs = tmp_path / "environments"
    envs.mkdir()
    write(envs, DEV)
    bad = write(envs, edit(PROD, "health_check.timeout_seconds", 9))
    outdir = tmp_path / "out"
    run = subprocess.run(
        [sys.executable, "-m", "rudder_ha", "synth", "--environments-dir", str(envs), "--outdir", str(outdir)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
        timeout=60,
    )
    assert run.returncode == 1
    assert f"{bad}: health_check.timeout_seconds: 9s is not shorter than the 5s interval" in run.stderr
    assert "nothing was written" in run.stderr
    assert "Traceback" not in run.stderr
    assert not outdir.exists()


def test_synth_of_an_unknown_environment_is_refused(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "rudder_ha", "synth", "qa", "--outdir", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
        timeout=60,
    )
    assert run.returncode == 1
    assert "qa.yaml: (top level): no such environment; pick one of dev, prod-eks, prod, staging" in run.stderr
    assert not (tmp_path / "out").exists()


# --- fuzzing -------------------------------------------------------------------------------------

JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.text(max_size=20),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def _leaf_paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in _leaf_paths(v, (*prefix, k))] or [prefix]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in _leaf_paths(v, (*prefix, i))] or [prefix]
    return [prefix]


@pytest.mark.parametrize("key", [":", ":\x1f", "a:b", "x: y"])
def test_a_key_holding_a_colon_keeps_the_line_in_three_parts(key: str) -> None:
    doc = copy.deepcopy(PROD)
    doc["environment"] = {key: 1}
    problems = problems_in(doc, "fuzz.yaml", "")
    assert problems
    for problem in problems:
        found = LINE.match(str(problem))
        assert found, str(problem)
        assert found["file"] == "fuzz.yaml"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(base=st.sampled_from([PROD, DEV, STAGING]), data=st.data())
def test_any_mutation_is_either_accepted_or_explained(base: dict[str, Any], data: st.DataObject) -> None:
    doc = copy.deepcopy(base)
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        path = data.draw(st.sampled_from(_leaf_paths(doc)))
        node = doc
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = data.draw(JUNK)
    problems = problems_in(
        doc, "fuzz.yaml", doc.get("environment", "") if isinstance(doc.get("environment"), str) else ""
    )
    for problem in problems:
        assert LINE.match(str(problem)), str(problem)
        assert problem.message and ";" in problem.message, f"no fix given: {problem}"


@settings(max_examples=60, deadline=None)
@given(
    second_octet=st.integers(min_value=0, max_value=255),
    prefix=st.integers(min_value=16, max_value=20),
    zones=st.integers(min_value=2, max_value=6),
)
def test_default_subnets_always_fit_the_vpc(second_octet: int, prefix: int, zones: int) -> None:
    vpc = ipaddress.IPv4Network(f"10.{second_octet}.0.0/{prefix}", strict=False)
    doc = edit(
        DEV, "network", {"vpc_cidr": str(vpc), "availability_zones": [f"eu-west-1{c}" for c in "abcdef"[:zones]]}
    )
    assert problems_in(doc, "dev.yaml", "dev") == []
    from rudder_ha.config.loader import _build

    net = _build(doc, "dev.yaml").network
    cidrs = [ipaddress.IPv4Network(c) for c in net.public_subnet_cidrs + net.private_subnet_cidrs]
    assert len(cidrs) == 2 * zones
    assert all(c.subnet_of(vpc) for c in cidrs)
    assert not any(a.overlaps(b) for i, a in enumerate(cidrs) for b in cidrs[i + 1 :])


def test_config_error_lists_problems_sorted_and_unique(tmp_path: Path) -> None:
    file = write(tmp_path, edit(PROD, "region", "x"))
    with pytest.raises(ConfigError) as err:
        load_environment(file)
    assert err.value.problems == sorted(set(err.value.problems))


def test_every_pattern_in_the_schema_explains_its_fix() -> None:
    from rudder_ha.config.schema_messages import schema

    def walk(node: Any, path: str) -> list[str]:
        missing = []
        if isinstance(node, dict):
            if "pattern" in node and "x-fix" not in node:
                missing.append(path)
            for key, value in node.items():
                missing += walk(value, f"{path}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                missing += walk(value, f"{path}/{i}")
        return missing

    assert walk(schema(), "") == []


@pytest.mark.parametrize(
    ("doc", "path", "fragment"),
    [
        (edit(PROD, "jobsdb", {"mode": "instance"}), "jobsdb.mode", "must be rds in prod"),
        (edit(PROD, "jobsdb", {"mode": "rds", "multi_az": False}), "jobsdb.multi_az", "must stay on in prod"),
        (
            edit(PROD, "jobsdb", {"allocated_storage_gib": 500, "max_allocated_storage_gib": 100}),
            "jobsdb.max_allocated_storage_gib",
            "below allocated_storage_gib",
        ),
        (edit(DEV, "jobsdb", {"instance_class": "db.t4g.medium"}), "jobsdb.instance_class", "only applies"),
        (
            edit(DEV, "jobsdb", {"mode": "rds", "engine_version": "9.6"}),
            "jobsdb.engine_version",
            "major version",
        ),
    ],
    ids=["prod on instance", "prod single-AZ", "storage ceiling", "rds setting in instance mode", "old engine"],
)
def test_jobsdb_rules(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], doc: dict[str, Any], path: str, fragment: str
) -> None:
    assert main(["validate", str(write(tmp_path, doc))]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert any(f": {path}: " in line and fragment in line for line in lines), lines


def test_jobsdb_mode_defaults_by_tier() -> None:
    assert load_environment(REPO / "environments" / "prod.yaml").jobsdb.mode == "rds"
    assert load_environment(REPO / "environments" / "dev.yaml").jobsdb.mode == "instance"


# --- supported rudder-server releases (rudder_ha/config/versions.py) ---------------------------------------

SERVER = "rudderlabs/rudder-server"
DIGEST = "sha256:" + "e" * 64


@pytest.mark.parametrize(
    ("image", "fragment"),
    [
        (f"{SERVER}:1.61.9", "outside the supported range v1.62.x through v1.83.x"),
        (f"{SERVER}:1.84.0", "outside the supported range v1.62.x through v1.83.x"),
        (f"{SERVER}:0.1.0", "outside the supported range"),
        (f"{SERVER}:1.83.0-rc.1", "not a release MAJOR.MINOR.PATCH"),
        (f"{SERVER}:1.83", "not a release MAJOR.MINOR.PATCH"),
        (f"{SERVER}@{DIGEST}", f"e.g. {SERVER}:1.83.0@{DIGEST}"),
    ],
    ids=["below", "above", "ancient", "release candidate", "minor only", "digest without tag"],
)
def test_backend_image_outside_the_supported_range_is_refused_with_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], image: str, fragment: str
) -> None:
    file = write(tmp_path, edit(PROD, "rudder.backend_image", image))
    assert main(["validate", str(file)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1, lines
    match = LINE.match(lines[0])
    assert match and match["file"] == str(file) and match["path"] == "rudder.backend_image", lines
    assert fragment in match["message"] and "e.g." in match["message"], lines


@pytest.mark.parametrize(
    "image",
    [f"{SERVER}:1.62.0", f"{SERVER}:1.62.1", f"{SERVER}:1.70.3", f"{SERVER}:1.83.0", f"{SERVER}:1.83.7@{DIGEST}"],
)
def test_backend_image_in_the_supported_range_is_accepted(tmp_path: Path, image: str) -> None:
    config = load_environment(write(tmp_path, edit(PROD, "rudder.backend_image", image)))
    release = config.rudder.server_version
    assert release is not None and (1, 62) <= release.line <= (1, 83)


@pytest.mark.parametrize(
    ("image", "fragment"),
    [
        ("rudderstack/rudder-transformer@" + DIGEST, "without its release tag"),
        ("rudderstack/rudder-transformer:1.145", "not a release"),
    ],
)
def test_transformer_image_must_name_a_release(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], image: str, fragment: str
) -> None:
    assert main(["validate", str(write(tmp_path, edit(DEV, "rudder.transformer_image", image)))]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert any(": rudder.transformer_image: " in line and fragment in line for line in lines), lines


def test_shipped_environments_pin_the_newest_releases() -> None:
    from rudder_ha.config.versions import NEWEST_SERVER_IMAGE, NEWEST_TRANSFORMER_IMAGE, SUPPORTED_SERVER

    for path in sorted((REPO / "environments").glob("*.yaml")):
        config = load_environment(path)
        assert config.rudder.backend_image == NEWEST_SERVER_IMAGE, path
        assert config.rudder.transformer_image == NEWEST_TRANSFORMER_IMAGE, path
        assert config.rudder.server_version is not None
        assert config.rudder.server_version.line == SUPPORTED_SERVER[1], path


def test_the_readme_states_the_supported_range() -> None:
    from rudder_ha.config.versions import supported_range

    assert f"rudder-server {supported_range()}" in (REPO / "README.md").read_text(encoding="utf-8")


# --- event archive ------------------------------------------------------------------------------------------


def test_event_archive_defaults_on_in_prod_only() -> None:
    prod = load_environment(REPO / "environments" / "prod.yaml").event_archive
    assert prod.enabled and prod.transition_days == 30 and prod.expiration_days == 365
    assert not load_environment(REPO / "environments" / "dev.yaml").event_archive.enabled
    assert not load_environment(REPO / "environments" / "staging.yaml").event_archive.enabled
    # The eks topology wires no archive, so even its prod tier has none (and refuses the section).
    assert not load_environment(REPO / "environments" / "prod-eks.yaml").event_archive.enabled


def test_event_archive_can_be_turned_on_in_dev(tmp_path: Path) -> None:
    doc = edit(DEV, "event_archive", {"enabled": True, "transition_days": 60, "expiration_days": 90})
    archive = load_environment(write(tmp_path, doc)).event_archive
    assert (archive.enabled, archive.transition_days, archive.expiration_days) == (True, 60, 90)


@pytest.mark.parametrize(
    ("settings", "path", "fragment"),
    [
        ({"transition_days": 29}, "event_archive.transition_days", "raise it to at least 30"),
        ({"transition_days": 90, "expiration_days": 90}, "event_archive.expiration_days", "above transition_days"),
        ({"enabled": False, "transition_days": 60}, "event_archive.transition_days", "set enabled: true"),
        ({"transition_storage_class": "GLACIER", "transition_days": 1, "expiration_days": 0}, "event_archive", "2"),
    ],
    ids=["IA too early", "expires with the transition", "settings while off", "expiry below the schema minimum"],
)
def test_event_archive_rules(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], settings: dict[str, Any], path: str, fragment: str
) -> None:
    assert main(["validate", str(write(tmp_path, edit(PROD, "event_archive", settings)))]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert any(f": {path}" in line and fragment in line for line in lines), lines
