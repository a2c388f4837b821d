"""The Terraform command lines that deploy (or diff) an environment's synthesized stacks, and running them.

Each stack directory (``cdktf.out/stacks/<stack>``) holds a ``cdk.tf.json`` that Terraform reads as it is: its
backend block names the environment's own S3 state, so ``init`` needs no arguments beyond keeping it
non-interactive. Stacks run strictly in order and the first failure stops the run: a workload stack is never
planned against a cluster whose apply failed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Action = Literal["deploy", "diff"]
DEFAULT_TERRAFORM = "terraform"
TERRAFORM_VARIABLE = "TF"
"""Environment variable naming the binary: ``terraform`` (default) or ``tofu`` (OpenTofu reads the same JSON)."""
AUTO_APPROVE_VARIABLE = "AUTO_APPROVE"
"""``AUTO_APPROVE=1`` applies without Terraform's interactive confirmation (for pipelines)."""


@dataclass(frozen=True)
class TerraformStep:
    """One command in one stack's directory."""

    stack: str
    directory: Path
    argv: tuple[str, ...]

    def describe(self) -> str:
        """``<stack>: terraform apply -input=false`` as a person would type it."""
        return f"{self.stack}: {' '.join(self.argv)}"


def terraform_binary(environ: Mapping[str, str] = os.environ) -> str:
    """The binary ``TF`` names (default ``terraform``); raises FileNotFoundError with the fix when absent."""
    name = environ.get(TERRAFORM_VARIABLE) or DEFAULT_TERRAFORM
    if shutil.which(name, path=environ.get("PATH")) is None:
        raise FileNotFoundError(
            f"{name}: not found on PATH; install Terraform >= 1.10 (or OpenTofu >= 1.8 and set TF=tofu)"
        )
    return name


def steps(
    stacks: Sequence[tuple[str, Path]], action: Action, *, terraform: str, auto_approve: bool = False
) -> list[TerraformStep]:
    """``init`` then ``apply`` (deploy) or ``plan`` (diff) for each ``(stack, directory)``, in the given order."""
    run: list[TerraformStep] = []
    for stack, directory in stacks:
        run.append(TerraformStep(stack, directory, (terraform, "init", "-input=false")))
        if action == "deploy":
            apply = (terraform, "apply", "-input=false", *(("-auto-approve",) if auto_approve else ()))
            run.append(TerraformStep(stack, directory, apply))
        else:
            run.append(TerraformStep(stack, directory, (terraform, "plan", "-input=false")))
    return run


Runner = Callable[[TerraformStep], int]


def run_in_directory(step: TerraformStep) -> int:
    """Runs one step with the terminal attached (Terraform may ask for approval); returns its exit code."""
    return subprocess.run(list(step.argv), cwd=step.directory, check=False).returncode  # noqa: S603


def run_steps(
    run: Sequence[TerraformStep], runner: Runner = run_in_directory, report: Callable[[str], None] = print
) -> int:
    """Runs the steps in order; the first that fails stops the run. Returns 0, or that step's exit code."""
    for step in run:
        report(f"==> {step.describe()}")
        code = runner(step)
        if code != 0:
            left = len(run) - run.index(step) - 1
            report(f"stopped: {step.describe()} exited {code}; {left} step(s) not run")
            return code
    return 0
