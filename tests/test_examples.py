"""Every app in ``examples/`` is built as its README says (``python main.py OUTDIR``, in its own directory,
with rudder-ha importable) and Terraform's parser reads every stack it writes
(:mod:`tests.support.terraform_parser`). The example with a VPC owned by another stack is checked for what
it claims: the data plane creates no network and reads the VPC and subnets from that stack's state."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.paths import REPO
from tests.support.terraform_parser import parse_stack

EXAMPLES_DIR = REPO / "examples"
EXAMPLES = sorted(p.parent.name for p in EXAMPLES_DIR.glob("*/main.py"))
SYNTH_TIMEOUT_SECONDS = 600
NETWORK_TYPES = {
    "aws_vpc",
    "aws_subnet",
    "aws_internet_gateway",
    "aws_nat_gateway",
    "aws_eip",
    "aws_route_table",
    "aws_flow_log",
    "aws_default_security_group",
}

Stacks = dict[str, dict[str, Any]]


def build(example: str, outdir: Path) -> Stacks:
    """Runs the example's ``main.py`` into ``outdir``; returns each synthesized stack's JSON by name."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    run = subprocess.run(
        [sys.executable, "main.py", str(outdir)],
        cwd=EXAMPLES_DIR / example,
        env=env,
        capture_output=True,
        text=True,
        timeout=SYNTH_TIMEOUT_SECONDS,
        check=False,
    )
    assert run.returncode == 0, f"examples/{example}/main.py failed:\n{run.stdout}\n{run.stderr}"
    return {
        path.parent.name: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted((outdir / "stacks").glob("*/cdk.tf.json"))
    }


class Built:
    """Each example, built the first time a test asks for it (so a pytest-xdist worker builds only the
    examples its tests need) and then kept for this module."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self._tmp = tmp_path_factory
        self._stacks: dict[str, Stacks] = {}

    def __getitem__(self, example: str) -> Stacks:
        if example not in self._stacks:
            self._stacks[example] = build(example, self._tmp.mktemp(example))
        return self._stacks[example]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The examples' stacks, by example name."""
    return Built(tmp_path_factory)


def test_there_are_examples_and_one_places_the_data_plane_in_another_stacks_vpc() -> None:
    assert "single-node" in EXAMPLES
    assert "vpc-from-another-stack" in EXAMPLES


@pytest.mark.parametrize("example", EXAMPLES)
def test_each_example_is_a_directory_with_a_readme_a_main_py_and_a_cdktf_json(example: str) -> None:
    directory = EXAMPLES_DIR / example
    readme = (directory / "README.md").read_text(encoding="utf-8")
    assert readme.startswith("# "), "a README with a title"
    assert "python main.py" in readme, "the README says how to build it"
    cdktf = json.loads((directory / "cdktf.json").read_text(encoding="utf-8"))
    assert cdktf["language"] == "python" and "main.py" in cdktf["app"]
    assert example in (EXAMPLES_DIR / "README.md").read_text(encoding="utf-8"), "listed in examples/README.md"


@pytest.mark.parametrize("example", EXAMPLES)
def test_each_example_synthesizes_stacks_terraform_can_parse(built: Built, example: str) -> None:
    stacks = built[example]
    assert stacks, f"examples/{example} wrote no stack"
    for name, stack in stacks.items():
        assert stack.get("resource"), f"{example}/{name} has no resources"
        result = parse_stack(stack)
        assert result.checked > 0
        assert not result.errors, f"{example}/{name}:\n" + "\n".join(str(e) for e in result.errors)


def test_single_node_example_builds_the_whole_topology_with_its_own_network(built: Built) -> None:
    (stack,) = built["single-node"].values()
    resources = stack["resource"]
    assert {"aws_vpc", "aws_nat_gateway", "aws_flow_log", "aws_lb", "aws_autoscaling_group"} <= set(resources)
    assert stack["terraform"]["backend"]["s3"]["key"] == "rudder-ha/example/terraform.tfstate"


def test_vpc_example_data_plane_reads_the_network_from_the_other_stacks_state(built: Built) -> None:
    stacks = built["vpc-from-another-stack"]
    assert set(stacks) == {"shared-network", "rudder-ha-shared-vpc"}
    network, data_plane = stacks["shared-network"], stacks["rudder-ha-shared-vpc"]

    assert {"aws_vpc", "aws_subnet", "aws_nat_gateway"} <= set(network["resource"])
    assert not NETWORK_TYPES & set(data_plane["resource"]), "the data plane creates no network of its own"
    assert {"aws_lb", "aws_autoscaling_group"} <= set(data_plane["resource"])

    (remote_name, remote) = next(iter(data_plane["data"]["terraform_remote_state"].items()))
    assert remote["backend"] == "s3"
    assert remote["config"]["key"] == network["terraform"]["backend"]["s3"]["key"]
    reference = f"data.terraform_remote_state.{remote_name}.outputs."
    exported = set(network["output"])

    subnets = data_plane["data"]["aws_subnet"]
    assert len(subnets) == 2
    for subnet in subnets.values():
        assert subnet["id"].startswith("${" + reference), "the private subnet comes from the other stack"
        (check,) = subnet["lifecycle"]["postcondition"]
        # The VPC id is compared as the other stack's output, never as the text of a reference.
        assert check["condition"].startswith("${self.vpc_id == " + reference)
        assert '"' not in check["condition"]
        assert check["condition"].removeprefix("${self.vpc_id == " + reference).rstrip("}") in exported

    group = next(iter(data_plane["resource"]["aws_autoscaling_group"].values()))
    assert all(reference in zone for zone in group["vpc_zone_identifier"])
    load_balancer = next(iter(data_plane["resource"]["aws_lb"].values()))
    assert all(reference in subnet for subnet in load_balancer["subnets"])
