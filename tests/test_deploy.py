"""Deploying with Terraform itself: the command lines, their order across stacks, stopping on failure, OpenTofu.

A stand-in ``terraform``/``tofu`` (a real shell script on PATH) records every call (its directory and argv) and
fails where a test tells it to, so the orchestration runs exactly as it would against the real binary.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from rudder_ha.config import load_environment
from rudder_ha.deploy.command import deploy_environment
from rudder_ha.deploy.terraform import run_in_directory, run_steps, steps, terraform_binary
from tests.support.paths import REPO

STAND_IN = """#!/bin/sh
printf '%s|%s\\n' "$(basename "$PWD")" "$*" >> "$TF_CALLS"
if [ "$(basename "$PWD")" = "${TF_FAIL_STACK:-}" ] && [ "$1" = "${TF_FAIL_COMMAND:-}" ]; then
  echo "Error: stand-in failure" >&2
  exit 3
fi
exit 0
"""


@pytest.fixture
def stand_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``terraform`` and ``tofu`` stand-ins first on PATH; returns the file their calls are recorded in."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("terraform", "tofu"):
        script = bin_dir / name
        script.write_text(STAND_IN)
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
    calls = tmp_path / "calls.log"
    calls.touch()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("TF_CALLS", str(calls))
    for name in ("TF", "TF_FAIL_STACK", "TF_FAIL_COMMAND", "AUTO_APPROVE"):
        monkeypatch.delenv(name, raising=False)
    return calls


def recorded(calls: Path) -> list[str]:
    return calls.read_text().splitlines()


def stacks(tmp_path: Path, *names: str) -> list[tuple[str, Path]]:
    found = []
    for name in names:
        directory = tmp_path / "stacks" / name
        directory.mkdir(parents=True)
        found.append((name, directory))
    return found


def test_deploy_inits_then_applies_each_stack_in_order(stand_in: Path, tmp_path: Path) -> None:
    run = steps(stacks(tmp_path, "rudder-ha-x-cluster", "rudder-ha-x-workload"), "deploy", terraform="terraform")
    assert run_steps(run, run_in_directory, report=lambda _: None) == 0
    assert recorded(stand_in) == [
        "rudder-ha-x-cluster|init -input=false",
        "rudder-ha-x-cluster|apply -input=false",
        "rudder-ha-x-workload|init -input=false",
        "rudder-ha-x-workload|apply -input=false",
    ]


def test_diff_plans_and_auto_approve_is_explicit(stand_in: Path, tmp_path: Path) -> None:
    found = stacks(tmp_path, "rudder-ha-dev")
    assert [s.argv[1:] for s in steps(found, "diff", terraform="terraform")] == [
        ("init", "-input=false"),
        ("plan", "-input=false"),
    ]
    assert steps(found, "deploy", terraform="terraform", auto_approve=True)[-1].argv[1:] == (
        "apply",
        "-input=false",
        "-auto-approve",
    )


def test_the_first_failure_stops_the_run(stand_in: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TF_FAIL_STACK", "rudder-ha-x-cluster")
    monkeypatch.setenv("TF_FAIL_COMMAND", "apply")
    lines: list[str] = []
    run = steps(stacks(tmp_path, "rudder-ha-x-cluster", "rudder-ha-x-workload"), "deploy", terraform="terraform")
    assert run_steps(run, run_in_directory, report=lines.append) == 3
    assert recorded(stand_in) == ["rudder-ha-x-cluster|init -input=false", "rudder-ha-x-cluster|apply -input=false"]
    assert lines[-1] == "stopped: rudder-ha-x-cluster: terraform apply -input=false exited 3; 2 step(s) not run"


def test_tf_selects_opentofu_and_a_missing_binary_names_the_fix(stand_in: Path) -> None:
    assert terraform_binary({"TF": "tofu", "PATH": os.environ["PATH"]}) == "tofu"
    assert terraform_binary({"PATH": os.environ["PATH"]}) == "terraform"
    with pytest.raises(FileNotFoundError, match=r"opentf|OpenTofu"):
        terraform_binary({"TF": "no-such-terraform", "PATH": os.environ["PATH"]})


def test_a_missing_binary_refuses_before_synthesizing(tmp_path: Path) -> None:
    config = load_environment(REPO / "environments" / "dev.yaml")
    lines: list[str] = []
    code = deploy_environment(
        config,
        "deploy",
        tmp_path / "out",
        environ={"TF": "no-such-terraform", "PATH": "/nonexistent"},
        report=lines.append,
    )
    assert code == 2
    assert lines == [
        "deploy: no-such-terraform: not found on PATH; install Terraform >= 1.10 (or OpenTofu >= 1.8 and set TF=tofu)"
    ]
    assert not (tmp_path / "out").exists(), "nothing is synthesized when nothing can deploy it"


@pytest.mark.synth
@pytest.mark.usefixtures("in_process_synthesis")  # synthesizes in this process: on the worker that does
def test_eks_deploys_the_cluster_before_the_workload_with_tofu(
    stand_in: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TF", "tofu")
    config = load_environment(REPO / "environments" / "prod-eks.yaml")
    lines: list[str] = []
    assert deploy_environment(config, "deploy", tmp_path / "out", report=lines.append) == 0
    assert recorded(stand_in) == [
        "rudder-ha-prod-eks-cluster|init -input=false",
        "rudder-ha-prod-eks-cluster|apply -input=false",
        "rudder-ha-prod-eks-workload|init -input=false",
        "rudder-ha-prod-eks-workload|apply -input=false",
    ]
    assert (tmp_path / "out" / "stacks" / "rudder-ha-prod-eks-workload" / "cdk.tf.json").is_file()
    assert lines[0] == "deploy prod-eks: 2 stack(s) with tofu: rudder-ha-prod-eks-cluster, rudder-ha-prod-eks-workload"


def test_make_deploy_runs_the_cli_and_refuses_a_bad_environment_before_terraform(stand_in: Path) -> None:
    """``make deploy ENV=qa`` (no such environment) stops at validation: no terraform call, one line, exit 1."""
    run = subprocess.run(
        ["make", "--no-print-directory", "deploy", "ENV=qa"], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert run.returncode != 0
    assert "qa.yaml: (top level): no such environment" in run.stderr
    assert "Traceback" not in run.stderr
    assert recorded(stand_in) == []
