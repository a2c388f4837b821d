"""``python -m rudder_ha deploy ENV`` and ``diff ENV``: synthesize one environment, then run Terraform on its
stacks in deployment order."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

from rudder_ha.config.model import EnvironmentConfig
from rudder_ha.deploy.terraform import (
    AUTO_APPROVE_VARIABLE,
    Action,
    Runner,
    run_in_directory,
    run_steps,
    steps,
    terraform_binary,
)


def deploy_environment(
    config: EnvironmentConfig,
    action: Action,
    outdir: Path,
    *,
    environ: Mapping[str, str] = os.environ,
    runner: Runner = run_in_directory,
    report: Callable[[str], None] = print,
) -> int:
    """Synthesizes ``config``'s stacks into ``outdir`` and deploys (or diffs) them; returns the exit code.

    The binary is checked before anything is synthesized, so a missing Terraform costs nothing.
    """
    try:
        terraform = terraform_binary(environ)
    except FileNotFoundError as exc:
        report(f"{action}: {exc}")
        return 2
    from rudder_ha.app import synthesize  # deferred: loads jsii and the providers

    names = synthesize([config], outdir)
    stacks = [(name, outdir / "stacks" / name) for name in names]
    report(f"{action} {config.environment}: {len(stacks)} stack(s) with {terraform}: {', '.join(names)}")
    auto_approve = environ.get(AUTO_APPROVE_VARIABLE, "") in {"1", "true", "yes"}
    return run_steps(steps(stacks, action, terraform=terraform, auto_approve=auto_approve), runner, report)
