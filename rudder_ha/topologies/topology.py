"""What the rest of the project may know about a topology, without importing any front end."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Topology:
    """One topology: its name in the environment files (``topology: <name>``) and what it builds and reads.

    The builders are named as ``"module:function"`` and imported only when called, so reading the registry
    (as the configuration loader does) never loads cdktf or Pulumi.
    """

    name: str
    """The value of ``topology`` in an environment file."""
    title: str
    """How the docs and messages call it (``single-node HA``)."""
    description: str
    """One line for the docs."""
    cdktf_stacks: str
    """``"module:function"``; the function takes (scope, config), adds the topology's stacks for one
    environment and returns their names, in deployment order."""
    pulumi_program: bool = False
    """Whether the Pulumi program builds this topology."""
    failover_model: str | None = None
    """``"module:function"`` modelling the worst-case failover (``rto``): takes the config, returns a timeline
    with ``render()``; None where no model exists yet."""
    settings_section: str | None = None
    """The configuration section only this topology reads (e.g. ``eks``); refused in any other topology."""
    jobsdb_section: bool = True
    """Whether the ``jobsdb`` section applies (where the jobsdb lives is chosen per environment)."""
    fixed_jobsdb_mode: str | None = None
    """The jobsdb mode the topology always uses when ``jobsdb_section`` is False."""
    fixed_jobsdb_reason: str = ""
    """Why the jobsdb section does not apply, for the refusal message."""

    def build_cdktf(self, scope: Any, config: Any) -> list[str]:
        """Adds this topology's stacks for ``config`` to the cdktf app ``scope``; returns the stack names."""
        return _resolve(self.cdktf_stacks)(scope, config)

    def failover_timeline(self, config: Any) -> Any | None:
        """The worst-case failover timeline of ``config``, or None when this topology has no model."""
        return _resolve(self.failover_model)(config) if self.failover_model else None


def _resolve(target: str) -> Callable[..., Any]:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)
