"""Which pytest-xdist worker runs which tests: the tests that share a costly fixture run on one worker.

A module- or class-scoped fixture is built once per worker that runs any of its tests, and so is a
session-scoped one such as ``pulumi_runs``: with ``--dist load`` spreading a module's tests over every
worker, the Pulumi program ran once per worker and the hostile environments were synthesized once per
worker. :func:`group_of` gives each test that uses such a fixture the group of the fixture's module (or,
for the session-scoped ones in :data:`SHARED_SESSION`, the fixture's name). A module marked ``one_worker``
(its tests mostly wait on clocks and servers) is one group too, so its waits overlap other workers' work
instead of every worker waiting at once. The Pulumi test modules (``test_pulumi_*``) join the group of
``pulumi_runs``: every worker that runs one imports Pulumi and the AWS provider's modules its programs use
(seconds of CPU each), so they all run on one. Every other test is scheduled on its own.

pytest-xdist's ``--dist loadgroup`` reads an ``xdist_group`` mark into the test's node id, which pytest 9
no longer lets a plugin rewrite, so its groups never reached the scheduler and no mark is set here. Each
worker writes the groups it computed at collection to a directory the controller made (:func:`configure`),
and the controller schedules with xdist's own group scheduler reading that map instead of the node id
(:func:`make_scheduler`). ``make test`` runs ``--dist loadgroup``; without it nothing here changes the
schedule.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

PULUMI_GROUP = "pulumi_runs"
"""The group of the ``pulumi_runs`` fixture's tests, which the Pulumi test modules join."""
SHARED_SESSION = frozenset({PULUMI_GROUP, "in_process_synthesis"})
"""Session-scoped fixtures each worker would build for itself: the Pulumi program's runs, and jsii with the
providers loaded for in-process synthesis (``synth`` is already shared by files)."""

PULUMI_MODULE_PREFIX = "test_pulumi_"
"""Test modules of the Pulumi program (``tests/test_pulumi_*.py``), run with the ``pulumi_runs`` tests."""
GROUPED_SCOPES = frozenset({"module", "class", "package"})
DIRECTORY_VARIABLE = "RUDDER_HA_WORKER_GROUPS_DIR"
"""Set by the controller before the workers start; they inherit it."""


ONE_WORKER_MARK = "one_worker"
"""Marks a module whose tests mostly wait (leases running out, servers timing out): run side by side on every
worker, they left both cores idle at once; on one worker they wait while the others compute."""


def group_of(item: pytest.Item) -> str | None:
    """The worker group of ``item``: its module's if the module is marked ``one_worker``, the Pulumi group for
    a Pulumi test module, else its first costly shared fixture's, or None."""
    if item.get_closest_marker(ONE_WORKER_MARK) is not None and item.module is not None:
        return item.module.__name__
    if item.module is not None and item.module.__name__.rpartition(".")[2].startswith(PULUMI_MODULE_PREFIX):
        return PULUMI_GROUP
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


def grouping(config: pytest.Config) -> bool:
    """Whether this run schedules by group (``--dist loadgroup``)."""
    return config.getoption("dist", "no") == "loadgroup"


def configure(config: pytest.Config) -> None:
    """In the controller of a ``loadgroup`` run: the directory the workers write their groups to."""
    if grouping(config) and "PYTEST_XDIST_WORKER" not in os.environ:
        directory = tempfile.mkdtemp(prefix="rudder-ha-worker-groups-")
        os.environ[DIRECTORY_VARIABLE] = directory
        config.add_cleanup(lambda: shutil.rmtree(directory, ignore_errors=True))


def assign_groups(items: list[pytest.Item]) -> None:
    """In a worker of a ``loadgroup`` run, writes ``{node id: group}`` of ``items`` for the controller."""
    directory, worker = os.environ.get(DIRECTORY_VARIABLE), os.environ.get("PYTEST_XDIST_WORKER")
    if directory and worker:
        groups = {item.nodeid: group for item in items if (group := group_of(item)) is not None}
        partial = Path(directory) / f".{worker}.json"
        partial.write_text(json.dumps(groups), encoding="utf-8")
        partial.replace(Path(directory) / f"{worker}.json")


def make_scheduler(config: pytest.Config, log: Any) -> Any:
    """The controller's scheduler for a ``loadgroup`` run (None otherwise: xdist picks its own)."""
    directory = os.environ.get(DIRECTORY_VARIABLE)
    if not grouping(config) or not directory:
        return None
    from xdist.scheduler import LoadGroupScheduling

    class GroupScheduling(LoadGroupScheduling):
        """xdist's group scheduling, the groups read from what the workers wrote at collection."""

        groups: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self.groups is None:  # every worker has finished collecting when scheduling starts
                self.groups = {}
                for written in sorted(Path(directory).glob("gw*.json")):
                    self.groups.update(json.loads(written.read_text(encoding="utf-8")))
            return self.groups.get(nodeid, nodeid)

    return GroupScheduling(config, log)
