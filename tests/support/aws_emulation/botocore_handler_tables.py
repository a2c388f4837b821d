"""botocore's table of event handlers, copied for each new client without ``copy.copy``'s dispatch.

Each client starts with a copy of its session's event handlers (``HierarchicalEmitter.__copy__``): a trie
of plain dicts whose leaves are ``NodeList`` tuples of three handler lists. botocore copies it node by
node through ``copy.copy`` (a type lookup and a ``__copy__`` call per list), about a third of the CPU of
creating a client, and the emulation creates one per service for every emulated Lambda container, drill
and doctor check.

:func:`copy_tables_directly` copies the same structure the same way, by type: a dict node becomes a new
dict of copied children, a ``NodeList`` of lists a new ``NodeList`` of new lists holding the same
handlers, anything else is kept as it is (as botocore keeps it). A node of any other kind (a subclass)
is copied by botocore's own code. ``tests/test_aws_emulation_speedups.py`` compares both copies.
"""

from __future__ import annotations

from typing import Any

from botocore.hooks import NodeList, _PrefixTrie

original_recursive_copy = _PrefixTrie._recursive_copy
"""botocore's own node copy (what the comparison test copies with)."""


def copy_node(self: _PrefixTrie, node: dict[str, Any]) -> dict[str, Any]:
    """A copy of one trie node: its structure copied, its handlers shared (see the module docstring)."""
    copied: dict[str, Any] = {}
    for key, value in node.items():
        kind = type(value)
        if kind is dict:
            copied[key] = copy_node(self, value)
        elif kind is NodeList and all(type(part) is list for part in value):
            copied[key] = NodeList(value.first[:], value.middle[:], value.last[:])
        elif isinstance(value, (dict, NodeList)):
            copied[key] = original_recursive_copy(self, {key: value})[key]
        else:
            copied[key] = value
    return copied


def copy_tables_directly() -> None:
    """Makes botocore copy a client's handler table by type (see the module docstring)."""
    _PrefixTrie._recursive_copy = copy_node  # type: ignore[method-assign]
