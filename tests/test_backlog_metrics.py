"""ami/bin/rudder-backlog-metrics publishes rudder-server's own backlog, per release.

The script runs as the systemd timer runs it: with ``rudder-drain-check`` (the real one, against
a throwaway PostgreSQL holding a jobsdb built as v1.62.1 or v1.83.0 build it) and the ``aws`` CLI
on PATH. The ``aws`` on PATH here is a recorder: it writes the put-metric-data call it got to a
file, which the test reads back (the call itself is covered by the alerting synth tests).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.postgres import ConnectionParams, PostgresServer, jobsdb, postgres_server, psql_client  # noqa: F401
from tests.support.rudder_jobsdb.drain_check import REPO_ROOT, drain_check_script
from tests.support.rudder_jobsdb.releases import SUPPORTED, Release
from tests.support.rudder_jobsdb.scenarios import SCENARIOS

SCRIPT = REPO_ROOT / "ami" / "bin" / "rudder-backlog-metrics"
AGE_SLACK_SECONDS = 60.0
RELEASES = pytest.mark.parametrize("release", SUPPORTED, ids=lambda r: r.label)


@pytest.fixture
def conn(jobsdb: ConnectionParams) -> Iterator[Any]:  # noqa: F811
    """An autocommit connection to the test's fresh database."""
    with jobsdb.connect() as connection:
        yield connection


def publish_data(tmp_path: Path, params: ConnectionParams, postgres: PostgresServer, pod: str = "") -> list[dict]:
    """Run the script once (as pod ``pod`` if given); return the metric data it put; its log is in
    ``tmp_path/log``."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "aws-calls.json"
    (bin_dir / "rudder-drain-check").write_text(f'#!/bin/sh\nexec "{sys.executable}" "{drain_check_script()}" "$@"\n')
    (bin_dir / "aws").write_text(
        f'#!{sys.executable}\nimport json, sys\nopen("{calls}", "w").write(json.dumps(sys.argv[1:]))\n'
    )
    for tool in ("rudder-drain-check", "aws"):
        (bin_dir / tool).chmod(0o755)
    instance_env = tmp_path / "instance.env"
    instance_env.write_text("AWS_REGION=eu-west-1\nRUDDER_HA_ENVIRONMENT='prod ha'\n")
    jobsdb_env = tmp_path / "jobsdb.env"
    jobsdb_env.write_text("".join(f"{key}={value}\n" for key, value in params.jobs_db_env().items()))
    env = {
        "PATH": os.pathsep.join([str(bin_dir), str(Path(psql_client(postgres.bindir)).parent), os.defpath]),
        "HOME": str(tmp_path),
        "RUDDER_HA_INSTANCE_ENV": str(instance_env),
        "RUDDER_HA_JOBSDB_ENV": str(jobsdb_env),
        "RUDDER_HA_IMDS_URL": "unreachable",  # not http://: no lifecycle state, publish
        **({"RUDDER_HA_BACKLOG_POD": pod} if pod else {}),
    }
    completed = subprocess.run(
        [sys.executable, str(SCRIPT)], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert completed.returncode == 0, completed.stderr
    (tmp_path / "log").write_text(completed.stderr)
    argv = json.loads(calls.read_text())
    assert argv[:6] == ["cloudwatch", "put-metric-data", "--region", "eu-west-1", "--namespace", "RudderHA"]
    return json.loads(argv[argv.index("--metric-data") + 1])


def publish(tmp_path: Path, params: ConnectionParams, postgres: PostgresServer) -> dict[str, float]:
    """Run the script once; return the metrics it published ({name: value}), all under Environment."""
    data = publish_data(tmp_path, params, postgres)
    for datum in data:
        assert datum["Dimensions"] == [{"Name": "Environment", "Value": "prod ha"}]
    return {datum["MetricName"]: datum["Value"] for datum in data}


@RELEASES
@pytest.mark.parametrize(
    ("scenario", "pending", "oldest"),
    [
        ("ordinary_drained", 0, 0.0),
        ("compacted_pending", 2, 5_400.0),
        ("per_consumer_status", 3, 900.0),
        ("pre_drop_phantoms", 1, 60.0),
        ("warehouse_uploads", 2, 300.0),
    ],
)
def test_backlog_is_rudder_servers(
    conn: Any,
    jobsdb: ConnectionParams,  # noqa: F811
    postgres_server: PostgresServer,  # noqa: F811
    tmp_path: Path,
    release: Release,
    scenario: str,
    pending: int,
    oldest: float,
) -> None:
    """PendingJobs and OldestPendingAgeSeconds count per consumer, skip pre-drop datasets, include the warehouse."""
    SCENARIOS[scenario](conn, release, jobsdb)

    metrics = publish(tmp_path, jobsdb, postgres_server)

    assert set(metrics) == {"PendingJobs", "OldestPendingAgeSeconds", "BacklogCheckFailed"}
    assert metrics["BacklogCheckFailed"] == 0
    assert metrics["PendingJobs"] == pending
    if pending:
        assert oldest <= metrics["OldestPendingAgeSeconds"] < oldest + AGE_SLACK_SECONDS
    else:
        assert metrics["OldestPendingAgeSeconds"] == 0


@RELEASES
def test_a_jobsdb_the_check_does_not_understand_is_a_failed_check(
    conn: Any,
    jobsdb: ConnectionParams,  # noqa: F811
    postgres_server: PostgresServer,  # noqa: F811
    tmp_path: Path,
    release: Release,
) -> None:
    """A jobs table without its status table: BacklogCheckFailed=1 only, never a zero backlog."""
    SCENARIOS["jobs_without_status"](conn, release, jobsdb)

    assert publish(tmp_path, jobsdb, postgres_server) == {"BacklogCheckFailed": 1}
    assert (
        "cannot tell (exit 69): jobsdb not understood: rt_jobs_2 has no status table" in (tmp_path / "log").read_text()
    )


@RELEASES
def test_a_pod_publishes_under_environment_and_under_its_own_name(
    conn: Any,
    jobsdb: ConnectionParams,  # noqa: F811
    postgres_server: PostgresServer,  # noqa: F811
    tmp_path: Path,
    release: Release,
) -> None:
    """EKS: the alarms read the Environment series (worst pod); the Pod series says which pod it is."""
    SCENARIOS["compacted_pending"](conn, release, jobsdb)

    data = publish_data(tmp_path, jobsdb, postgres_server, pod="rudder-backend-1")

    env_only = [{"Name": "Environment", "Value": "prod ha"}]
    per_pod = [*env_only, {"Name": "Pod", "Value": "rudder-backend-1"}]
    by_dimensions = {json.dumps(d["Dimensions"]): {} for d in data}
    for datum in data:
        by_dimensions[json.dumps(datum["Dimensions"])][datum["MetricName"]] = datum["Value"]
    assert set(by_dimensions) == {json.dumps(env_only), json.dumps(per_pod)}
    assert by_dimensions[json.dumps(env_only)] == by_dimensions[json.dumps(per_pod)]
    assert by_dimensions[json.dumps(per_pod)]["PendingJobs"] == 2
