"""Editing environment documents (parsed YAML) by dotted path, for the configuration tests."""

from __future__ import annotations

import copy
from typing import Any

DELETE = object()
"""As a value: remove the setting."""


def with_setting(doc: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``doc`` with ``dotted`` (``load_balancer.ssl_policy``) set to ``value`` (``DELETE``
    removes it); missing or non-mapping parents become mappings."""
    doc = copy.deepcopy(doc)
    *parents, leaf = dotted.split(".")
    node = doc
    for part in parents:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    if value is DELETE:
        node.pop(leaf, None)
    else:
        node[leaf] = value
    return doc
