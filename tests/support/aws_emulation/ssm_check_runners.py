"""What SSM Run Command executes on the instance: the on-node drain check.

Either the real ``ami/bin/rudder-drain-check`` against a real PostgreSQL
(:class:`ScriptCheckRunner`), or scripted outcomes in the script's exact output format and exit
codes (:class:`ScriptedCheckRunner`). :class:`~tests.support.aws_emulation.ssm_run_command.RunCommandEmulation`
calls the runner at the virtual moment the command is delivered.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.support.paths import REPO

if TYPE_CHECKING:
    from tests.support.aws_emulation.clock import VirtualClock

DRAIN_CHECK_SCRIPT = REPO / "ami" / "bin" / "rudder-drain-check"


@dataclasses.dataclass(frozen=True)
class CheckExecution:
    """What running the check on an instance produced."""

    exit_code: int
    stdout: str
    stderr: str = ""


#: Runs the on-node check for an instance id.
CheckRunner = Callable[[str], CheckExecution]


class WalPosition:
    """The server's WAL insert position (``pg_current_wal_insert_lsn()``) over one psycopg connection.

    Every committed change of the jobsdb advances it, so an unchanged position means the check would
    read exactly what it read before. Reads may advance it too (page pruning), which only costs one
    more real run.
    """

    def __init__(self, database: Mapping[str, str]) -> None:
        """Connect lazily with the ``JOBS_DB_*`` settings of ``database``."""
        self._database = dict(database)
        self._conn: Any = None

    def __call__(self) -> str:
        """The current position."""
        if self._conn is None:
            import psycopg

            self._conn = psycopg.connect(
                host=self._database.get("JOBS_DB_HOST", "localhost"),
                port=self._database.get("JOBS_DB_PORT", "5432"),
                user=self._database.get("JOBS_DB_USER"),
                password=self._database.get("JOBS_DB_PASSWORD") or None,
                dbname=self._database.get("JOBS_DB_DB_NAME"),
                sslmode=self._database.get("JOBS_DB_SSL_MODE", "disable"),
                autocommit=True,
            )
        row = self._conn.execute("SELECT pg_current_wal_insert_lsn()::text").fetchone()
        return str(row[0])

    def close(self) -> None:
        """Close the connection."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class ScriptCheckRunner:
    """Runs the real ``rudder-drain-check`` as a subprocess.

    Reproduces the instance side of the check: the script, its ``psql`` client and a real
    PostgreSQL. ``env`` gives the ``JOBS_DB_*`` variables (per instance when callable); the
    script gets no other database settings (``--env-file /dev/null``).

    ``reuse_while_unchanged``: a waiting document re-runs the check every second of virtual time;
    the result of a check is a function of the committed data, so while the server's WAL position
    (:class:`WalPosition`) has not moved since the previous run for the instance, that run's result
    is returned again instead of starting the script (counted in :attr:`reused`).
    """

    def __init__(
        self,
        env: Mapping[str, str] | Callable[[str], Mapping[str, str]],
        *,
        script: Path = DRAIN_CHECK_SCRIPT,
        timeout_seconds: float = 60.0,
        reuse_while_unchanged: bool = False,
    ) -> None:
        """Prepare to run ``script`` with the given database environment. The check's own timeout is a hang
        guard here (no test relies on it firing), so a slow but healthy check on a loaded machine still answers."""
        self._env = env
        self.script = script
        self.timeout_seconds = timeout_seconds
        self.runs: list[CheckExecution] = []
        self.reused = 0
        self._reuse = reuse_while_unchanged
        self._positions: dict[str, WalPosition] = {}
        self._previous: dict[str, tuple[str, CheckExecution]] = {}

    def close(self) -> None:
        """Close the connections used to read WAL positions."""
        for probe in self._positions.values():
            probe.close()
        self._positions.clear()

    def __call__(self, instance_id: str) -> CheckExecution:
        """Run the check once (or reuse the previous result, see the class docstring)."""
        database = self._env(instance_id) if callable(self._env) else self._env
        if not self._reuse:
            return self._run(database)
        probe = self._positions.setdefault(instance_id, WalPosition(database))
        position = probe()
        previous = self._previous.get(instance_id)
        if previous is not None and previous[0] == position:
            self.reused += 1
            return previous[1]
        result = self._run(database)
        self._previous[instance_id] = (position, result)
        return result

    def _run(self, database: Mapping[str, str]) -> CheckExecution:
        """Start the script once."""
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "HOME": os.environ.get("HOME", "/tmp"),
            **database,
        }
        completed = subprocess.run(
            [sys.executable, str(self.script), "--env-file", os.devnull, "--timeout", str(self.timeout_seconds)],
            capture_output=True,
            text=True,
            env=env,
            timeout=4 * self.timeout_seconds + 30,
            check=False,
        )
        result = CheckExecution(completed.returncode, completed.stdout, completed.stderr)
        self.runs.append(result)
        return result


def check_output(
    status: str, pending_jobs: int | None = 0, oldest: float | None = None, error: str | None = None
) -> str:
    """A stdout line in the exact format of ``rudder-drain-check``."""
    return (
        json.dumps(
            {
                "status": status,
                "pending_jobs": pending_jobs,
                "oldest_pending_age_seconds": oldest,
                "prefixes": {
                    "gw": {"datasets": 1, "pending_jobs": pending_jobs or 0, "oldest_pending_age_seconds": oldest}
                }
                if status != "unknown"
                else {},
                "error": error,
                "checked_at": "2026-01-01T00:00:00.000000Z",
            }
        )
        + "\n"
    )


class ScriptedCheckRunner:
    """Scripted check outcomes in the script's exact output format (no PostgreSQL needed).

    ``outcome(instance_id, now)`` returns ``("drained" | "pending" | "unknown", pending_jobs)``.
    """

    def __init__(self, clock: VirtualClock, outcome: Callable[[str, float], tuple[str, int | None]]) -> None:
        """Use ``outcome`` to decide each run."""
        self._clock = clock
        self._outcome = outcome
        self.runs: list[CheckExecution] = []

    def __call__(self, instance_id: str) -> CheckExecution:
        """Produce one scripted result."""
        status, pending = self._outcome(instance_id, self._clock.now())
        code = {"drained": 0, "pending": 75}.get(status, 69)
        result = CheckExecution(
            code,
            check_output(
                status,
                pending if status != "unknown" else None,
                60.0 if status == "pending" else None,
                "could not connect" if status == "unknown" else None,
            ),
        )
        self.runs.append(result)
        return result
