"""Builds the cdktf app: each environment's stacks, as its topology (from the registry) defines them."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from rudder_ha.frontends.cdktf import lazy_providers

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
lazy_providers.install()  # before any provider binding is imported: each stack loads only the modules it uses

from cdktf import App  # noqa: E402

from rudder_ha.config.model import EnvironmentConfig  # noqa: E402
from rudder_ha.topologies import registry  # noqa: E402


def build_app(configs: Sequence[EnvironmentConfig], outdir: Path) -> tuple[App, list[str]]:
    """An App holding every environment's stacks; returns it with the stack names."""
    app = App(outdir=str(outdir), stack_traces=False)
    names = []
    for config in configs:
        names.extend(registry.named(config.topology).build_cdktf(app, config))
    return app, names


def synthesize(configs: Sequence[EnvironmentConfig], outdir: Path) -> list[str]:
    """Synthesizes every environment's stacks into ``outdir``; returns the stack names."""
    app, names = build_app(configs, outdir)
    app.synth()
    return names
