"""``python -m rudder_ha rto``: the worst-case failover timeline, against the guide's two minutes."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from rudder_ha.config import EnvironmentConfig, load_environment
from rudder_ha.topologies.single_node.rto import GUIDE_DOWNTIME_SECONDS, render, timeline
from tests.support.paths import REPO


@pytest.fixture(scope="module")
def prod() -> EnvironmentConfig:
    return load_environment(REPO / "environments" / "prod.yaml")


def test_shipped_prod_fails_over_within_90_seconds(prod: EnvironmentConfig) -> None:
    line = timeline(prod)
    assert line.total_seconds <= 90
    assert line.total_seconds < GUIDE_DOWNTIME_SECONDS


def test_every_figure_has_a_source(prod: EnvironmentConfig) -> None:
    for config in (prod, load_environment(REPO / "environments" / "dev.yaml")):
        for step in timeline(config).steps:
            assert step.kind in {"config", "documented", "estimate"}
            assert len(step.source) > 20, step
            assert step.seconds >= 0


def test_detection_and_healthy_threshold_follow_the_health_check(prod: EnvironmentConfig) -> None:
    slower = dataclasses.replace(
        prod, health_check=dataclasses.replace(prod.health_check, interval_seconds=30, unhealthy_threshold=5)
    )
    steps = {s.name: s.seconds for s in timeline(slower).steps}
    assert steps["detection"] == 30 * 5 + prod.health_check.timeout_seconds
    assert steps["healthy threshold"] == 30 * prod.health_check.healthy_threshold
    assert timeline(slower).total_seconds > timeline(prod).total_seconds


def test_without_warm_pool_or_baked_image_it_is_slower(prod: EnvironmentConfig) -> None:
    no_pool = dataclasses.replace(
        prod,
        autoscaling=dataclasses.replace(
            prod.autoscaling, warm_pool=dataclasses.replace(prod.autoscaling.warm_pool, enabled=False)
        ),
        image_pipeline=dataclasses.replace(prod.image_pipeline, enabled=False),
        instance=dataclasses.replace(prod.instance, ami="resolve:ssm:/aws/service/ami-amazon-linux-latest/x"),
    )
    names = [s.name for s in timeline(no_pool).steps]
    assert "cold launch and boot" in names
    assert timeline(no_pool).total_seconds > timeline(prod).total_seconds + 100


def test_rds_adds_the_fence_wait_only_when_the_lease_can_still_be_live(prod: EnvironmentConfig) -> None:
    fence = next(s for s in timeline(prod).steps if s.name == "jobsdb fence")
    assert fence.seconds == 0, "by the time the replacement asks, a dead holder's lease has expired"
    dev = load_environment(REPO / "environments" / "dev.yaml")
    assert all(s.name != "jobsdb fence" for s in timeline(dev).steps)


def test_cli_prints_each_environment_against_the_guide() -> None:
    for env in ("dev", "staging", "prod"):
        run = subprocess.run(
            [sys.executable, "-m", "rudder_ha", "rto", env], capture_output=True, text=True, cwd=REPO, check=False
        )
        assert run.returncode == 0, run.stderr
        assert f"Worst-case failover for {env} (the HA guide: 120 s)" in run.stdout
        assert "total " in run.stdout and "Knobs and what they trade:" in run.stdout
        assert "[config]" in run.stdout and "[estimate]" in run.stdout


def test_cli_refuses_an_unknown_environment() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "rudder_ha", "rto", "qa"], capture_output=True, text=True, cwd=REPO, check=False
    )
    assert run.returncode == 1
    assert "no such environment" in run.stderr and "Traceback" not in run.stderr


def test_render_accumulates(prod: EnvironmentConfig) -> None:
    text = render(timeline(prod))
    assert f"total {timeline(prod).total_seconds:.0f} s: within" in text
