"""Reading synthesized cdktf stacks: the session's synthesis result (built by the ``synth`` fixture
in ``tests/conftest.py``) and lookups of resources in a parsed ``cdk.tf.json``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rudder_ha.config import EnvironmentConfig


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


def resources(stack: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """Every resource of a Terraform type in a synthesized stack."""
    return list(stack.get("resource", {}).get(kind, {}).values())


def only(stack: dict[str, Any], kind: str, within: str = "") -> dict[str, Any]:
    """The single resource of a type (under construct path prefix ``within``, if given); fails if there
    are none or several."""
    found = [r for key, r in stack.get("resource", {}).get(kind, {}).items() if key.startswith(within)]
    assert len(found) == 1, f"expected one {kind} under {within!r}, found {len(found)}"
    return found[0]
