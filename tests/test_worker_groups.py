"""Which tests share a pytest-xdist worker (:mod:`tests.support.worker_groups`), read from this session's own
collected tests."""

from __future__ import annotations

import pytest

from tests.support import worker_groups


def _groups(session: pytest.Session) -> dict[str, str | None]:
    return {item.nodeid: worker_groups.group_of(item) for item in session.items}


def test_every_pulumi_test_runs_in_the_pulumi_group(request: pytest.FixtureRequest) -> None:
    groups = _groups(request.session)
    pulumi_modules = [nodeid for nodeid in groups if nodeid.startswith("tests/test_pulumi_")]
    if not pulumi_modules:
        pytest.skip("run with the Pulumi test modules collected")
    assert {groups[nodeid] for nodeid in pulumi_modules} == {worker_groups.PULUMI_GROUP}
    users = [item.nodeid for item in request.session.items if "pulumi_runs" in item.fixturenames]
    assert users and {groups[nodeid] for nodeid in users} == {worker_groups.PULUMI_GROUP}


def test_a_one_worker_module_is_one_group_and_a_plain_test_is_on_its_own(request: pytest.FixtureRequest) -> None:
    groups = _groups(request.session)
    assert groups[request.node.nodeid] is None
    marked = [item for item in request.session.items if item.get_closest_marker(worker_groups.ONE_WORKER_MARK)]
    if not marked:
        pytest.skip("run with a one_worker module collected")
    assert {groups[item.nodeid] for item in marked} == {item.module.__name__ for item in marked if item.module}
