"""Synthesized cdktf stacks for tests: the run's one synthesis (:func:`shared_synthesis`, behind the
``synth`` fixture in ``tests/conftest.py``) and lookups of resources in a parsed ``cdk.tf.json``."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.support.run_shared import once_per_run

if TYPE_CHECKING:
    import pytest

    from rudder_ha.config import EnvironmentConfig

STACK_NAMES = "stack-names.json"


@dataclass(frozen=True)
class SynthOutput:
    """The synthesized stacks of every shipped environment."""

    outdir: Path
    configs: dict[str, EnvironmentConfig]
    stacks: dict[str, dict[str, Any]]
    """Stack name -> parsed cdk.tf.json."""

    def stack(self, environment: str) -> dict[str, Any]:
        """The main stack of ``environment``."""
        return self.stacks[f"rudder-ha-{environment}"]


def shared_synthesis(tmp_path_factory: pytest.TempPathFactory, configs: Sequence[EnvironmentConfig]) -> SynthOutput:
    """Every environment of ``configs`` synthesized once for the whole run: one pytest-xdist worker
    synthesizes (jsii and the providers cost seconds per process), the others wait for it and read
    the same files."""

    def produce(directory: Path) -> None:
        from rudder_ha.app import synthesize

        names = synthesize(configs, directory / "cdktf.out")
        (directory / STACK_NAMES).write_text(json.dumps(names), encoding="utf-8")

    environments = ",".join(sorted(c.environment for c in configs))
    key = hashlib.sha256(environments.encode()).hexdigest()[:12]  # another set of environments, another directory
    shared = once_per_run(tmp_path_factory, f"cdktf-synth-{key}", produce)
    outdir = shared / "cdktf.out"
    names = json.loads((shared / STACK_NAMES).read_text(encoding="utf-8"))
    stacks = {
        name: json.loads((outdir / "stacks" / name / "cdk.tf.json").read_text(encoding="utf-8")) for name in names
    }
    return SynthOutput(outdir=outdir, configs={c.environment: c for c in configs}, stacks=stacks)


def resources(stack: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """Every resource of a Terraform type in a synthesized stack."""
    return list(stack.get("resource", {}).get(kind, {}).values())


def only(stack: dict[str, Any], kind: str, within: str = "") -> dict[str, Any]:
    """The single resource of a type (under construct path prefix ``within``, if given); fails if there
    are none or several."""
    found = [r for key, r in stack.get("resource", {}).get(kind, {}).items() if key.startswith(within)]
    assert len(found) == 1, f"expected one {kind} under {within!r}, found {len(found)}"
    return found[0]
