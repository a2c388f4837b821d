"""Tests for ami/bin/rudder-drain-check against a throwaway PostgreSQL server.

The script runs as a subprocess, as it does on the instance, with the psql
client; the jobsdb tables are built with rudder-server's shape by
tests.support.jobsdb.
"""

from __future__ import annotations

import ast
import dataclasses
import datetime
import importlib.machinery
import importlib.util
import json
import os
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import jobsdb as jdb
from tests.support.postgres import ConnectionParams, PostgresServer, jobsdb, postgres_server, psql_client  # noqa: F401

REPO_ROOT = Path(__file__).resolve().parent.parent
SCRIPT = REPO_ROOT / "ami" / "bin" / "rudder-drain-check"

EXIT_DRAINED = 0
EXIT_UNAVAILABLE = 69
EXIT_PENDING = 75
STATUS_FOR_CODE = {EXIT_DRAINED: "drained", EXIT_PENDING: "pending", EXIT_UNAVAILABLE: "unknown"}
# Upper bound for "time between inserting a job and the script measuring its age".
AGE_SLACK_SECONDS = 60.0


@dataclasses.dataclass
class CheckRun:
    """One run of the script."""

    code: int
    data: dict[str, Any]
    stdout: str
    stderr: str
    argv: list[str]
    seconds: float


def assert_contract(run: CheckRun) -> None:
    """The output is one JSON object of the documented shape, consistent with the exit code."""
    assert run.code in STATUS_FOR_CODE, (run.code, run.stdout, run.stderr)
    assert run.stdout.endswith("\n") and run.stdout.count("\n") == 1, run.stdout
    data = run.data
    assert set(data) == {
        "status",
        "pending_jobs",
        "oldest_pending_age_seconds",
        "prefixes",
        "error",
        "checked_at",
    }
    assert data["status"] == STATUS_FOR_CODE[run.code]
    checked = datetime.datetime.fromisoformat(data["checked_at"].replace("Z", "+00:00"))
    assert checked.utcoffset() == datetime.timedelta(0)
    assert abs((datetime.datetime.now(datetime.UTC) - checked).total_seconds()) < 120
    assert isinstance(data["prefixes"], dict)
    if data["status"] == "unknown":
        assert data["pending_jobs"] is None
        assert data["oldest_pending_age_seconds"] is None
        assert isinstance(data["error"], str) and data["error"]
        return
    assert data["error"] is None
    assert data["prefixes"], "a conclusive answer needs at least one prefix"
    total = 0
    for name, entry in data["prefixes"].items():
        keys = {"datasets", "pending_jobs", "oldest_pending_age_seconds"}
        if name == "warehouse":
            keys |= {"pending_uploads", "pending_staging_files"}
            assert entry["pending_jobs"] == entry["pending_uploads"] + entry["pending_staging_files"]
        assert set(entry) == keys, name
        assert isinstance(entry["datasets"], int) and entry["datasets"] >= 1
        assert isinstance(entry["pending_jobs"], int) and entry["pending_jobs"] >= 0
        if entry["pending_jobs"]:
            assert isinstance(entry["oldest_pending_age_seconds"], (int, float))
            assert entry["oldest_pending_age_seconds"] >= 0
        else:
            assert entry["oldest_pending_age_seconds"] is None
        total += entry["pending_jobs"]
    assert data["pending_jobs"] == total
    assert (data["status"] == "pending") == (total > 0)
    ages = [e["oldest_pending_age_seconds"] for e in data["prefixes"].values() if e["pending_jobs"]]
    assert data["oldest_pending_age_seconds"] == (max(ages) if ages else None)


@pytest.fixture(scope="module")
def psql_binary(postgres_server: PostgresServer) -> str:  # noqa: F811
    """The real psql client (next to the server binaries, else on PATH)."""
    try:
        return psql_client(postgres_server.bindir)
    except FileNotFoundError as missing:
        pytest.fail(str(missing))


RunCheck = Callable[..., CheckRun]


@pytest.fixture
def run_check(tmp_path: Path, psql_binary: str) -> RunCheck:
    """Run the script with a clean environment; returns a CheckRun (contract already checked).

    Keyword arguments: ``db`` (ConnectionParams whose JOBS_DB_* variables are
    exported), ``env`` (more variables), ``env_file`` (defaults to an empty
    file, so a real /etc/rudder-ha/jobsdb.env cannot interfere; None omits
    the option), ``path`` (PATH; defaults to psql's directory plus the
    system's).
    """
    empty_env_file = tmp_path / "empty.env"
    empty_env_file.write_text("")
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)

    def run(
        *args: str,
        db: ConnectionParams | None = None,
        env: dict[str, str] | None = None,
        env_file: Path | str | None = empty_env_file,
        path: str | None = None,
    ) -> CheckRun:
        full_env = {
            "PATH": path if path is not None else os.pathsep.join([str(Path(psql_binary).parent), os.defpath]),
            "HOME": str(home),
            "LANG": "C.UTF-8",
        }
        if db is not None:
            full_env.update(db.jobs_db_env())
        full_env.update(env or {})
        argv = [sys.executable, str(SCRIPT)]
        if env_file is not None:
            argv += ["--env-file", str(env_file)]
        argv += list(args)
        started = time.monotonic()
        completed = subprocess.run(argv, capture_output=True, text=True, env=full_env, timeout=120, check=False)
        elapsed = time.monotonic() - started
        try:
            data = json.loads(completed.stdout)
        except ValueError:
            pytest.fail(f"stdout is not one JSON object: {completed.stdout!r}\nstderr: {completed.stderr}")
        result = CheckRun(completed.returncode, data, completed.stdout, completed.stderr, argv, elapsed)
        assert_contract(result)
        return result

    return run


@pytest.fixture
def conn(jobsdb: ConnectionParams) -> Iterator[Any]:  # noqa: F811
    """An autocommit psycopg connection to the test's fresh database."""
    with jobsdb.connect() as connection:
        yield connection


# --------------------------------------------------------------------------
# drained / pending
# --------------------------------------------------------------------------


def test_drained_when_every_latest_state_is_terminal(conn: Any, jobsdb: ConnectionParams, run_check: RunCheck) -> None:  # noqa: F811
    gw = jdb.create_dataset(conn, "gw", 1)
    histories = [
        ["succeeded"],
        ["aborted"],
        ["migrated"],
        ["filtered"],
        ["executing", "failed", "succeeded"],
        ["failed", "failed", "aborted"],
        ["waiting", "executing", "succeeded"],
        ["importing", "migrated"],
    ]
    for history in histories:
        jdb.set_history(conn, gw, jdb.insert_job(conn, gw, age_seconds=500), history)
    rt = jdb.create_dataset(conn, "rt", 1)
    for job_id in jdb.insert_jobs(conn, rt, 3):
        jdb.set_history(conn, rt, job_id, ["executing", "succeeded"])
    jdb.create_dataset(conn, "rt", 2)  # an empty, freshly rotated dataset

    run = run_check(db=jobsdb)

    assert run.code == EXIT_DRAINED
    assert run.data["pending_jobs"] == 0
    assert run.data["oldest_pending_age_seconds"] is None
    assert run.data["prefixes"] == {
        "gw": {"datasets": 1, "pending_jobs": 0, "oldest_pending_age_seconds": None},
        "rt": {"datasets": 2, "pending_jobs": 0, "oldest_pending_age_seconds": None},
    }


def test_job_without_status_row_is_pending(conn: Any, jobsdb: ConnectionParams, run_check: RunCheck) -> None:  # noqa: F811
    gw = jdb.create_dataset(conn, "gw", 1)
    done, fresh = jdb.insert_jobs(conn, gw, 2)
    jdb.add_status(conn, gw, done, "succeeded")

    run = run_check(db=jobsdb)

    assert run.code == EXIT_PENDING
    assert run.data["pending_jobs"] == 1
    assert run.data["prefixes"]["gw"]["pending_jobs"] == 1
    assert jdb.latest_state(conn, gw, fresh) is None


@pytest.mark.parametrize("state", ["failed", "executing", "waiting", "importing", "throttled", None])
def test_non_terminal_latest_state_is_pending(
    conn: Any,
    jobsdb: ConnectionParams,  # noqa: F811
    run_check: RunCheck,
    state: str | None,
) -> None:
    gw = jdb.create_dataset(conn, "gw", 1)
    jobs = jdb.insert_jobs(conn, gw, 3)
    for job_id in jobs[:2]:
        jdb.add_status(conn, gw, job_id, "succeeded")
    jdb.add_status(conn, gw, jobs[2], "executing")
    jdb.add_status(conn, gw, jobs[2], state)  # type: ignore[arg-type]  # None: a NULL job_state

    run = run_check(db=jobsdb)

    assert run.code == EXIT_PENDING
    assert run.data["pending_jobs"] == 1


def test_latest_status_wins_over_an_earlier_terminal_one(
    conn: Any,
    jobsdb: ConnectionParams,  # noqa: F811
    run_check: RunCheck,
) -> None:
    gw = jdb.create_dataset(conn, "gw", 1)
    a, b, c = jdb.insert_jobs(conn, gw, 3)
    # Interleaved rows: the latest row of a job is its highest id, not its last block.
    jdb.add_statuses(
        conn,
        gw,
        [(a, "succeeded"), (b, "failed"), (c, "executing"), (a, "failed"), (b, "succeeded"), (c, "aborted")],
    )
    assert [jdb.latest_state(conn, gw, j) for j in (a, b, c)] == ["failed", "succeeded", "aborted"]

    run = run_check(db=jobsdb)

    assert run.code == EXIT_PENDING
    assert run.data["pending_jobs"] == 1

    jdb.add_status(conn, gw, a, "succeeded")
    assert run_check(db=jobsdb).code == EXIT_DRAINED


def test_several_prefixes_and_compacted_datasets(
    conn: Any,
    jobsdb: ConnectionParams,  # noqa: F811
    run_check: RunCheck,
) -> None:
    layout = {
        ("gw", "1"): ["succeeded", "succeeded"],
        ("gw", "2_1"): ["succeeded", None],
        ("gw", "3"): ["failed"],
        ("rt", "1"): ["aborted", "executing", "waiting"],
        ("batch_rt", "1"): [None, None, "succeeded"],
        ("batch_rt", "2_1"): ["importing"],
        ("esch", "1"): ["succeeded"],
        ("arc", "1"): ["migrated"],
        ("proc_error", "1"): [],
    }
    for (prefix, index), states in layout.items():
        ds = jdb.create_dataset(conn, prefix, index)
        for state in states:
            job_id = jdb.insert_job(conn, ds)
            if state is not None:
                jdb.add_status(conn, ds, job_id, state)

    run = run_check(db=jobsdb)

    assert run.code == EXIT_PENDING
    pending = {name: entry["pending_jobs"] for name, entry in run.data["prefixes"].items()}
    datasets = {name: entry["datasets"] for name, entry in run.data["prefixes"].items()}
    assert pending == {"arc": 0, "batch_rt": 3, "esch": 0, "gw": 2, "proc_error": 0, "rt": 2}
    assert datasets == {"arc": 1, "batch_rt": 2, "esch": 1, "gw": 3, "proc_error": 1, "rt": 1}
    assert run.data["pending_jobs"] == 7


def test_oldest_pending_age_uses_created_at_of_pending_jobs_only(
    conn: Any,
    jobsdb: ConnectionParams,  # noqa: F811
    run_check: RunCheck,
) -> None:
    gw = jdb.create_dataset(conn, "gw", 1)
    jdb.add_status(conn, gw, jdb.insert_job(conn, gw, age_seconds=86_400), "succeeded")  # old but done
    jdb.add_status(conn, gw, jdb.insert_job(conn, gw, age_seconds=3_600), "failed")
    jdb.insert_job(conn, gw, age_seconds=60)
    rt = jdb.create_dataset(conn, "rt", 1)
    jdb.insert_job(conn, rt, age_seconds=10)
    arc = jdb.create_dataset(conn, "arc", 1)
    jdb.add_status(conn, arc, jdb.insert_job(conn, arc, age_seconds=999_999), "succeeded")
    # A job stamped in the future (clock skew) must not produce a negative age.
    esch = jdb.create_dataset(conn, "esch", 1)
    jdb.insert_job(conn, esch, age_seconds=-3_600)

    run = run_check(db=jobsdb)

    assert run.code == EXIT_PENDING
    prefixes = run.data["prefixes"]
    assert 3_600 <= prefixes["gw"]["oldest_pending_age_seconds"] < 3_600 + AGE_SLACK_SECONDS
    assert 10 <= prefixes["rt"]["oldest_pending_age_seconds"] < 10 + AGE_SLACK_SECONDS
    assert prefixes["arc"]["oldest_pending_age_seconds"] is None
    assert prefixes["esch"]["oldest_pending_age_seconds"] == 0
    assert run.data["oldest_pending_age_seconds"] == prefixes["gw"]["oldest_pending_age_seconds"]


def test_tables_that_are_not_datasets_are_ignored(
    conn: Any,
    jobsdb: ConnectionParams,  # noqa: F811
    run_check: RunCheck,
) -> None:
    gw = jdb.create_dataset(conn, "gw", 1)
    jdb.add_status(conn, gw, jdb.insert_job(conn, gw), "succeeded")
    # A status table without its jobs table (it holds no jobs; rudder-server lists datasets by jobs table).
    jdb.create_status_table(conn, "batch_rt", 1)
    # Look-alike names and other schemas.
    conn.execute("CREATE TABLE gw_jobs_1_backup (job_id bigint)")
    conn.execute("CREATE TABLE gw_jobs (job_id bigint)")
    conn.execute("CREATE SCHEMA other")
    conn.execute("CREATE TABLE other.gw_jobs_9 (LIKE public.gw_jobs_1 INCLUDING ALL)")
    conn.execute("CREATE TABLE other.gw_job_status_9 (LIKE public.gw_job_status_1 INCLUDING ALL)")
    conn.execute(
        "INSERT INTO other.gw_jobs_9 (uuid, user_id, parameters, custom_val, event_payload)"
        " VALUES (gen_random_uuid(), 'u', '{}', 'GW', '{}')"
    )

    run = run_check(db=jobsdb)

    assert run.code == EXIT_DRAINED
    assert run.data["prefixes"] == {"gw": {"datasets": 1, "pending_jobs": 0, "oldest_pending_age_seconds": None}}


# --------------------------------------------------------------------------
# cannot tell
# --------------------------------------------------------------------------


def test_empty_database_is_unknown(jobsdb: ConnectionParams, run_check: RunCheck) -> None:  # noqa: F811
    run = run_check(db=jobsdb)

    assert run.code == EXIT_UNAVAILABLE
    assert "no jobsdb datasets" in run.data["error"]


def test_jobs_table_without_status_table_is_unknown_not_skipped(
    conn: Any,
    jobsdb: ConnectionParams,  # noqa: F811
    run_check: RunCheck,
) -> None:
    """rudder-server cannot list such a dataset; its jobs may be pending: cannot tell, with the table named."""
    gw = jdb.create_dataset(conn, "gw", 1)
    jdb.add_status(conn, gw, jdb.insert_job(conn, gw), "succeeded")
    jdb.insert_jobs(conn, jdb.create_jobs_table(conn, "rt", 1), 5)

    run = run_check(db=jobsdb)

    assert run.code == EXIT_UNAVAILABLE
    assert "rt_jobs_1 has no status table rt_job_status_1" in run.data["error"]


def test_pre_drop_dataset_is_left_out(
    conn: Any,
    jobsdb: ConnectionParams,  # noqa: F811
    run_check: RunCheck,
) -> None:
    """A compacted source marked rudder:pre_drop:v1 (on either table) holds no pending work."""
    for index, marked in (("1", "gw_jobs_1"), ("2", "gw_job_status_2")):
        ds = jdb.create_dataset(conn, "gw", index)
        jdb.insert_jobs(conn, ds, 3, age_seconds=9_000)
        conn.execute(f"COMMENT ON TABLE {marked} IS 'rudder:pre_drop:v1'")
    live = jdb.create_dataset(conn, "gw", "2_1")
    jdb.insert_job(conn, live, age_seconds=30)
    conn.execute("COMMENT ON TABLE gw_jobs_2_1 IS 'rudder:created_at:2026-12-01T00:00:00Z'")

    run = run_check(db=jobsdb)

    assert run.code == EXIT_PENDING
    assert run.data["prefixes"]["gw"]["datasets"] == 1
    assert run.data["pending_jobs"] == 1
    assert 30 <= run.data["oldest_pending_age_seconds"] < 30 + AGE_SLACK_SECONDS


def test_jobs_tables_without_status_tables_only_is_unknown(
    conn: Any,
    jobsdb: ConnectionParams,  # noqa: F811
    run_check: RunCheck,
) -> None:
    jdb.create_jobs_table(conn, "gw", 1)

    assert run_check(db=jobsdb).code == EXIT_UNAVAILABLE


def test_stopped_database_is_unknown(
    conn: Any,
    jobsdb: ConnectionParams,  # noqa: F811
    postgres_server: PostgresServer,  # noqa: F811
    run_check: RunCheck,
) -> None:
    gw = jdb.create_dataset(conn, "gw", 1)
    jdb.add_status(conn, gw, jdb.insert_job(conn, gw), "succeeded")
    assert run_check(db=jobsdb).code == EXIT_DRAINED

    with postgres_server.stopped():
        run = run_check(db=jobsdb)

    assert run.code == EXIT_UNAVAILABLE
    assert run.data["status"] == "unknown"
    assert run.data["prefixes"] == {}
    assert "psql" in run.data["error"]


def test_wrong_password_is_unknown(conn: Any, jobsdb: ConnectionParams, run_check: RunCheck) -> None:  # noqa: F811
    jdb.create_dataset(conn, "gw", 1)

    run = run_check(db=jobsdb.replace(password="not-the-password"))

    assert run.code == EXIT_UNAVAILABLE
    assert "password authentication failed" in run.data["error"]


def test_missing_database_is_unknown(jobsdb: ConnectionParams, run_check: RunCheck) -> None:  # noqa: F811
    assert run_check(db=jobsdb.replace(dbname="no_such_database")).code == EXIT_UNAVAILABLE


def test_missing_psql_is_unknown(
    conn: Any,
    jobsdb: ConnectionParams,  # noqa: F811
    run_check: RunCheck,
    tmp_path: Path,
) -> None:
    jdb.create_dataset(conn, "gw", 1)
    empty_dir = tmp_path / "nothing-here"
    empty_dir.mkdir()

    by_option = run_check("--psql", str(empty_dir / "psql"), db=jobsdb)
    by_env = run_check(db=jobsdb, env={"RUDDER_DRAIN_PSQL": str(empty_dir / "psql")})
    by_path = run_check(db=jobsdb, path=str(empty_dir))

    for run in (by_option, by_env, by_path):
        assert run.code == EXIT_UNAVAILABLE
        assert "psql client not found" in run.data["error"]


def test_locked_table_times_out_as_unknown(
    conn: Any,
    jobsdb: ConnectionParams,  # noqa: F811
    run_check: RunCheck,
    psql_binary: str,
    tmp_path: Path,
) -> None:
    gw = jdb.create_dataset(conn, "gw", 1)
    jdb.add_status(conn, gw, jdb.insert_job(conn, gw), "succeeded")
    sent = tmp_path / "psql-script.sql"
    wrapper = tmp_path / "bin" / "psql"
    wrapper.parent.mkdir()
    wrapper.write_text(
        f"#!/bin/sh\nprintf '%s' \"$PGCONNECT_TIMEOUT\" > '{sent}.connect'\ncat > '{sent}'\n"
        f"exec '{psql_binary}' \"$@\" < '{sent}'\n"
    )
    wrapper.chmod(0o755)
    with jobsdb.connect(autocommit=False) as locker:
        locker.execute("LOCK TABLE gw_jobs_1 IN ACCESS EXCLUSIVE MODE")
        run = run_check("--timeout", "1", db=jobsdb, path=os.pathsep.join([str(wrapper.parent), os.defpath]))
        locker.rollback()

    # The lock was held until the check had answered, so only a timeout could end its wait: the one it
    # gave the server, 1 s (the default is 20 s), not its own kill of psql ("did not finish ... killed").
    assert run.code == EXIT_UNAVAILABLE
    assert "timeout" in run.data["error"]
    script = sent.read_text()
    assert "SET LOCAL statement_timeout = 1000;" in script and "SET LOCAL lock_timeout = 1000;" in script
    assert Path(f"{sent}.connect").read_text() == "2"  # libpq's smallest connect timeout


def test_unreadable_table_is_unknown(
    conn: Any,
    jobsdb: ConnectionParams,  # noqa: F811
    run_check: RunCheck,
) -> None:
    gw = jdb.create_dataset(conn, "gw", 1)
    jdb.add_status(conn, gw, jdb.insert_job(conn, gw), "succeeded")
    conn.execute("CREATE ROLE drain_reader LOGIN PASSWORD 'reader-pw'")
    try:
        conn.execute("GRANT SELECT ON gw_jobs_1 TO drain_reader")  # but not the status table

        run = run_check(db=jobsdb.replace(user="drain_reader", password="reader-pw"))

        assert run.code == EXIT_UNAVAILABLE
        assert "permission denied" in run.data["error"]
    finally:
        conn.execute("DROP OWNED BY drain_reader")
        conn.execute("DROP ROLE drain_reader")


@pytest.mark.parametrize(
    ("output", "exit_code"),
    [
        ("", 0),
        ("not json at all", 0),
        ('{"datasets": 1, "prefixes": {}}\n{"datasets": 1, "prefixes": {}}', 0),
        ('{"datasets": 1, "prefixes": {"gw": {"datasets": 1, "pending_jobs": "7"}}}', 0),
        ('{"datasets": -1, "prefixes": {}}', 0),
        ('{"datasets": 1, "prefixes": {"gw": {"datasets": 1, "pending_jobs": 0}}}', 3),
        ('{"cannot_tell": "gw_jobs_1 has no status table gw_job_status_1"}', 0),
        ('{"datasets": 1, "prefixes": {}, "unexplained": [{"jobs_table": "gw_jobs_1", "jobs": 2}]}', 0),
        ('{"datasets": 1, "prefixes": {}, "unexplained": "yes"}', 0),
        ('{"datasets": 1, "prefixes": {}, "warehouse": {"pending_uploads": -1, "pending_staging_files": 0}}', 0),
        (
            '{"datasets": 1, "prefixes": {"warehouse": {"datasets": 1, "pending_jobs": 0}}, "warehouse": '
            '{"pending_uploads": 0, "pending_staging_files": 0, "oldest_pending_age_seconds": null}}',
            0,
        ),
    ],
)
def test_bad_psql_results_are_unknown(run_check: RunCheck, tmp_path: Path, output: str, exit_code: int) -> None:
    fake = tmp_path / "fake-psql"
    (tmp_path / "output.txt").write_text(output)
    fake.write_text(f"#!/bin/sh\ncat '{tmp_path / 'output.txt'}'\nexit {exit_code}\n")
    fake.chmod(0o755)

    run = run_check("--psql", str(fake))

    assert run.code == EXIT_UNAVAILABLE


def test_fake_psql_result_is_interpreted(run_check: RunCheck, tmp_path: Path) -> None:
    """The output parser itself (independent of SQL): a well-formed result maps to the contract."""
    fake = tmp_path / "fake-psql"
    result = {
        "datasets": 3,
        "prefixes": {
            "gw": {"datasets": 2, "pending_jobs": 4, "oldest_pending_age_seconds": 12.5},
            "rt": {"datasets": 1, "pending_jobs": 1, "oldest_pending_age_seconds": 99.0},
        },
    }
    fake.write_text(f"#!/bin/sh\ncat >/dev/null\necho '{json.dumps(result)}'\n")
    fake.chmod(0o755)

    run = run_check("--psql", str(fake))

    assert run.code == EXIT_PENDING
    assert run.data["pending_jobs"] == 5
    assert run.data["oldest_pending_age_seconds"] == 99.0


# --------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------


def _write_env_file(path: Path, values: dict[str, str], *, style: str = "plain") -> Path:
    """Write JOBS_DB_* values in one of the accepted KEY=VALUE styles."""
    lines = ["# rudder-ha jobsdb settings", ""]
    for key, value in values.items():
        if style == "export":
            lines.append(f"export {key}={value}")
        elif style == "quoted":
            lines.append(f'{key}="{value}"')
        else:
            lines.append(f"{key}={value}")
    lines.append("RUDDER_UNRELATED_SETTING=whatever")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("style", ["plain", "export", "quoted"])
def test_env_file_supplies_the_connection(
    conn: Any,
    jobsdb: ConnectionParams,  # noqa: F811
    run_check: RunCheck,
    tmp_path: Path,
    style: str,
) -> None:
    gw = jdb.create_dataset(conn, "gw", 1)
    jdb.insert_job(conn, gw)
    env_file = _write_env_file(tmp_path / "jobsdb.env", jobsdb.jobs_db_env(), style=style)

    run = run_check(env_file=env_file)  # no JOBS_DB_* in the process environment

    assert run.code == EXIT_PENDING
    assert run.data["pending_jobs"] == 1


def test_process_environment_overrides_env_file(
    conn: Any,
    jobsdb: ConnectionParams,  # noqa: F811
    run_check: RunCheck,
    tmp_path: Path,
) -> None:
    jdb.create_dataset(conn, "gw", 1)
    good = _write_env_file(tmp_path / "good.env", jobsdb.jobs_db_env())
    bad = _write_env_file(tmp_path / "bad.env", jobsdb.replace(password="wrong").jobs_db_env())

    assert run_check(env_file=bad, env={"JOBS_DB_PASSWORD": jobsdb.password}).code == EXIT_DRAINED
    assert run_check(env_file=good, env={"JOBS_DB_PASSWORD": "wrong"}).code == EXIT_UNAVAILABLE


def test_server_env_file_supplies_the_warehouse_settings(
    conn: Any,
    jobsdb: ConnectionParams,  # noqa: F811
    run_check: RunCheck,
    tmp_path: Path,
) -> None:
    """rudder-server's own environment file (shell-quoted, other lines ignored) can send the warehouse away."""
    gw = jdb.create_dataset(conn, "gw", 1)
    jdb.add_status(conn, gw, jdb.insert_job(conn, gw), "succeeded")
    server_env = tmp_path / "backend.env"
    server_env.write_text(
        "CONFIG_BACKEND_URL=https://api.rudderstack.com\n"
        "SOMETHING='not KEY=VALUE at all' extra\n"
        f"WAREHOUSE_JOBS_DB_HOST={jobsdb.host}\n"
        "WAREHOUSE_JOBS_DB_USER=warehouse\n"
        "export WAREHOUSE_JOBS_DB_PASSWORD='it'\"'\"'s secret'\n"
        "WAREHOUSE_JOBS_DB_DB_NAME=warehouse\n"
    )

    refused = run_check("--server-env", str(server_env), db=jobsdb)
    default_missing = run_check(db=jobsdb)
    missing = run_check("--server-env", str(tmp_path / "absent.env"), db=jobsdb)
    server_env.write_text("WAREHOUSE_JOBS_DB_HOST='unbalanced\n")
    broken = run_check("--server-env", str(server_env), db=jobsdb)

    assert refused.code == EXIT_UNAVAILABLE
    assert f"own database ({jobsdb.host}:5432/warehouse" in refused.data["error"]
    assert "secret" not in refused.stdout + refused.stderr
    assert default_missing.code == EXIT_DRAINED or Path("/etc/rudder-ha/backend.env").exists()
    assert missing.code == EXIT_UNAVAILABLE and "server env file not found" in missing.data["error"]
    assert broken.code == EXIT_UNAVAILABLE and f"{server_env} line 1" in broken.data["error"]


def test_warehouse_settings_in_the_env_file_override_the_server_env(
    conn: Any,
    jobsdb: ConnectionParams,  # noqa: F811
    run_check: RunCheck,
    tmp_path: Path,
) -> None:
    """--env-file (and the process environment) take precedence over --server-env."""
    gw = jdb.create_dataset(conn, "gw", 1)
    jdb.add_status(conn, gw, jdb.insert_job(conn, gw), "succeeded")
    server_env = tmp_path / "backend.env"
    server_env.write_text("WAREHOUSE_JOBS_DB_HOST=elsewhere\nWAREHOUSE_JOBS_DB_USER=u\nWAREHOUSE_JOBS_DB_DB_NAME=d\n")
    same = {f"WAREHOUSE_{key}": value for key, value in jobsdb.jobs_db_env().items()}
    env_file = _write_env_file(tmp_path / "jobsdb.env", {**jobsdb.jobs_db_env(), **same})

    assert run_check("--server-env", str(server_env), env_file=env_file).code == EXIT_DRAINED
    assert run_check("--server-env", str(server_env), db=jobsdb).code == EXIT_UNAVAILABLE
    assert run_check("--server-env", str(server_env), db=jobsdb, env=same).code == EXIT_DRAINED


def test_missing_named_env_file_is_unknown(jobsdb: ConnectionParams, run_check: RunCheck, tmp_path: Path) -> None:  # noqa: F811
    run = run_check(db=jobsdb, env_file=tmp_path / "absent.env")

    assert run.code == EXIT_UNAVAILABLE
    assert "env file not found" in run.data["error"]


def test_malformed_env_file_is_unknown_without_leaking_its_content(
    jobsdb: ConnectionParams,  # noqa: F811
    run_check: RunCheck,
    tmp_path: Path,
) -> None:
    env_file = tmp_path / "broken.env"
    env_file.write_text("JOBS_DB_HOST=127.0.0.1\nsecret-password-line-without-equals\n")

    run = run_check(db=jobsdb, env_file=env_file)

    assert run.code == EXIT_UNAVAILABLE
    assert "line 2" in run.data["error"]
    assert "secret-password" not in run.stdout + run.stderr


def test_missing_default_env_file_is_fine(
    conn: Any,
    jobsdb: ConnectionParams,  # noqa: F811
    run_check: RunCheck,
) -> None:
    if Path("/etc/rudder-ha/jobsdb.env").exists():
        pytest.skip("this machine has a real /etc/rudder-ha/jobsdb.env")
    jdb.create_dataset(conn, "gw", 1)

    assert run_check(db=jobsdb, env_file=None).code == EXIT_DRAINED


def test_unix_socket_host(conn: Any, jobsdb: ConnectionParams, run_check: RunCheck) -> None:  # noqa: F811
    gw = jdb.create_dataset(conn, "gw", 1)
    jdb.insert_job(conn, gw)

    run = run_check(env=jobsdb.jobs_db_env(via_socket=True))

    assert run.code == EXIT_PENDING


def test_prefix_exclude(conn: Any, jobsdb: ConnectionParams, run_check: RunCheck) -> None:  # noqa: F811
    gw = jdb.create_dataset(conn, "gw", 1)
    jdb.add_status(conn, gw, jdb.insert_job(conn, gw), "succeeded")
    for prefix in ("rt", "batch_rt"):
        jdb.insert_job(conn, jdb.create_dataset(conn, prefix, 1))

    assert run_check(db=jobsdb).data["pending_jobs"] == 2

    one = run_check("--prefix-exclude", "rt", db=jobsdb)
    assert one.code == EXIT_PENDING
    assert set(one.data["prefixes"]) == {"gw", "batch_rt"}
    assert one.data["pending_jobs"] == 1

    both = run_check("--prefix-exclude", "rt", "--prefix-exclude", "batch_rt", db=jobsdb)
    assert both.code == EXIT_DRAINED
    assert set(both.data["prefixes"]) == {"gw"}

    everything = run_check(
        "--prefix-exclude", "rt", "--prefix-exclude", "batch_rt", "--prefix-exclude", "gw", db=jobsdb
    )
    assert everything.code == EXIT_UNAVAILABLE


@pytest.mark.parametrize(
    "args",
    [["--timeout", "0"], ["--timeout", "soon"], ["--prefix-exclude", "gw; DROP TABLE x"], ["--no-such-option"]],
)
def test_bad_options_are_unknown(jobsdb: ConnectionParams, run_check: RunCheck, args: list[str]) -> None:  # noqa: F811
    run = run_check(*args, db=jobsdb)

    assert run.code == EXIT_UNAVAILABLE
    assert "invalid options" in run.data["error"]


def test_password_never_on_a_command_line(
    conn: Any,
    jobsdb: ConnectionParams,  # noqa: F811
    run_check: RunCheck,
    psql_binary: str,
    tmp_path: Path,
) -> None:
    gw = jdb.create_dataset(conn, "gw", 1)
    jdb.insert_job(conn, gw)
    argv_log = tmp_path / "argv.log"
    password_log = tmp_path / "password.log"
    wrapper = tmp_path / "bin" / "psql"
    wrapper.parent.mkdir()
    wrapper.write_text(
        "#!/bin/sh\n"
        f"printf '%s\\n' \"$0\" \"$@\" > '{argv_log}'\n"
        f"printf '%s' \"$PGPASSWORD\" > '{password_log}'\n"
        f"exec '{psql_binary}' \"$@\"\n"
    )
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)

    run = run_check(db=jobsdb, path=os.pathsep.join([str(wrapper.parent), os.defpath]))

    assert run.code == EXIT_PENDING  # the wrapper really ran psql
    recorded_argv = argv_log.read_text()
    assert recorded_argv.startswith(str(wrapper))
    assert jobsdb.password not in recorded_argv
    assert jobsdb.password not in " ".join(run.argv)
    assert password_log.read_text() == jobsdb.password  # it travelled in PGPASSWORD
    assert jobsdb.password not in run.stdout + run.stderr


def test_psqlrc_and_stray_pg_variables_are_ignored(
    conn: Any,
    jobsdb: ConnectionParams,  # noqa: F811
    run_check: RunCheck,
    tmp_path: Path,
) -> None:
    gw = jdb.create_dataset(conn, "gw", 1)
    jdb.insert_job(conn, gw)
    psqlrc = tmp_path / "home" / ".psqlrc"
    psqlrc.write_text("\\echo psqlrc-was-read\n\\pset format aligned\n\\pset tuples_only off\n")
    hostile = {
        "PSQLRC": str(psqlrc),
        "PGHOST": "/nonexistent",
        "PGDATABASE": "postgres",
        "PGOPTIONS": "-c search_path=nowhere",
        "PGSERVICE": "no-such-service",
    }

    run = run_check(db=jobsdb, env=hostile)

    assert run.code == EXIT_PENDING
    assert "psqlrc-was-read" not in run.stdout + run.stderr


# --------------------------------------------------------------------------
# the script itself
# --------------------------------------------------------------------------


def _load_script() -> ModuleType:
    """Import the extension-less script as a module."""
    loader = importlib.machinery.SourceFileLoader("rudder_drain_check", str(SCRIPT))
    spec = importlib.util.spec_from_loader("rudder_drain_check", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_unexpected_exception_is_unknown(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    module = _load_script()

    def explode(*_args: Any, **_kwargs: Any) -> dict[str, Any]:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(module, "run_check", explode)

    code = module.main(["--env-file", os.devnull])

    out, err = capsys.readouterr()
    assert code == EXIT_UNAVAILABLE
    data = json.loads(out)
    assert data["status"] == "unknown"
    assert "ZeroDivisionError" in data["error"]
    assert "Traceback" not in out
    assert "Traceback" in err


def test_env_file_parser() -> None:
    module = _load_script()
    parsed = module.parse_env_file(
        "# comment\n\nexport A=1\nB = two words \nC='quoted # not a comment'\nD=\"x\"\nE=\nF=a=b\n"
    )
    assert parsed == {"A": "1", "B": "two words", "C": "quoted # not a comment", "D": "x", "E": "", "F": "a=b"}
    with pytest.raises(module.CheckError):
        module.parse_env_file("1BAD=x\n")


def test_help_documents_the_exit_codes() -> None:
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert completed.returncode == 0
    for token in (
        "--env-file",
        "--server-env",
        "--psql",
        "--timeout",
        "--prefix-exclude",
        "0 = drained",
        "75 = pending",
        "69",
    ):
        assert token in completed.stdout


def test_script_is_executable_and_python39_compatible() -> None:
    source = SCRIPT.read_text()
    assert source.startswith("#!/usr/bin/env python3\n")
    assert os.access(SCRIPT, os.X_OK)
    assert "from __future__ import annotations" in source
    ast.parse(source, feature_version=(3, 9))  # no match statements or other 3.10+ syntax
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(ast.parse(source))
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(name=node.module or "")])
    }
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}
    pyenv_39 = sorted(Path.home().glob(".pyenv/versions/3.9*/bin/python3.9"))
    python39 = str(pyenv_39[-1]) if pyenv_39 else shutil.which("python3.9")
    if python39:
        completed = subprocess.run(
            [python39, str(SCRIPT), "--env-file", "/nonexistent"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if "command not found" not in completed.stderr:  # pyenv shims without a 3.9 selected
            assert completed.returncode == EXIT_UNAVAILABLE
            assert json.loads(completed.stdout)["status"] == "unknown"


# --------------------------------------------------------------------------
# property: the script agrees with a pure-Python model
# --------------------------------------------------------------------------

PROPERTY_STATES = (*jdb.ALL_STATES, "throttled")
job_strategy = st.tuples(
    st.integers(min_value=0, max_value=100_000),  # age in seconds
    st.lists(st.sampled_from(PROPERTY_STATES), max_size=4),  # status history, oldest first
)
datasets_strategy = st.dictionaries(
    keys=st.tuples(st.sampled_from(["gw", "rt", "batch_rt"]), st.sampled_from(["1", "2", "2_1"])),
    values=st.lists(job_strategy, max_size=6),
    min_size=1,
    max_size=4,
)


def model(datasets: dict[tuple[str, str], list[tuple[int, list[str]]]]) -> dict[str, dict[str, Any]]:
    """Per prefix: datasets, pending jobs and the age of the oldest pending job."""
    result: dict[str, dict[str, Any]] = {}
    for (prefix, _index), jobs in datasets.items():
        entry = result.setdefault(prefix, {"datasets": 0, "pending_jobs": 0, "oldest": None})
        entry["datasets"] += 1
        for age, history in jobs:
            if not history or history[-1] not in jdb.TERMINAL_STATES:
                entry["pending_jobs"] += 1
                entry["oldest"] = age if entry["oldest"] is None else max(entry["oldest"], age)
    return result


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(datasets=datasets_strategy)
def test_pending_count_matches_model(
    conn: Any,
    jobsdb: ConnectionParams,  # noqa: F811
    run_check: RunCheck,
    datasets: dict[tuple[str, str], list[tuple[int, list[str]]]],
) -> None:
    jdb.reset_schema(conn)
    for (prefix, index), jobs in datasets.items():
        ds = jdb.create_dataset(conn, prefix, index)
        job_ids = [jdb.insert_job(conn, ds, age_seconds=age) for age, _history in jobs]
        # Interleave the histories so a job's rows are not contiguous ids.
        for step in range(max((len(history) for _age, history in jobs), default=0)):
            for job_id, (_age, history) in zip(job_ids, jobs, strict=True):
                if step < len(history):
                    jdb.add_status(conn, ds, job_id, history[step])

    expected = model(datasets)
    run = run_check(db=jobsdb)

    total = sum(entry["pending_jobs"] for entry in expected.values())
    assert run.code == (EXIT_PENDING if total else EXIT_DRAINED)
    assert run.data["pending_jobs"] == total
    assert set(run.data["prefixes"]) == set(expected)
    for prefix, entry in expected.items():
        got = run.data["prefixes"][prefix]
        assert got["datasets"] == entry["datasets"]
        assert got["pending_jobs"] == entry["pending_jobs"]
        if entry["oldest"] is None:
            assert got["oldest_pending_age_seconds"] is None
        else:
            assert entry["oldest"] <= got["oldest_pending_age_seconds"] < entry["oldest"] + AGE_SLACK_SECONDS
