"""Every topology, registered once. The only place that compares a topology's name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rudder_ha.topologies import eks, single_node
from rudder_ha.topologies.topology import Topology

TOPOLOGIES: Mapping[str, Topology] = {t.name: t for t in (single_node.TOPOLOGY, eks.TOPOLOGY)}
"""By name, in the order the docs list them."""
DEFAULT = single_node.TOPOLOGY
"""What an environment file without ``topology`` gets."""


def named(name: str) -> Topology:
    """The topology called ``name``; KeyError names the known ones."""
    try:
        return TOPOLOGIES[name]
    except KeyError:
        raise KeyError(f"unknown topology {name!r}; pick one of {', '.join(TOPOLOGIES)}") from None


def of(document: Mapping[str, Any]) -> Topology:
    """The topology an environment document (raw, schema-valid) asks for, the default when it names none."""
    return named(document.get("topology", DEFAULT.name))
