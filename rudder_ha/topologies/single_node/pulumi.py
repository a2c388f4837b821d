"""The single-node HA topology as a Pulumi program.

It reads the same ``environments/<env>.yaml`` through the same loader as the cdktf app, deploys the same
``lambdas/`` packages and the same ``ami/`` instance bundle, and runs the same wiring
(:func:`rudder_ha.topologies.single_node.wiring.compose`) with the Pulumi composer, so each part is the
Pulumi twin (``rudder_ha/parts/<part>/pulumi.py``) of the construct the cdktf stack adds. One Pulumi stack
per environment: the stack's name is the environment's, unless the stack sets ``rudder-ha:environment``.

Nothing here imports cdktf (the jsii runtime would add 10-15 s to every ``pulumi up``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from rudder_ha.common.tags import standard_tags
from rudder_ha.config import ConfigError, EnvironmentConfig, Problem, load_environment
from rudder_ha.frontends.pulumi.composer import PulumiComposer
from rudder_ha.frontends.pulumi.replacement import terraform_replacement_order
from rudder_ha.paths import ENVIRONMENTS_DIR
from rudder_ha.topologies import registry
from rudder_ha.topologies.single_node.wiring import SingleNodeParts, compose

ENVIRONMENT_SETTING = "environment"
"""Stack setting (``pulumi config set rudder-ha:environment prod``) naming the environment file."""


def load_stack_environment(
    stack: str, environment: str | None = None, environments_dir: Path = ENVIRONMENTS_DIR
) -> EnvironmentConfig:
    """The validated single-node configuration a Pulumi stack deploys.

    Raises :class:`ConfigError` (every line names the field and the fix) when the file is missing or
    invalid, or when it asks for the EKS topology, which only the cdktf app builds.
    """
    name = environment or stack
    path = environments_dir / f"{name}.yaml"
    if not path.is_file():
        shipped = ", ".join(sorted(p.stem for p in environments_dir.glob("*.yaml"))) or "none"
        raise ConfigError(
            [
                Problem(
                    str(path),
                    "",
                    f"no environment file for Pulumi stack {stack!r} (environments: {shipped}); name the stack "
                    "after an environment (`pulumi stack init dev`) or set "
                    f"`pulumi config set rudder-ha:{ENVIRONMENT_SETTING} <environment>`",
                )
            ]
        )
    config = load_environment(path)
    topology = registry.named(config.topology)
    if not topology.pulumi_program:
        built = " and ".join(t.title for t in registry.TOPOLOGIES.values() if t.pulumi_program)
        raise ConfigError(
            [
                Problem(
                    str(path),
                    "topology",
                    f"is {config.topology!r}, but the Pulumi program builds the {built} topology only; "
                    f"deploy it with cdktf (`make deploy ENV={config.environment}`), or set "
                    f"`topology: {registry.DEFAULT.name}`",
                )
            ]
        )
    return config


@dataclass
class SingleNodeProgram:
    """One environment's single-node topology, declared in the current Pulumi stack."""

    config: EnvironmentConfig
    provider: aws.Provider
    parts: SingleNodeParts
    composer: PulumiComposer

    def outputs(self) -> dict[str, Any]:
        """The same outputs as the cdktf stack, by the same names."""
        return dict(self.composer.outputs)


def build(config: EnvironmentConfig) -> SingleNodeProgram:
    """Declares one environment's resources in the current Pulumi stack."""
    provider = aws.Provider(
        "aws",
        region=config.region,
        allowed_account_ids=list(config.allowed_account_ids) or None,
        default_tags=aws.ProviderDefaultTagsArgs(tags=standard_tags(config, managed_by="pulumi")),
    )
    # Every component's resources get this provider and Terraform's replacement order.
    inherit = pulumi.ResourceOptions(provider=provider, transformations=[terraform_replacement_order])
    composer = PulumiComposer(inherit)
    parts = compose(config, composer)
    return SingleNodeProgram(config=config, provider=provider, parts=parts, composer=composer)


def main() -> None:
    """The program Pulumi runs (``pulumi-program/__main__.py``): load, validate, declare, export."""
    settings = pulumi.Config("rudder-ha")
    config = load_stack_environment(pulumi.get_stack(), settings.get(ENVIRONMENT_SETTING))
    for output, value in build(config).outputs().items():
        pulumi.export(output, value)
