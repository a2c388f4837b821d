"""What the rest of the project may know about a topology, without importing any front end."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

EVERY_TOPOLOGY_READS = (
    "environment",
    "tier",
    "topology",
    "region",
    "allowed_account_ids",
    "tags",
    "state",
    "network",
)
"""The settings every topology reads: who the environment is, where its state lives, its network."""


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
    fixed_jobsdb_mode: str | None = None
    """The jobsdb mode the topology always uses when it does not read the ``jobsdb`` section."""
    reads: tuple[str, ...] = ()
    """Every setting this topology reads: a top-level section (``network``: all of it) or, where it reads
    only part of a section, a dotted path inside it (``autoscaling.lifecycle_hook``). A file choosing this
    topology may set nothing else: a setting that would do nothing is refused
    (:func:`rudder_ha.config.rules.unread_settings`)."""
    unread_reasons: tuple[tuple[str, str], ...] = ()
    """``(setting, why this topology does not read it)`` pairs, for the refusal message."""
    state_parts: tuple[str, ...] = ()
    """Where the topology splits its Terraform state (one stack each): the environment's ``state.key`` with
    ``-<part>`` before ``.tfstate``. Empty: one stack, at ``state.key`` itself."""

    @property
    def jobsdb_section(self) -> bool:
        """Whether the ``jobsdb`` section applies (where the jobsdb lives is chosen per environment)."""
        return self.reads_setting("jobsdb")

    def reads_setting(self, path: str) -> bool:
        """True when ``path`` (``load_balancer.http_only``) is read, or is a section holding something read."""
        return any(path == r or path.startswith(f"{r}.") or r.startswith(f"{path}.") for r in self.reads)

    def unread_reason(self, path: str) -> str | None:
        """Why ``path`` is not read by this topology, when the descriptor says."""
        return dict(self.unread_reasons).get(path)

    def state_keys(self, key: str) -> tuple[str, ...]:
        """The state object keys this topology's stacks use, for an environment whose ``state.key`` is
        ``key``."""
        if not self.state_parts:
            return (key,)
        return tuple(part_state_key(key, part) for part in self.state_parts)

    def build_cdktf(self, scope: Any, config: Any) -> list[str]:
        """Adds this topology's stacks for ``config`` to the cdktf app ``scope``; returns the stack names."""
        return _resolve(self.cdktf_stacks)(scope, config)

    def failover_timeline(self, config: Any) -> Any | None:
        """The worst-case failover timeline of ``config``, or None when this topology has no model."""
        return _resolve(self.failover_model)(config) if self.failover_model else None


def part_state_key(key: str, part: str) -> str:
    """The state of one stack of a topology split in parts: ``key`` with ``-<part>`` before ``.tfstate``."""
    return key.removesuffix(".tfstate") + f"-{part}.tfstate"


def _resolve(target: str) -> Callable[..., Any]:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)
