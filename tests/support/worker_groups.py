"""Which pytest-xdist worker runs which tests: the tests that share a costly fixture run on one worker.

A module- or class-scoped fixture is built once per worker that runs any of its tests, and so is a
session-scoped one such as ``pulumi_runs``: with ``--dist load`` spreading a module's tests over every
worker, checkov scanned the synthesized stacks and the hostile environments were synthesized once per
worker. ``make test`` runs ``--dist loadgroup``; :func:`assign_groups` gives each test that uses such a
fixture the group of the fixture's module (or, for the session-scoped ones in :data:`SHARED_SESSION`,
the fixture's name), so xdist sends the group to one worker. Every other test is scheduled on its own.
"""

from __future__ import annotations

import pytest

SHARED_SESSION = frozenset({"pulumi_runs"})
"""Session-scoped fixtures each worker would build for itself (``synth`` is already shared by files)."""

GROUPED_SCOPES = frozenset({"module", "class", "package"})


def group_of(item: pytest.Item) -> str | None:
    """The worker group of ``item``: the first costly shared fixture it uses, or None."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return None
    for name in info.names_closure:
        if name in SHARED_SESSION:
            return name
    for name in info.names_closure:
        for definition in info.name2fixturedefs.get(name, ()):
            if definition.scope in GROUPED_SCOPES:
                return item.module.__name__ if item.module else name
    return None


def assign_groups(items: list[pytest.Item]) -> None:
    """Marks each item that has a group with ``xdist_group`` (a no-op without ``--dist loadgroup``)."""
    for item in items:
        group = group_of(item)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))
