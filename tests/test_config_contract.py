"""The configuration contract: any environment file either validates *and* synthesizes, or is refused with
one line per problem. Here: the reading rules, the rules that span files, validation agreeing with what the
EKS synthesis builds, and the property itself (``validate says OK => synth succeeds``) over environment
files generated from the schema's edges and from known-tricky values."""

from __future__ import annotations

import copy
import json
import math
import re
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from rudder_ha.cli import main
from rudder_ha.config import ConfigError, Problem, load_environments
from rudder_ha.config.loader import _build, check, problems_in
from rudder_ha.config.schema_messages import schema
from rudder_ha.topologies import registry
from tests.support.documents import DELETE, with_setting
from tests.support.paths import REPO

SHIPPED = {p.stem: yaml.safe_load(p.read_text(encoding="utf-8")) for p in (REPO / "environments").glob("*.yaml")}
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"


# --- the schema and the reader ---------------------------------------------------------------------------


def _patterns(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
        return own + [p for value in node.values() for p in _patterns(value)]
    if isinstance(node, list):
        return [p for value in node for p in _patterns(value)]
    return []


def test_every_schema_pattern_is_anchored_so_full_matching_is_what_it_says() -> None:
    patterns = _patterns(schema())
    assert len(patterns) > 20
    assert [p for p in patterns if not (p.startswith("^") and p.endswith("$"))] == []


@pytest.mark.parametrize(
    ("scalar", "value"),
    [
        ("true", True),
        ("False", False),
        ("~", None),
        ("null", None),
        ("", None),
        ("900", 900),
        ("-3", -3),
        ("010", 10),
        ("0o17", 15),
        ("0x1F", 31),
        ("1.5", 1.5),
        ("1e3", 1000.0),
        ("yes", "yes"),
        ("off", "off"),
        ("2024-01-01", "2024-01-01"),
        ("15:00", "15:00"),
        ("1_000", "1_000"),
        ("'900'", "900"),
        ('"true"', "true"),
        ("!!str 5", "5"),
    ],
)
def test_plain_scalars_resolve_as_yaml_1_2_core_does(scalar: str, value: Any) -> None:
    from rudder_ha.config.reading import read_text

    assert read_text(f"x: {scalar}\n", "t.yaml") == {"x": value}


def test_non_finite_numbers_are_read_then_refused() -> None:
    from rudder_ha.config.reading import read_text

    assert math.isinf(read_text("x: .inf\n", "t.yaml")["x"])
    doc = with_setting(SHIPPED["prod"], "alerting.thresholds.target_response_time_seconds", math.nan)
    assert [p.path for p in problems_in(doc, "prod.yaml", "prod")] == [
        "alerting.thresholds.target_response_time_seconds"
    ]


def test_a_problem_is_always_one_line() -> None:
    line = str(Problem("a\nb.yaml", "tags.x\u202ey", "is\nbad\x1b[2J; fix it"))
    assert "\n" not in line and "\x1b" not in line and "\u202e" not in line
    assert line == "a\\u000ab.yaml: tags.x\\u202ey: is\\u000abad\\u001b[2J; fix it"


def test_shipped_files_pass_every_rule_together() -> None:
    assert len(load_environments(sorted((REPO / "environments").glob("*.yaml")))) == len(SHIPPED)


# --- what environments loaded together must not share ------------------------------------------------------


def _write(folder: Path, doc: dict[str, Any]) -> Path:
    path = folder / f"{doc['environment']}.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (
            with_setting(SHIPPED["dev"], "state.key", "shared/env.tfstate"),
            with_setting(SHIPPED["staging"], "state.key", "shared/env.tfstate"),
        ),
        # the eks topology keeps two states, <key>-cluster and <key>-workload: a single-node key may not be one
        (
            with_setting(SHIPPED["prod-eks"], "state.key", "team/eks.tfstate"),
            with_setting(SHIPPED["dev"], "state.key", "team/eks-cluster.tfstate"),
        ),
    ],
    ids=["same key", "an eks stack's key"],
)
def test_two_environments_never_share_a_state_object(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], first: dict[str, Any], second: dict[str, Any]
) -> None:
    paths = [_write(tmp_path, first), _write(tmp_path, second)]
    assert main(["validate", *map(str, paths)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    for path, line in zip(paths, lines, strict=True):
        assert line.startswith(f"{path}: state.key: puts state at s3://acme-rudder-ha-tfstate/")
        assert "give each environment its own key" in line
    with pytest.raises(ConfigError) as refused:
        load_environments(paths)
    assert {p.file for p in refused.value.problems if p.path == "state.key"} == set(map(str, paths))
    # each file alone is fine
    assert main(["validate", str(paths[0])]) == 0
    assert main(["validate", str(paths[1])]) == 0


def test_a_key_in_another_environments_place_is_refused_even_alone() -> None:
    doc = with_setting(SHIPPED["staging"], "state.key", "rudder-ha/prod/terraform.tfstate")
    (problem,) = problems_in(doc, "staging.yaml", "staging")
    assert problem.path == "state.key" and "where environment prod keeps its state" in problem.message


# --- validation runs what the EKS synthesis runs -------------------------------------------------------------


def _builds(doc: dict[str, Any]) -> bool:
    """Whether the EKS workload settings of ``doc`` can be built (what the workload stack does first)."""
    from rudder_ha.topologies.eks.k8s.from_config import workload_settings

    try:
        workload_settings(_build(doc, "prod-eks.yaml"))
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("grace", [60, 61, 80, 94, 95, 96, 120])
def test_validation_and_the_workload_agree_on_the_grace_period(grace: int) -> None:
    doc = with_setting(SHIPPED["prod-eks"], "eks.termination_grace_period_seconds", grace)
    refused = [p for p in problems_in(doc, "prod-eks.yaml", "prod-eks") if p.path.startswith("eks.termination")]
    assert bool(refused) == (not _builds(doc))
    if refused:
        assert refused[0].message.endswith("raise it to at least 95")


@pytest.mark.parametrize("version", ["1.29", "1.30", "1.31", "1.40"])
def test_validation_and_the_workload_agree_on_the_kubernetes_version(version: str) -> None:
    doc = with_setting(SHIPPED["prod-eks"], "eks.kubernetes_version", version)
    refused = [p for p in problems_in(doc, "prod-eks.yaml", "prod-eks") if p.path == "eks.kubernetes_version"]
    assert bool(refused) == (not _builds(doc))


def test_every_workload_refusal_names_a_setting_and_a_fix() -> None:
    from rudder_ha.config.rules import workload_finding

    for message in (
        "kubernetes_version: 1.30 or newer is needed",
        "prod-eks: allowed_account_ids: the eks topology needs the account",
        "ingress.health_check_timeout_seconds: 5s is not shorter than the 5s interval",
        "network.public_subnet_cidrs: cannot tell the subnets' CIDRs",
        "something new went wrong",
    ):
        path, text = workload_finding(message, "prod-eks")
        assert path in {"eks", "eks.kubernetes_version", "allowed_account_ids", "health_check.timeout_seconds"} | {
            "network.public_subnet_cidrs"
        }
        assert "; " in text


# --- the property: validate says OK => synth succeeds ------------------------------------------------------------


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema()["$defs"][node["$ref"].rsplit("/", 1)[1]]
    return node


def _leaves(node: dict[str, Any], path: str = "") -> list[tuple[str, dict[str, Any]]]:
    node = _resolve(node)
    if "properties" in node:
        return [
            leaf for key, sub in node["properties"].items() for leaf in _leaves(sub, f"{path}.{key}" if path else key)
        ]
    return [(path, node)]


def _optional(node: dict[str, Any], path: str = "") -> list[str]:
    """Every setting that may be left out: the schema's non-required properties, at any depth."""
    node = _resolve(node)
    out = []
    for key, sub in node.get("properties", {}).items():
        child = f"{path}.{key}" if path else key
        if key not in node.get("required", []):
            out.append(child)
        out += _optional(sub, child)
    return out


LEAVES = dict(_leaves(schema()))
OPTIONAL = _optional(schema())
Value = Any | Callable[[dict[str, Any]], Any]


def _account(doc: dict[str, Any]) -> str:
    return (doc.get("allowed_account_ids") or ["333333333333"])[0]


def _arn(service: str, resource: str) -> Callable[[dict[str, Any]], str]:
    return lambda doc: f"arn:aws:{service}:{doc['region']}:{_account(doc)}:{resource}"


KEY = _arn("kms", f"key/{KEY_ID}")
SECRET = _arn("secretsmanager", "secret:rudder-ha/x/token-AbCdEf")

VALID: dict[str, list[Value]] = {
    "environment": ["abc", "a-very-long-env1"],
    "region": ["eu-west-1"],
    "allowed_account_ids": [[], ["333333333333"], ["333333333333", "222222222222"]],
    "tags": [{}, {"a b": "c d"}, {"k:/=+@-._": "v:/=+@-._"}, {"x": ""}, {"owner": "o" * 256}, {"team": "données ✓"}],
    "state.bucket": ["abc", "a" + "b" * 61 + "c", "acme.state-bucket"],
    "state.key": ["env.tfstate", "deep/a/b/c.tfstate", "x_y-z.1.tfstate"],
    "state.region": ["eu-west-1", "us-east-1"],
    "state.kms_key_id": [KEY, "alias/terraform-state", KEY_ID, "mrk-" + "0" * 32],
    "network.vpc_id": ["vpc-0a1b2c3d4e5f60718"],
    "network.public_subnet_ids": [["subnet-0aa1111111111111a", "subnet-0bb2222222222222b"]],
    "network.private_subnet_ids": [["subnet-0cc3333333333333c", "subnet-0dd4444444444444d"]],
    "network.vpc_cidr": ["10.0.0.0/16", "10.20.0.0/24", "192.168.0.0/20"],
    "network.availability_zones": [["eu-west-1a", "eu-west-1b"], ["eu-west-1a", "eu-west-1b", "eu-west-1c"]],
    "network.public_subnet_cidrs": [DELETE],
    "network.private_subnet_cidrs": [DELETE],
    "load_balancer.domain_name": ["events.example.com", "a.io", "x" * 63 + ".example.com"],
    "load_balancer.certificate_arn": [_arn("acm", "certificate/66666666-7777-8888-9999-000000000000")],
    "load_balancer.waf_web_acl_arn": [
        _arn("wafv2", "regional/webacl/rudder_acl-1/a1b2c3d4-5678-90ab-cdef-111111111111")
    ],
    "load_balancer.ingress_cidrs": [["10.0.0.0/8"], ["0.0.0.0/0", "192.168.1.0/24"]],
    "instance.instance_type": ["t3.micro", "m7i-flex.large"],
    "instance.ami": ["ami-0123456789abcdef0", "resolve:ssm:/my/ami"],
    "instance.ebs_kms_key_arn": [KEY, _arn("kms", "alias/ebs")],
    "rudder.backend_image": [
        "rudderlabs/rudder-server:1.62.1",
        "rudderlabs/rudder-server:1.83.0",
        "r.example.com:5000/t/rudder:1.70.2@sha256:" + "a" * 64,
    ],
    "rudder.transformer_image": ["rudder:1.93.0@sha256:" + "b" * 64, "rudderstack/rudder-transformer:1.145.0"],
    "rudder.postgres_image": ["postgres:16.4", "postgres:15.10-alpine"],
    "rudder.control_plane_url": ["https://api.rudderstack.com", "https://cp.example.com:8443/p?x=1&y='q'"],
    "rudder.workspace_token": [
        {"ssm_parameter": "/a"},
        lambda doc: {"secrets_manager_arn": SECRET(doc)},
        lambda doc: {"ssm_parameter": "/x/y." + "z" * 900, "kms_key_arn": KEY(doc)},
    ],
    "rudder.extra_env": [
        {},
        {"RSERVER_A": ""},
        {"RSERVER_B": "a\"b'c\\d $HOME #x {{ y }} % $ { } `id`"},
        {"RSERVER_C": "données ✓", "RSERVER_D_2": "1"},
    ],
    "alerting.pagerduty_routing_key": ["/a/b", SECRET],
    "alerting.victorops_url": ["/v"],
    "alerting.slack_webhook_url": [SECRET],
    "alerting.secrets_kms_key_arn": [KEY],
    "image_pipeline.schedule": ["cron(0 3 ? * SUN *)", "cron(0 0 1 * ? *)"],
    "image_pipeline.build_instance_type": ["c7i.large"],
    "jobsdb.instance_class": ["db.t4g.micro"],
    "jobsdb.engine_version": ["15", "16.4", "17"],
    "jobsdb.kms_key_arn": [KEY],
    "eks.kubernetes_version": ["1.30", "1.31", "1.39"],
    "eks.public_access_cidrs": [["203.0.113.0/24"]],
    "eks.admin_principal_arns": [
        [],
        lambda doc: [f"arn:aws:iam::{_account(doc)}:role/a/b/platform-admin", "arn:aws:iam::999999999999:user/x.y@z"],
    ],
    "eks.node_instance_type": ["m6i.large"],
}
"""Valid values of the string, list and mapping settings (a value or a function of the document)."""

KNOWN_NETWORKS = {
    "six zones in a /24": {"vpc_cidr": "10.9.0.0/24", "availability_zones": [f"eu-west-1{z}" for z in "abcdef"]},
    "existing VPC": {
        "vpc_id": "vpc-0a1b2c3d4e5f60718",
        "availability_zones": ["eu-west-1a", "eu-west-1b"],
        "public_subnet_ids": ["subnet-0aa1111111111111a", "subnet-0bb2222222222222b"],
        "private_subnet_ids": ["subnet-0cc3333333333333c", "subnet-0dd4444444444444d"],
    },
    "existing VPC, three zones": {
        "vpc_id": "vpc-0a1b2c3d4e5f60718",
        "availability_zones": ["eu-west-1a", "eu-west-1b", "eu-west-1c"],
        "public_subnet_ids": ["subnet-0aa1111111111111a", "subnet-0bb2222222222222b"],
        "private_subnet_ids": ["subnet-0cc3333333333333c", "subnet-0dd4444444444444d"],
    },
}

TRICKY: list[tuple[str, Value]] = [
    ("eks.kubernetes_version", "1.29"),
    ("eks.termination_grace_period_seconds", 94),
    ("eks.termination_grace_period_seconds", 95),
    ("eks.backend_replica_count", 50),
    ("eks.nodes_per_az", {"min": 0, "desired": 0, "max": 1}),
    ("eks.endpoint_public_access", True),
    ("autoscaling.lifecycle_hook.heartbeat_timeout_seconds", 7200),
    ("drain.deadline_seconds", 172_799),
    ("drain.deadline_seconds", 900.0),
    ("drain.poll_interval_seconds", 900),
    ("state.key", "rudder-ha/someone-else/terraform.tfstate"),
    ("tags", {"aws:created": "x"}),
    ("environment", "dev\n"),
    ("load_balancer.http_only", True),
    *(("network", network) for network in KNOWN_NETWORKS.values()),
    ("image_pipeline", {"enabled": True, "schedule": "cron(0 3 ? * SUN *)"}),
    ("jobsdb", {"mode": "rds", "multi_az": True, "allocated_storage_gib": 65536, "max_allocated_storage_gib": 65536}),
    ("autoscaling.warm_pool", {"enabled": True, "pool_state": "Hibernated", "min_size": 2}),
]
"""Known-tricky values: at the edge of a rule, or once refused by synthesis rather than by validation (the
test also runs the worst of them as explicit examples)."""


def _edges(path: str, node: dict[str, Any]) -> list[Value]:
    """Valid values of one schema leaf at its edges."""
    if path in VALID:
        return VALID[path]
    if "enum" in node:
        return list(node["enum"])
    kind = node.get("type")
    if kind == "boolean":
        return [True, False]
    if kind == "integer":
        low = node.get("minimum", 0)
        high = node.get("maximum", low * 10 or 100)
        return sorted({low, high, min(low + 1, high), max(high - 1, low)})
    if kind == "number":
        low = node.get("exclusiveMinimum", node.get("minimum", 0))
        high = node.get("maximum", 100)
        return [low + 0.5, high, (low + high) / 2]
    return []


MUTABLE = sorted(path for path, node in LEAVES.items() if _edges(path, node))
PATTERNED = sorted(
    path
    for path, node in LEAVES.items()
    if "pattern" in node and "(?" not in node["pattern"] and path not in ("environment", "region")
)
"""String settings whose values can be drawn from their own pattern (any string the schema accepts)."""


@st.composite
def environment_documents(draw: st.DrawFn) -> dict[str, Any]:
    """A shipped file with one to three mutations: a schema leaf set to one of its edge values, a string
    setting set to any value its pattern accepts, an optional setting left out, a section emptied, or a
    known-tricky value. Mostly settings the file's topology reads, so most documents stay valid."""
    by_topology = {t: sorted(e for e, d in SHIPPED.items() if registry.of(d).name == t) for t in registry.TOPOLOGIES}
    base = draw(st.sampled_from(by_topology[draw(st.sampled_from(sorted(by_topology)))]))
    doc = copy.deepcopy(SHIPPED[base])
    topology = registry.of(doc)
    readable = [p for p in MUTABLE if topology.reads_setting(p)]
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        kind = draw(st.sampled_from(["edge", "edge", "edge", "pattern", "drop", "tricky"]))
        if kind == "pattern":
            path = draw(st.sampled_from([p for p in PATTERNED if topology.reads_setting(p)]))
            value = draw(st.from_regex(LEAVES[path]["pattern"], fullmatch=True).filter(str.isprintable))
        elif kind == "edge":
            path = draw(st.sampled_from(readable if draw(st.integers(0, 9)) else MUTABLE))
            value = draw(st.sampled_from(_edges(path, LEAVES[path])))
        elif kind == "drop":
            path = draw(st.sampled_from([p for p in OPTIONAL if topology.reads_setting(p)]))
            value = draw(st.sampled_from([DELETE, {}])) if "properties" in _resolve(_schema_at(path)) else DELETE
        else:
            path, value = draw(st.sampled_from(TRICKY))
        doc = with_setting(doc, path, value(doc) if callable(value) else value)
    return doc


def _schema_at(path: str) -> dict[str, Any]:
    node = schema()
    for part in path.split("."):
        node = _resolve(node)["properties"][part]
    return node


def _backend_keys(outdir: Path, stacks: list[str]) -> list[str]:
    keys = []
    for name in stacks:
        synthesized = json.loads((outdir / "stacks" / name / "cdk.tf.json").read_text(encoding="utf-8"))
        keys.append(synthesized["terraform"]["backend"]["s3"]["key"])
    return keys


SYNTHESIZED_AT_LEAST = 10
"""Different accepted files that must have synthesized (of about 45 drawn per round, most of them mutated
shipped files: a third or more are usually accepted)."""
ROUNDS = 3
"""Rounds of drawing at most, should a round have drawn too few accepted files."""


@pytest.mark.synth
def test_validate_ok_implies_synth_succeeds(
    record_property: Callable[[str, object], None], in_process_synthesis: ModuleType
) -> None:
    """Every generated file that validation accepts synthesizes, in one process (jsii starts once), and its
    stacks keep their state exactly where the topology says (``Topology.state_keys``).

    At least :data:`SYNTHESIZED_AT_LEAST` different accepted files must have synthesized, two per topology:
    how many of a run's drawn files validation accepts varies (hypothesis mutates its earlier draws, so a
    run can draw mostly refused ones), so a run that falls short draws another round, up to
    :data:`ROUNDS` (each round draws as many again; a file already synthesized is not counted twice)."""
    from rudder_ha.config.reading import read_text

    outcomes: Counter[str] = Counter()
    synthesized: dict[str, set[str]] = {name: set() for name in registry.TOPOLOGIES}

    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(doc=environment_documents())
    @example(doc=with_setting(SHIPPED["prod-eks"], "eks.kubernetes_version", "1.29"))
    @example(doc=with_setting(SHIPPED["prod-eks"], "eks.termination_grace_period_seconds", 94))
    @example(doc=with_setting(SHIPPED["prod-eks"], "rudder.backend_image", DELETE))
    @example(doc=with_setting(SHIPPED["dev"], "environment", "dev\n"))
    @example(doc=with_setting(SHIPPED["prod-eks"], "network", KNOWN_NETWORKS["existing VPC, three zones"]))
    def validate_then_synth(doc: dict[str, Any]) -> None:
        stem = doc["environment"] if isinstance(doc.get("environment"), str) else "env"
        label = f"{re.sub(r'[^a-z0-9-]', '_', stem)}.yaml"
        try:
            parsed = read_text(yaml.safe_dump(doc, allow_unicode=True), label)
        except ConfigError:
            outcomes["refused"] += 1
            return
        config, problems = check(parsed, label, stem)
        if config is None:
            assert problems
            outcomes["refused"] += 1
            return
        drawn = json.dumps(doc, sort_keys=True, default=str)
        if drawn in synthesized[config.topology]:
            return  # an explicit example, run again by a later round
        with tempfile.TemporaryDirectory() as out:
            app, stacks = in_process_synthesis.build_app([config], Path(out))
            app.synth()
            keys = _backend_keys(Path(out), stacks)
        assert sorted(keys) == sorted(registry.named(config.topology).state_keys(config.state.key))
        synthesized[config.topology].add(drawn)
        outcomes[f"synthesized {config.topology}"] += 1

    def enough() -> bool:
        total = sum(len(files) for files in synthesized.values())
        return total >= SYNTHESIZED_AT_LEAST and all(len(files) >= 2 for files in synthesized.values())

    for _ in range(ROUNDS):
        validate_then_synth()
        outcomes["rounds"] += 1
        if enough():
            break
    record_property("outcomes", dict(outcomes))
    print(f"\nvalidate => synth: {dict(outcomes)}")
    assert enough(), outcomes
