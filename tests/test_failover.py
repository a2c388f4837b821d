"""autoscaling.failover: the setting, what the group and the instance get from it, and its refusals.

The fence's side of a hot standby (the yield, the takeover, never two writers) is proven against a real
PostgreSQL in tests/test_jobsdb_fence.py; the timeline in tests/test_rto.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from rudder_ha.config import load_environment
from rudder_ha.config.loader import check
from rudder_ha.instance.user_data import instance_settings
from rudder_ha.parts.single_node_group import spec
from tests.support.documents import DELETE, with_setting
from tests.support.paths import REPO

PROD = REPO / "environments" / "prod.yaml"
STAGING = REPO / "environments" / "staging.yaml"


def document(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def problems(doc: dict[str, Any]) -> list[str]:
    _, found = check(doc, "env.yaml")
    return [f"{p.path}: {p.message}" for p in found]


def test_shipped_prod_runs_a_hot_standby_with_a_ten_second_lease() -> None:
    failover = load_environment(PROD).autoscaling.failover
    assert (failover.mode, failover.lease_ttl_seconds, failover.group_size) == ("hot_standby", 10, 2)


def test_defaults_keep_the_group_of_one_and_its_30_second_lease() -> None:
    doc = with_setting(document(PROD), "autoscaling.failover", DELETE)
    config, found = check(doc, "prod.yaml")
    assert not found and config is not None
    assert (config.autoscaling.failover.mode, config.autoscaling.failover.lease_ttl_seconds) == ("replace", 30)
    staging = load_environment(STAGING).autoscaling.failover
    assert (staging.mode, staging.group_size) == ("replace", 1)


@pytest.mark.parametrize(
    ("setting", "value", "expected"),
    [
        ("autoscaling.failover.mode", "warm", "autoscaling.failover.mode"),
        ("autoscaling.failover.lease_ttl_seconds", 5, "autoscaling.failover.lease_ttl_seconds"),
        ("autoscaling.failover.lease_ttl_seconds", 301, "autoscaling.failover.lease_ttl_seconds"),
        ("autoscaling.failover.standby_count", 2, "autoscaling.failover"),
    ],
)
def test_bad_failover_settings_are_refused_in_one_line(setting: str, value: Any, expected: str) -> None:
    found = problems(with_setting(document(PROD), setting, value))
    assert found and all("\n" not in line for line in found)
    assert any(line.startswith(expected) for line in found), found


def test_hot_standby_needs_the_jobsdb_on_rds() -> None:
    doc = with_setting(document(STAGING), "jobsdb.mode", "instance")
    assert problems(doc) == []
    found = problems(with_setting(doc, "autoscaling.failover.mode", "hot_standby"))
    assert found == [
        "autoscaling.failover.mode: hot_standby needs jobsdb.mode: rds (a standby cannot reach a jobsdb on another "
        "instance's disk); set jobsdb.mode: rds or remove the setting"
    ]
    found = problems(with_setting(doc, "autoscaling.failover.lease_ttl_seconds", 20))
    assert found == ["autoscaling.failover.lease_ttl_seconds: only applies with jobsdb.mode: rds; remove it"]


def test_the_instance_gets_the_lease_and_the_backend_watch() -> None:
    prod = instance_settings(load_environment(PROD))
    assert (prod["RUDDER_FAILOVER_MODE"], prod["RUDDER_JOBSDB_FENCE_TTL"]) == ("hot_standby", "10")
    assert prod["RUDDER_FENCE_HEALTH_URL"] == "http://127.0.0.1:8080/health"
    assert prod["RUDDER_FENCE_HEALTH_FAILURES"] == "3"
    assert prod["RUDDER_FENCE_HEALTH_START_SECONDS"] == "300"
    assert int(prod["RUDDER_JOBSDB_FENCE_MAX_WAIT"]) >= 365 * 24 * 3600  # a standby never stops waiting
    doc = with_setting(document(PROD), "autoscaling.failover", DELETE)
    config, _ = check(doc, "prod.yaml")
    assert config is not None
    alone = instance_settings(config)
    assert (alone["RUDDER_JOBSDB_FENCE_TTL"], alone["RUDDER_FENCE_HEALTH_URL"]) == ("30", "")
    assert alone["RUDDER_JOBSDB_FENCE_MAX_WAIT"] == "600"
    dev = load_environment(REPO / "environments" / "dev.yaml")
    if not dev.jobsdb.on_rds:
        assert "RUDDER_JOBSDB_FENCE_TTL" not in instance_settings(dev)


def test_only_the_serving_instance_publishes_the_backlog() -> None:
    unit = (REPO / "ami" / "systemd" / "rudder-backlog-metrics.service").read_text()
    assert "EnvironmentFile=-/etc/rudder-ha/instance.env" in unit
    condition = next(line for line in unit.splitlines() if line.startswith("ExecCondition="))
    assert '[ "$RUDDER_FAILOVER_MODE" != hot_standby ]' in condition
    assert "systemctl is-active --quiet rudder-backend.service" in condition


def test_the_group_of_a_hot_standby() -> None:
    prod = load_environment(PROD)
    group = spec.group_args("rudder-ha-prod", prod.autoscaling, "arn:tg")
    assert group["min_size"] == group["max_size"] == group["desired_capacity"] == 2
    assert group["health_check_type"] == "EC2", "the standby fails /health by design: ELB checks would kill it"
    assert spec.maintenance_policy(prod.autoscaling) == {"min_healthy_percentage": 50, "max_healthy_percentage": 100}
    assert spec.refresh_preferences(120, hot_standby=True)["min_healthy_percentage"] == 50
    arn = "arn:aws:autoscaling:eu-west-1:333333333333:autoScalingGroup:1-2:autoScalingGroupName/rudder-ha-prod"
    (statement,) = json.loads(spec.report_health_policy(arn))["Statement"]
    assert (statement["Action"], statement["Resource"]) == ("autoscaling:SetInstanceHealth", arn)
    doc = with_setting(document(PROD), "autoscaling.failover", DELETE)
    config, _ = check(doc, "prod.yaml")
    assert config is not None
    alone = spec.group_args("rudder-ha-prod", config.autoscaling, "arn:tg")
    assert (alone["desired_capacity"], alone["health_check_type"]) == (1, "ELB")
    assert spec.maintenance_policy(config.autoscaling) == spec.MAINTENANCE_POLICY
