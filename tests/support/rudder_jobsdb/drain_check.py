"""Run ``ami/bin/rudder-drain-check`` as the instance does: a subprocess with the psql client.

The script is the repository's unless ``RUDDER_HA_DRAIN_CHECK_SCRIPT`` names another file (for
example the script of an earlier commit, to show a test fails there).
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[3]
SCRIPT_ENV = "RUDDER_HA_DRAIN_CHECK_SCRIPT"
EXIT_DRAINED, EXIT_PENDING, EXIT_CANNOT_TELL = 0, 75, 69


def drain_check_script() -> Path:
    """The script under test."""
    return Path(os.environ.get(SCRIPT_ENV) or REPO_ROOT / "ami" / "bin" / "rudder-drain-check")


@dataclasses.dataclass(frozen=True)
class DrainCheckRun:
    """One run: exit code, parsed JSON and stderr."""

    code: int
    data: dict[str, Any]
    stderr: str

    @property
    def verdict(self) -> str:
        """``drained``, ``pending`` or ``cannot tell`` (from the exit code)."""
        return {EXIT_DRAINED: "drained", EXIT_PENDING: "pending"}.get(self.code, "cannot tell")

    @property
    def message(self) -> str:
        """A one-line summary: the error, or the pending count and oldest age."""
        if self.data.get("error"):
            return str(self.data["error"])
        return f"{self.data.get('pending_jobs')} pending, oldest {self.data.get('oldest_pending_age_seconds')} s"


def run_drain_check(
    jobs_db_env: Mapping[str, str],
    *,
    psql: str,
    workdir: Path,
    args: Sequence[str] = (),
    extra_env: Mapping[str, str] | None = None,
) -> DrainCheckRun:
    """Run the check with only ``jobs_db_env`` (and ``extra_env``) in its environment.

    Empty ``--env-file`` and ``--server-env`` files keep a real /etc/rudder-ha from interfering
    (the second only when the script knows the option).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    empty = workdir / "empty.env"
    empty.write_text("")
    script = drain_check_script()
    argv = [sys.executable, str(script), "--env-file", str(empty)]
    if "--server-env" in script.read_text(encoding="utf-8"):
        argv += ["--server-env", str(empty)]
    env = {
        "PATH": os.pathsep.join([str(Path(psql).parent), os.defpath]),
        "HOME": str(workdir),
        "LANG": "C.UTF-8",
        **jobs_db_env,
        **(extra_env or {}),
    }
    completed = subprocess.run([*argv, *args], capture_output=True, text=True, env=env, timeout=120, check=False)
    try:
        data = json.loads(completed.stdout)
    except ValueError as exc:
        raise AssertionError(f"not one JSON object: {completed.stdout!r}; stderr {completed.stderr!r}") from exc
    return DrainCheckRun(completed.returncode, data, completed.stderr)
