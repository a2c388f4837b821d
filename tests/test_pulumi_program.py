"""The Pulumi program as a whole: which environments it takes, what it refuses, what it exports, and that
it stays independent of cdktf. Runs under Pulumi's in-process mocks: no CLI, no plugin, no AWS."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from rudder_ha.config import ConfigError, load_environments, shipped_environment_files
from rudder_ha.topologies.single_node.pulumi import load_stack_environment
from tests.support.pulumi_mocks import run_program

REPO = Path(__file__).resolve().parents[1]
PROGRAM_DIR = REPO / "pulumi-program"
SINGLE_NODE = sorted(
    c.environment for c in load_environments(shipped_environment_files()) if c.topology == "single_node"
)


def test_project_file_points_at_the_project_venv_and_program() -> None:
    project = yaml.safe_load((PROGRAM_DIR / "Pulumi.yaml").read_text())
    assert project["name"] == "rudder-ha"
    assert project["runtime"]["name"] == "python"
    assert (PROGRAM_DIR / project["runtime"]["options"]["virtualenv"] / "bin").resolve() == (REPO / ".venv" / "bin")
    assert (PROGRAM_DIR / "__main__.py").is_file()


def test_one_stack_file_per_single_node_environment() -> None:
    stacks = {p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in PROGRAM_DIR.glob("Pulumi.*.yaml")}
    assert stacks == set(SINGLE_NODE)
    for stack in stacks:
        settings = yaml.safe_load((PROGRAM_DIR / f"Pulumi.{stack}.yaml").read_text())["config"]
        assert settings == {"rudder-ha:environment": stack}
        assert load_stack_environment(stack, settings["rudder-ha:environment"]).environment == stack


def test_the_eks_topology_is_refused_with_the_fix() -> None:
    eks = [c.environment for c in load_environments(shipped_environment_files()) if c.topology == "eks"]
    assert eks, "a shipped EKS environment is needed for this test"
    with pytest.raises(ConfigError) as refused:
        load_stack_environment("whatever", eks[0])
    message = str(refused.value)
    assert f"{eks[0]}.yaml: topology:" in message
    assert "single-node HA topology only" in message
    assert f"make deploy ENV={eks[0]}" in message


def test_an_unknown_stack_is_refused_with_the_fix() -> None:
    with pytest.raises(ConfigError) as refused:
        load_stack_environment("qa")
    message = str(refused.value)
    assert "qa.yaml" in message and "pulumi config set rudder-ha:environment" in message
    assert "dev" in message and "prod" in message


def test_an_invalid_environment_file_is_refused_before_anything_is_declared(tmp_path: Path) -> None:
    source = yaml.safe_load((REPO / "environments" / "dev.yaml").read_text())
    source["health_check"] = {**source.get("health_check", {}), "interval_seconds": 1}
    (tmp_path / "dev.yaml").write_text(yaml.safe_dump(source))
    with pytest.raises(ConfigError) as refused:
        load_stack_environment("dev", environments_dir=tmp_path)
    assert "health_check.interval_seconds" in str(refused.value)


def test_the_program_never_loads_cdktf() -> None:
    """cdktf is deprecated and its jsii runtime costs 10-15 s per run: the Pulumi path must not touch it."""
    probe = (
        "import sys, rudder_ha.topologies.single_node.pulumi\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'cdktf', 'jsii', 'constructs'}\n"
        "             or m.startswith('cdktf_') or (m.startswith('rudder_ha.') and 'cdktf' in m.split('.')))\n"
        "print(bad)\n"
    )
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, check=True)
    assert run.stdout.strip() == "[]"


@pytest.mark.parametrize("environment", SINGLE_NODE)
def test_outputs_match_the_cdktf_stack(environment: str, synth: Any, pulumi_runs: dict[str, Any]) -> None:
    assert set(pulumi_runs[environment].result) == set(synth.stack(environment)["output"])


def test_main_deploys_the_stack_named_environment(pulumi_runs: dict[str, Any]) -> None:
    """``pulumi up`` on stack ``dev`` (no setting) declares what ``build(dev)`` declares."""
    from rudder_ha.topologies.single_node.pulumi import main

    mocks = run_program(main, stack="dev", region=pulumi_runs["dev"].region)
    assert sorted(r.name for r in mocks.resources) == sorted(r.name for r in pulumi_runs["dev"].resources)


@pytest.mark.parametrize("environment", SINGLE_NODE)
def test_every_resource_is_inside_a_component(environment: str, pulumi_runs: dict[str, Any]) -> None:
    """Logical names are ``<component>-<cdktf construct id>``: a state file reads like the cdktf tree."""
    components = {"key", "network", "load_balancer", "jobsdb", "artifacts", "instance_role", "data_plane"}
    components |= {"alerting", "drain", "dashboard", "image_pipeline", "event_archive", "drill_experiment"}
    for resource in pulumi_runs[environment].resources:
        if resource.type.startswith("aws:"):
            assert resource.name.split("-")[0] in components, resource.name


@pytest.mark.parametrize(
    ("kms_key_id", "provider"),
    [
        (None, "passphrase"),
        ("alias/rudder-ha-state", "awskms://alias/rudder-ha-state?region=eu-west-1"),
        (
            "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "awskms:///arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab?region=eu-west-1",
        ),
    ],
)
def test_pulumi_state_sits_beside_terraform_state(kms_key_id: str | None, provider: str) -> None:
    import dataclasses

    from rudder_ha.frontends.pulumi.backend import pulumi_backend

    config = load_stack_environment("prod")
    config = dataclasses.replace(config, state=dataclasses.replace(config.state, kms_key_id=kms_key_id))
    backend = pulumi_backend(config)
    assert backend.url == f"s3://{config.state.bucket}/pulumi?region={config.state.region}&awssdk=v2"
    assert backend.secrets_provider == provider


def test_pulumi_backend_command_prints_shell_lines() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "rudder_ha", "pulumi-backend", "dev"], capture_output=True, text=True, cwd=REPO
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [
        "export PULUMI_BACKEND_URL='s3://acme-rudder-ha-tfstate/pulumi?region=eu-west-1&awssdk=v2'",
        "export PULUMI_SECRETS_PROVIDER='passphrase'",
    ]


def test_entry_point_refuses_a_bad_stack_with_the_fix() -> None:
    """``pulumi up`` on a stack whose environment is EKS: the problem and its fix, no traceback."""
    import runpy

    def program() -> None:
        runpy.run_path(str(PROGRAM_DIR / "__main__.py"), run_name="__main__")

    with pytest.raises(SystemExit) as refused:
        run_program(program, stack="prod-eks", region="eu-west-1")
    message = str(refused.value)
    assert message.startswith("rudder-ha: the environment cannot be deployed:\n")
    assert "prod-eks.yaml: topology:" in message and "make deploy ENV=prod-eks" in message


def test_entry_point_deploys_the_stack_named_environment(pulumi_runs: dict[str, Any]) -> None:
    import runpy

    def program() -> None:
        runpy.run_path(str(PROGRAM_DIR / "__main__.py"), run_name="__main__")

    mocks = run_program(program, stack="staging", region=pulumi_runs["staging"].region)
    assert sorted(r.name for r in mocks.resources) == sorted(r.name for r in pulumi_runs["staging"].resources)


def test_replacement_order_is_terraforms(pulumi_runs: dict[str, Any]) -> None:
    """Fixed physical names: a replacement must delete first (Terraform's default), except the Image
    Builder parts the cdktf side marks create_before_destroy (their names carry a content version)."""
    create_first = {
        "aws:imagebuilder/component:Component",
        "aws:imagebuilder/imageRecipe:ImageRecipe",
        "aws:imagebuilder/image:Image",
    }
    resources = [r for r in pulumi_runs["prod"].resources if r.type.startswith("aws:")]
    assert {r.type for r in resources} >= create_first
    for resource in resources:
        expected = resource.type not in create_first
        assert resource.delete_before_replace is expected, (resource.type, resource.name)
