"""``ami/bin/rudder-drain-wait``: re-runs the drain check on the node until the jobsdb is drained.

Run as a real process against a throwaway PostgreSQL (the real ``rudder-drain-check``), and against
small stand-in checks for the exit-code contract: 0 only for a check that exited 0 with a "drained"
report; 69 ("cannot tell") never counts as drained; 75 when time ran out while pending. The tests
wait on the process's own output and exit, never on the clock.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from tests.support import jobsdb as jobs
from tests.support.aws_emulation import DRAIN_CHECK_SCRIPT
from tests.support.aws_emulation.ssm_run_command import DRAIN_WAIT_SCRIPT
from tests.support.postgres import ConnectionParams, jobsdb, postgres_server  # noqa: F401

EXIT_TIMEOUT = 120
"""Hang guard for waiting on the process; no test relies on it firing."""


@pytest.fixture
def database(request: pytest.FixtureRequest) -> ConnectionParams:
    """A fresh jobsdb database."""
    return request.getfixturevalue("jobsdb")


def base_env(database: Mapping[str, str] | None = None) -> dict[str, str]:
    """The process environment: PATH for psql, and the jobsdb settings when given."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "HOME": os.environ.get("HOME", "/tmp")}
    env.update(database or {})
    return env


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    """Started waits; any still running at the end is killed."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=EXIT_TIMEOUT)


def start(processes: list[subprocess.Popen[str]], *args: str, env: Mapping[str, str]) -> subprocess.Popen[str]:
    """Start ``rudder-drain-wait`` with ``args``."""
    process = subprocess.Popen(
        [sys.executable, str(DRAIN_WAIT_SCRIPT), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(env),
    )
    processes.append(process)
    return process


def wait_for_stderr(process: subprocess.Popen[str], text: str) -> str:
    """Read stderr lines until one contains ``text`` (the script reports every change of verdict)."""
    assert process.stderr is not None
    for line in process.stderr:
        if text in line:
            return line
    raise AssertionError(f"the script ended (exit {process.wait(timeout=EXIT_TIMEOUT)}) before reporting {text!r}")


def finish(process: subprocess.Popen[str]) -> tuple[int, dict]:
    """Wait for the exit; return its code and its one-line report."""
    stdout, _ = process.communicate(timeout=EXIT_TIMEOUT)
    lines = stdout.strip().splitlines()
    assert len(lines) == 1, stdout
    return process.returncode, json.loads(lines[0])


def stand_in_check(tmp_path: Path, exit_code: int, report: dict | None) -> Path:
    """A check that prints ``report`` (none if None) and exits ``exit_code``."""
    path = tmp_path / "check"
    line = json.dumps(report) if report is not None else "no report here"
    path.write_text(f"#!{sys.executable}\nimport sys\nprint({line!r})\nsys.exit({exit_code})\n", encoding="utf-8")
    path.chmod(0o755)
    return path


def test_waits_while_pending_and_exits_the_moment_the_jobsdb_is_drained(
    database: ConnectionParams, processes: list[subprocess.Popen[str]]
) -> None:
    """Real check, real PostgreSQL: pending jobs keep it waiting; once the last one is terminal it exits 0."""
    with database.connect() as conn:
        gw = jobs.create_dataset(conn, "gw", 1)
        [job] = jobs.insert_jobs(conn, gw, 1)
        jobs.add_status(conn, gw, job, "executing")
        process = start(
            processes,
            "--check",
            str(DRAIN_CHECK_SCRIPT),
            "--env-file",
            os.devnull,
            "--interval",
            "0.2",
            "--max-seconds",
            "600",
            env=base_env(database.jobs_db_env()),
        )
        wait_for_stderr(process, "pending (exit 75)")
        assert process.poll() is None, "still waiting while a job is pending"
        jobs.add_status(conn, gw, job, "succeeded")
        code, report = finish(process)
    assert code == 0
    assert report["status"] == "drained" and report["pending_jobs"] == 0


def test_cannot_tell_is_never_drained(processes: list[subprocess.Popen[str]]) -> None:
    """No database to ask (nothing listens on the port): the real check exits 69 every time; the wait ends
    with 69 and an "unknown" report once its time is up."""
    unreachable = {
        "JOBS_DB_HOST": "127.0.0.1",
        "JOBS_DB_PORT": "9",
        "JOBS_DB_USER": "nobody",
        "JOBS_DB_PASSWORD": "x",
        "JOBS_DB_DB_NAME": "none",
    }
    process = start(
        processes,
        "--check",
        str(DRAIN_CHECK_SCRIPT),
        "--env-file",
        os.devnull,
        "--timeout",
        "2",
        "--interval",
        "0.1",
        "--max-seconds",
        "0.5",
        env=base_env(unreachable),
    )
    code, report = finish(process)
    assert code == 69
    assert report["status"] == "unknown" and report["error"]


@pytest.mark.parametrize(
    ("exit_code", "report", "expected"),
    [
        (0, None, 69),
        (0, {"status": "pending", "pending_jobs": 3}, 69),
        (0, {"status": "drained", "pending_jobs": 2}, 69),
        (75, {"status": "drained", "pending_jobs": 0}, 69),
        (1, {"status": "drained", "pending_jobs": 0}, 69),
        (69, {"status": "unknown", "pending_jobs": None, "error": "connection refused"}, 69),
        (75, {"status": "pending", "pending_jobs": 3}, 75),
        (0, {"status": "drained", "pending_jobs": 0}, 0),
    ],
)
def test_exit_code_contract(
    tmp_path: Path, processes: list[subprocess.Popen[str]], exit_code: int, report: dict | None, expected: int
) -> None:
    """0 only when the check exited 0 AND reported drained with nothing pending; a contradiction, a missing
    report or any other code is "cannot tell"; pending stays pending."""
    check = stand_in_check(tmp_path, exit_code, report)
    process = start(processes, "--check", str(check), "--interval", "0.05", "--max-seconds", "0.2", env=base_env())
    code, printed = finish(process)
    assert code == expected
    assert printed["status"] == {0: "drained", 75: "pending", 69: "unknown"}[expected]


def test_sigterm_while_pending_reports_pending(tmp_path: Path, processes: list[subprocess.Popen[str]]) -> None:
    """SSM cancelling the command (SIGTERM) ends the wait with the last verdict, never 0."""
    check = stand_in_check(tmp_path, 75, {"status": "pending", "pending_jobs": 4})
    process = start(processes, "--check", str(check), "--interval", "0.05", "--max-seconds", "600", env=base_env())
    wait_for_stderr(process, "pending (exit 75)")
    process.send_signal(signal.SIGTERM)
    code, report = finish(process)
    assert code == 75 and report["status"] == "pending" and report["pending_jobs"] == 4


@pytest.mark.parametrize(
    "args",
    [["--interval", "0"], ["--max-seconds", "soon"], ["--interval", "nan"], ["--unknown-option"]],
)
def test_bad_options_cannot_tell(processes: list[subprocess.Popen[str]], args: list[str]) -> None:
    """Bad options: exit 69 with one line on stderr naming the problem, never a traceback."""
    process = start(processes, *args, env=base_env())
    stdout, stderr = process.communicate(timeout=EXIT_TIMEOUT)
    assert process.returncode == 69
    assert json.loads(stdout)["status"] == "unknown"
    assert stderr.startswith("rudder-drain-wait: ") and "Traceback" not in stderr


def test_a_missing_check_cannot_tell(tmp_path: Path, processes: list[subprocess.Popen[str]]) -> None:
    """The check cannot be run: 69, with the reason in the report."""
    process = start(processes, "--check", str(tmp_path / "absent"), "--max-seconds", "0.1", env=base_env())
    code, report = finish(process)
    assert code == 69 and "cannot run the check" in report["error"]
