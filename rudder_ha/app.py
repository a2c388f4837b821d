"""Builds the cdktf app: one or more stacks per environment."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from cdktf import App

from rudder_ha.config.model import EnvironmentConfig
from rudder_ha.stacks.eks_cluster import EksClusterStack
from rudder_ha.stacks.eks_workload import EksWorkloadStack
from rudder_ha.stacks.single_node import SingleNodeStack


def build_app(configs: Sequence[EnvironmentConfig], outdir: Path) -> tuple[App, list[str]]:
    """An App holding every environment's stacks; returns it with the stack names."""
    app = App(outdir=str(outdir), stack_traces=False)
    names = []
    for config in configs:
        if config.topology == "eks":
            names.append(EksClusterStack(app, config).node.id)
            names.append(EksWorkloadStack(app, config).node.id)
        else:
            names.append(SingleNodeStack(app, config).node.id)
    return app, names


def synthesize(configs: Sequence[EnvironmentConfig], outdir: Path) -> list[str]:
    """Synthesizes every environment's stacks into ``outdir``; returns the stack names."""
    app, names = build_app(configs, outdir)
    app.synth()
    return names
