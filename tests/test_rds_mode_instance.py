"""rds mode on the instance: the backend takes the jobsdb lease before it starts, with its own login,
and provisioning tells the fence agent where the database and its admin secret are."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from rudder_ha.paths import AMI_DIR

BACKEND_UNIT = (AMI_DIR / "systemd" / "rudder-backend.service").read_text()


def _exec_start_pre() -> list[str]:
    return [line for line in BACKEND_UNIT.splitlines() if line.startswith("ExecStartPre=")]


def test_backend_acquires_the_lease_before_anything_else_in_rds_mode() -> None:
    pre = _exec_start_pre()
    acquire = next(i for i, line in enumerate(pre) if "rudder-jobsdb-fence acquire" in line)
    fetch = next(i for i, line in enumerate(pre) if "rudder-fetch-secrets backend" in line)
    assert acquire < fetch, "the drain check's jobsdb.env is copied from the role the acquire wrote"
    assert 'if [ "$RUDDER_JOBSDB_MODE" = rds ]' in pre[acquire]
    assert ": > /run/rudder-ha/jobsdb-role.env" in pre[acquire], "instance mode: an empty role file"
    assert "--env-file /run/rudder-ha/jobsdb-role.env" in BACKEND_UNIT
    assert "TimeoutStartSec=infinity" in BACKEND_UNIT, "acquire may wait for an old instance to let go"
    assert "rudder-jobsdb-fence.service" in next(
        line for line in BACKEND_UNIT.splitlines() if line.startswith("After=")
    )


def test_provisioning_writes_the_fence_agents_admin_settings(tmp_path: Path) -> None:
    connection = {
        "host": "rudder-ha-prod-jobsdb.abc.eu-west-1.rds.amazonaws.com",
        "port": 5432,
        "dbname": "jobsdb",
        "sslmode": "require",
        "admin_secret_arn": "arn:aws:secretsmanager:eu-west-1:333333333333:secret:rds!db-1234-AbCdEf",
    }
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "aws").write_text(
        f"#!/usr/bin/env bash\necho \"$*\" > {tmp_path}/aws.args\ncat <<'JSON'\n{json.dumps(connection)}\nJSON\n"
    )
    (bin_dir / "aws").chmod(0o755)
    provision = (AMI_DIR / "provision.sh").read_text()
    function = provision[
        provision.index("rds_admin_settings() {") : provision.index("\n}\n", provision.index("rds_admin_settings() {"))
        + 3
    ]
    settings = f"CONFIG_DIR={tmp_path}\nAWS_REGION=eu-west-1\nRUDDER_JOBSDB_PARAMETER=/rudder-ha/prod/jobsdb\n"
    script = f"set -euo pipefail\n{settings}{function}\nrds_admin_settings\n"
    run = subprocess.run(
        ["bash", "-c", script],
        env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    written = (tmp_path / "jobsdb-admin.env").read_text().splitlines()
    assert written == [
        f"JOBS_DB_HOST={connection['host']}",
        "JOBS_DB_PORT=5432",
        "JOBS_DB_DB_NAME=jobsdb",
        "JOBS_DB_SSL_MODE=require",
        f"JOBS_DB_ADMIN_SECRET_ID={connection['admin_secret_arn']}",
    ]
    assert oct((tmp_path / "jobsdb-admin.env").stat().st_mode & 0o777) == "0o600"
    assert "--name /rudder-ha/prod/jobsdb" in (tmp_path / "aws.args").read_text()


def test_provisioning_enables_the_fence_only_in_rds_mode() -> None:
    provision = (AMI_DIR / "provision.sh").read_text()
    block = provision[provision.index("enable_services() {") :]
    assert "units=(rudder-jobsdb-fence.service" in block
    assert block.index('if [[ "${RUDDER_JOBSDB_MODE}" == "instance" ]]') < block.index("rudder-jobsdb-fence.service")
