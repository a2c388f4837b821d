"""Scale-down that loses nothing: the processor-only Job over a removed backend's retained volume.

The Job's manifest is checked against the Kubernetes schemas of every supported version; its main process,
``scripts/orphan-drain.sh``, runs for real under ``sh`` together with the real drain agent and preStop scripts
it relies on. Only rudder-server and the drain check are stand-ins: a "server" that delivers one pending event
of a file-backed jobsdb per step unless its destination is failing, and a "check" that exits 0 (drained) or 75
(pending) from that file, as ``rudder-drain-check`` does from the jobsdb.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from rudder_ha.config import load_environment
from rudder_ha.topologies.eks.k8s import orphan_drain, render
from rudder_ha.topologies.eks.k8s.common import BACKEND, selector
from rudder_ha.topologies.eks.k8s.drain import SCRIPTS_DIR
from rudder_ha.topologies.eks.k8s.from_config import workload_settings
from rudder_ha.topologies.eks.k8s.settings import SUPPORTED_KUBERNETES_VERSIONS, WorkloadSettings

REPO = Path(__file__).resolve().parent.parent
WAIT_SECONDS = 60  # an upper bound for a process to finish, never a synchronization sleep


@pytest.fixture(scope="module")
def settings() -> WorkloadSettings:
    return workload_settings(load_environment(REPO / "environments" / "prod-eks.yaml"))


def test_the_job_mounts_the_removed_ordinals_claim_and_runs_the_processor_only(settings: WorkloadSettings) -> None:
    job = orphan_drain.job(settings, 3)
    pod = job["spec"]["template"]["spec"]
    assert {"name": "jobsdb", "persistentVolumeClaim": {"claimName": "jobsdb-rudder-backend-3"}} in pod["volumes"]
    (server,) = pod["containers"]
    assert {"name": "APP_TYPE", "value": "PROCESSOR"} in server["env"]
    assert "ports" not in server and "lifecycle" not in server
    assert server["command"][:2] == ["/bin/sh", "/opt/rudder-ha/orphan-drain.sh"]
    assert server["command"][-2:] == ["--", "/rudder-server"]
    sidecars = [c["name"] for c in pod["initContainers"]]
    assert sidecars[:2] == ["jobsdb", "jobsdb-drain"]  # the backend's own PostgreSQL and drain agent
    assert pod["restartPolicy"] == "Never" and job["spec"]["backoffLimit"] >= 1
    # not a backend: no Service routes to it, the backend's disruption budget does not count it
    template_labels = job["spec"]["template"]["metadata"]["labels"]
    assert not selector(BACKEND).items() <= template_labels.items()


@pytest.mark.parametrize("version", SUPPORTED_KUBERNETES_VERSIONS)
def test_the_job_is_valid_for_every_supported_version(settings: WorkloadSettings, version: str) -> None:
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    kubernetes_validate.validate(orphan_drain.job(settings, 5), f"{version}.0", strict=True)


def test_a_running_ordinal_is_refused(settings: WorkloadSettings) -> None:
    with pytest.raises(ValueError, match="owns its volume"):
        orphan_drain.job(settings, settings.backend_replica_count - 1)


def test_the_job_may_reach_what_the_backend_reaches_and_nothing_reaches_it(settings: WorkloadSettings) -> None:
    policies = {m["metadata"]["name"]: m["spec"] for m in render(settings) if m["kind"] == "NetworkPolicy"}
    job_policy = policies["rudder-orphan-drain"]
    assert job_policy["egress"] == policies["rudder-backend"]["egress"]
    assert "Ingress" in job_policy["policyTypes"] and "ingress" not in job_policy
    (admit,) = policies["rudder-transformer"]["ingress"]
    assert {"podSelector": {"matchLabels": selector(orphan_drain.ORPHAN_DRAIN)}} in admit["from"]


def test_the_command_line_refuses_a_running_ordinal_in_one_line() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "rudder_ha.topologies.eks.k8s.orphan_drain", "environments/prod-eks.yaml", "0"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=WAIT_SECONDS,
        check=False,
    )
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.strip().count("\n") == 0 and "owns its volume" in run.stderr


# --- the drain itself: 3 -> 1 with a destination failing past the budget -----------------------------------------


def _executable(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o755)
    return path


class RetainedVolume:
    """A removed backend's jobsdb as a file: the pending events, one per line, and the destination's state."""

    def __init__(self, directory: Path, pending: int) -> None:
        self.directory = directory
        directory.mkdir()
        self.jobs = directory / "pending"
        self.jobs.write_text("".join(f"event-{i}\n" for i in range(pending)), encoding="utf-8")
        self.delivered = directory / "delivered"
        self.delivered.write_text("", encoding="utf-8")
        self.failing = directory / "destination-failing"

    def pending(self) -> list[str]:
        return self.jobs.read_text(encoding="utf-8").split()


def _stand_ins(tmp_path: Path, volume: RetainedVolume) -> tuple[Path, Path]:
    """A processor that delivers one event per step unless the destination fails; a check that reads the file."""
    server = _executable(
        tmp_path / "rudder-server",
        f"""#!/bin/sh
trap 'echo stopped > "{volume.directory}/server-stopped"; exit 0' TERM
while :; do
    if [ ! -e "{volume.failing}" ] && [ -s "{volume.jobs}" ]; then
        head -n 1 "{volume.jobs}" >> "{volume.delivered}"
        tail -n +2 "{volume.jobs}" > "{volume.jobs}.tmp" && mv "{volume.jobs}.tmp" "{volume.jobs}"
    fi
    sleep 0.05 &
    wait $!
done
""",
    )
    check = _executable(
        tmp_path / "rudder-drain-check",
        f"""#!/bin/sh
count=$(wc -l < "{volume.jobs}" | tr -d ' ')
echo "{{\\"pending_jobs\\": $count}}"
[ "$count" -eq 0 ] && exit 0
exit 75
""",
    )
    return server, check


def _attempt(tmp_path: Path, name: str, server: Path, check: Path, budget: int) -> tuple[int, str]:
    """One Job attempt: the drain agent sidecar and the Job's main process, as the pod runs them."""
    handshake = tmp_path / f"{name}-handshake"
    handshake.mkdir()
    agent = subprocess.Popen(
        ["/bin/sh", str(SCRIPTS_DIR / "drain-agent.sh"), str(handshake), "1", "--", str(check)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        job = subprocess.run(
            ["/bin/sh", str(SCRIPTS_DIR / "orphan-drain.sh"), str(handshake), str(budget), "--", str(server)],
            capture_output=True,
            text=True,
            timeout=WAIT_SECONDS,
            check=False,
        )
    finally:
        agent.terminate()
        agent.wait(timeout=WAIT_SECONDS)
    return job.returncode, job.stdout + job.stderr


def test_a_scale_down_past_the_budget_loses_nothing(tmp_path: Path, settings: WorkloadSettings) -> None:
    """3 -> 1: ordinals 1 and 2 are removed. Ordinal 2's destination fails for longer than the drain budget, so
    its pod stopped with 5 events pending (``drain-overrun`` pages); those events wait on its retained volume.
    The Job's first attempt meets the still-failing destination and gives up at its budget with every event
    still there; once the destination recovers, the next attempt delivers all of them and completes."""
    scaled = replace(settings, backend_replica_count=1)
    assert [orphan_drain.claim_name(o) for o in (1, 2)] == ["jobsdb-rudder-backend-1", "jobsdb-rudder-backend-2"]
    orphan_drain.job(scaled, 2)  # ordinal 2 is no longer a running backend: its volume may be drained
    volume = RetainedVolume(tmp_path / "jobsdb-rudder-backend-2", pending=5)
    server, check = _stand_ins(tmp_path, volume)

    volume.failing.write_text("503", encoding="utf-8")
    code, log = _attempt(tmp_path, "attempt-1", server, check, budget=2)
    assert code == 1, log
    assert "events still pending" in log
    assert len(volume.pending()) == 5 and volume.delivered.read_text() == ""  # nothing lost, nothing delivered
    assert (volume.directory / "server-stopped").exists()  # the server stopped cleanly: the Job can retry

    volume.failing.unlink()  # the destination is back
    (volume.directory / "server-stopped").unlink()
    code, log = _attempt(tmp_path, "attempt-2", server, check, budget=WAIT_SECONDS - 10)
    assert code == 0, log
    assert "drained" in log
    assert volume.pending() == []
    assert volume.delivered.read_text().split() == [f"event-{i}" for i in range(5)]  # every event, in order
    assert (volume.directory / "server-stopped").exists()


def test_a_server_that_dies_fails_the_attempt_at_once(tmp_path: Path) -> None:
    volume = RetainedVolume(tmp_path / "jobsdb", pending=2)
    _, check = _stand_ins(tmp_path, volume)
    crashing = _executable(tmp_path / "crashing-server", "#!/bin/sh\nexit 3\n")
    started = time.monotonic()
    code, log = _attempt(tmp_path, "crash", crashing, check, budget=3600)
    assert code == 1 and "exited early (exit 3)" in log, log
    assert time.monotonic() - started < 3600  # it did not wait out the budget
    assert len(volume.pending()) == 2


def test_the_job_script_passes_shellcheck() -> None:
    shellcheck = REPO / ".venv" / "bin" / "shellcheck"
    if not os.access(shellcheck, os.X_OK):
        pytest.skip("shellcheck is not installed")
    run = subprocess.run(
        [str(shellcheck), "--shell=sh", str(SCRIPTS_DIR / "orphan-drain.sh"), str(SCRIPTS_DIR / "backlog-metrics.sh")],
        capture_output=True,
        text=True,
        timeout=WAIT_SECONDS,
        check=False,
    )
    assert run.returncode == 0, run.stdout
