"""The topology registry is the one place that knows a topology by name."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from rudder_ha.config import load_environment
from rudder_ha.topologies import registry
from tests.support.paths import REPO

PACKAGE = REPO / "rudder_ha"
ALLOWED = {PACKAGE / "topologies" / "registry.py"}


def _compared_topology_names(path: Path) -> list[str]:
    """``file:line`` of every comparison (==, !=, in, not in) against a topology's name in ``path``."""
    names = set(registry.TOPOLOGIES)
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        literals = {o.value for o in operands if isinstance(o, ast.Constant) and isinstance(o.value, str)}
        for o in operands:
            if isinstance(o, (ast.Tuple, ast.List, ast.Set)):
                literals |= {e.value for e in o.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
        if literals & names:
            found.append(f"{path.relative_to(REPO) if path.is_relative_to(REPO) else path}:{node.lineno}")
    return found


def test_no_module_but_the_registry_compares_topology_names() -> None:
    offenders = [
        hit for path in sorted(PACKAGE.rglob("*.py")) if path not in ALLOWED for hit in _compared_topology_names(path)
    ]
    assert offenders == [], "ask rudder_ha.topologies.registry instead of comparing names: " + ", ".join(offenders)


def test_the_check_itself_finds_a_comparison(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('def f(config):\n    return config.topology == "eks" or config.topology in ("single_node",)\n')
    assert len(_compared_topology_names(sample)) == 2


def test_schema_offers_exactly_the_registered_topologies() -> None:
    schema = json.loads((PACKAGE / "config" / "schema.json").read_text(encoding="utf-8"))
    assert schema["properties"]["topology"]["enum"] == list(registry.TOPOLOGIES)
    assert registry.DEFAULT.name in registry.TOPOLOGIES


@pytest.mark.parametrize("environment", ["dev", "staging", "prod", "prod-eks"])
def test_every_shipped_environment_names_a_registered_topology(environment: str) -> None:
    config = load_environment(REPO / "environments" / f"{environment}.yaml")
    topology = registry.named(config.topology)
    assert (config.eks is not None) == (topology.settings_section == "eks")


def test_an_unknown_name_says_which_exist() -> None:
    with pytest.raises(KeyError, match="pick one of single_node, eks"):
        registry.named("kubernetes")


def test_rto_refuses_a_topology_without_a_failover_model() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "rudder_ha", "rto", "prod-eks"], capture_output=True, text=True, cwd=REPO, check=False
    )
    assert run.returncode == 1
    assert "prod-eks.yaml: topology: no failover model for eks" in run.stderr
    assert "Traceback" not in run.stderr and run.stdout == ""


def _schema_paths() -> set[str]:
    schema = json.loads((PACKAGE / "config" / "schema.json").read_text(encoding="utf-8"))

    def walk(node: dict, prefix: str) -> set[str]:
        while "$ref" in node:
            node = schema["$defs"][node["$ref"].rsplit("/", 1)[1]]
        out = set()
        for key, sub in node.get("properties", {}).items():
            path = f"{prefix}{key}"
            out |= {path} | walk(sub, f"{path}.")
        return out

    return walk(schema, "")


def test_what_each_topology_reads_is_a_setting_and_every_section_is_read_by_one() -> None:
    paths = _schema_paths()
    sections = {p for p in paths if "." not in p}
    for topology in registry.TOPOLOGIES.values():
        assert set(topology.reads) <= paths, topology.name
        for setting, _reason in topology.unread_reasons:
            assert setting in paths and not topology.reads_setting(setting), (topology.name, setting)
        assert topology.reads_setting("jobsdb") == topology.jobsdb_section
        for other in registry.TOPOLOGIES.values():
            if other.settings_section and other is not topology:
                assert not topology.reads_setting(other.settings_section)
    assert {s for s in sections if any(t.reads_setting(s) for t in registry.TOPOLOGIES.values())} == sections


def test_eks_ignores_what_its_stacks_never_read() -> None:
    eks = registry.named("eks")
    for setting in ("instance", "autoscaling.warm_pool", "degraded_mode", "image_pipeline", "jobsdb"):
        assert not eks.reads_setting(setting) and eks.unread_reason(setting), setting
    assert eks.reads_setting("autoscaling") and eks.reads_setting("autoscaling.lifecycle_hook.default_result")
    # receivers and thresholds reach the cluster stack's alerting and the workload stack's alarms
    assert eks.reads_setting("alerting.pagerduty_routing_key") and eks.reads_setting("alerting.thresholds")


def test_state_keys_are_where_the_stacks_keep_their_state() -> None:
    from rudder_ha.topologies.eks.contract import state_key

    config = load_environment(REPO / "environments" / "prod-eks.yaml")
    assert registry.named("eks").state_keys(config.state.key) == (
        state_key(config, "cluster"),
        state_key(config, "workload"),
    )
    assert registry.named("single_node").state_keys("a/b.tfstate") == ("a/b.tfstate",)
