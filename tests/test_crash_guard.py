"""ami/bin/rudder-crash-guard: degraded mode around a crashing rudder-server.

The guard runs as a subprocess, as systemd runs it, under Python 3.9 when pyenv has one. A stand-in
server (tests/support/crash_standin.py) records the environment it was started with and crashes on
demand; ``Supervisor`` plays systemd's Restart=always loop for rudder-backend.service: ExecStartPre
``prepare``, the server with mode.env's variables (docker run --env-file), and on its exit ExecStopPost
``record-exit`` with SERVICE_RESULT/EXIT_CODE/EXIT_STATUS set the way systemd sets them. The clock is
injected (RUDDER_CRASH_GUARD_NOW) so windows of minutes take milliseconds. Whether a start crashed or
keeps running is read from the stand-in (it exits, or it reports that it serves), never from how
long it has been up: no test depends on the machine's speed.
"""

from __future__ import annotations

import ast
import http.server
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from rudder_ha.cli import main as rudder_ha_main
from rudder_ha.config import load_environment
from rudder_ha.instance.user_data import cloud_config
from rudder_ha.paths import AMI_DIR
from tests.support.paths import REPO

GUARD = AMI_DIR / "bin" / "rudder-crash-guard"
STANDIN = REPO / "tests" / "support" / "crash_standin.py"
_PY39 = sorted(Path.home().glob(".pyenv/versions/3.9*/bin/python3.9"))
GUARD_PYTHON = str(_PY39[-1]) if _PY39 else sys.executable
GATEWAY_ONLY = {"RSERVER_ENABLE_PROCESSOR": "false", "RSERVER_ENABLE_ROUTER": "false"}
T0 = 1_700_000_000.0
HANG = 120.0  # bound of every wait: it trips only when something is stuck, never because the machine is slow
_STARTS = itertools.count(1)

RECORDER = r"""#!/bin/sh
# Records its argv as one tab-separated line; as systemctl, lists the jobs in $FAKE_JOBS.
{ printf '%s\t' "$(basename "$0")" "$@"; echo; } >> "$FAKE_CALLS"
if [ "$(basename "$0")" = systemctl ] && [ "$1" = list-jobs ] && [ -f "$FAKE_JOBS" ]; then cat "$FAKE_JOBS"; fi
exit "${FAKE_EXIT:-0}"
"""


@dataclass
class Box:
    """One instance's worth of files: persistent state, /run, instance.env and fake systemctl/aws."""

    root: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def state(self) -> Path:
        return self.root / "var-lib" / "crash-guard"

    @property
    def run_dir(self) -> Path:
        return self.root / "run" / "rudder-ha"

    @property
    def mode_env(self) -> Path:
        return self.run_dir / "mode.env"

    def guard(self, *args: str, now: float | None = None, **env: str) -> subprocess.CompletedProcess[str]:
        command, *rest = args
        extra = {"RUDDER_CRASH_GUARD_NOW": str(now)} if now is not None else {}
        return subprocess.run(
            [GUARD_PYTHON, str(GUARD), command, "--mode-env", str(self.mode_env), *rest],
            env={**self.env, **extra, **env},
            capture_output=True,
            text=True,
            timeout=HANG,
            check=False,
        )

    def status(self, now: float, *args: str) -> dict[str, Any]:
        run = self.guard("status", *args, now=now)
        assert run.returncode == 0, run.stderr
        return json.loads(run.stdout)

    def calls(self) -> list[list[str]]:
        path = self.root / "calls"
        return [line.split("\t")[:-1] for line in path.read_text().splitlines()] if path.exists() else []

    def record_exit(self, now: float, result: str, code: str, status: str) -> subprocess.CompletedProcess[str]:
        run = self.guard("record-exit", now=now, SERVICE_RESULT=result, EXIT_CODE=code, EXIT_STATUS=status)
        assert run.returncode == 0, run.stderr
        return run


@pytest.fixture
def box(tmp_path: Path) -> Box:
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    for name in ("systemctl", "aws"):
        (fake_bin / name).write_text(RECORDER)
        (fake_bin / name).chmod(0o755)
    instance_env = tmp_path / "instance.env"
    instance_env.write_text("AWS_REGION=eu-west-1\nRUDDER_HA_ENVIRONMENT=dev\n")
    env = {
        "PATH": f"{fake_bin}:{os.environ['PATH']}",
        "RUDDER_HA_INSTANCE_ENV": str(instance_env),
        "RUDDER_CRASH_GUARD_STATE_DIR": str(tmp_path / "var-lib" / "crash-guard"),
        "RUDDER_HA_IMDS_URL": "http://127.0.0.1:9",  # nothing listens: not in a warm pool
        "FAKE_CALLS": str(tmp_path / "calls"),
        "FAKE_JOBS": str(tmp_path / "jobs"),
    }
    return Box(tmp_path, env)


def systemd_exit(returncode: int) -> tuple[str, str, str]:
    """SERVICE_RESULT, EXIT_CODE, EXIT_STATUS as systemd reports a main process that ended so."""
    if returncode < 0:
        name = signal.Signals(-returncode).name.removeprefix("SIG")
        clean = name in ("HUP", "INT", "TERM", "PIPE")  # clean signals for a daemon
        return ("success" if clean else "signal"), "killed", name
    return ("success" if returncode == 0 else "exit-code"), "exited", str(returncode)


class Supervisor:
    """systemd's Restart=always loop for rudder-backend.service, around the stand-in server."""

    def __init__(self, box: Box, behaviour: str) -> None:
        self.box = box
        self.record = box.root / "standin-starts.jsonl"
        self.control = box.root / "standin-control"
        self.control.write_text(behaviour)
        self.server: subprocess.Popen[bytes] | None = None
        self.serving = box.root / "standin-serving"  # per start: see start()

    def starts(self) -> list[dict[str, str]]:
        return [json.loads(line) for line in self.record.read_text().splitlines()] if self.record.exists() else []

    def start(self, now: float) -> subprocess.Popen[bytes]:
        prepare = self.box.guard("prepare", now=now)
        assert prepare.returncode == 0, prepare.stderr
        mode = dict(line.split("=", 1) for line in self.box.mode_env.read_text().splitlines() if line)
        self.serving = self.box.root / f"standin-serving-{next(_STARTS)}"
        env = {"PATH": os.environ["PATH"], "STANDIN_RECORD": str(self.record), "STANDIN_CONTROL": str(self.control)}
        env["STANDIN_SERVING"] = str(self.serving)
        self.server = subprocess.Popen([sys.executable, str(STANDIN)], env={**env, **mode})
        return self.server

    def outcome(self, server: subprocess.Popen[bytes]) -> int | None:
        """Waits until the server has exited (its return code) or serves (None), however slowly it starts."""
        deadline = time.monotonic() + HANG
        while (returncode := server.poll()) is None and not self.serving.exists():
            assert time.monotonic() < deadline, "the stand-in server neither exited nor started serving"
            time.sleep(0.01)
        return returncode

    def loop(self, start_at: float, step: float, max_starts: int) -> float:
        """Starts the server until it keeps running (serves) or max_starts; returns the clock."""
        now = start_at
        for _ in range(max_starts):
            returncode = self.outcome(self.start(now))
            if returncode is None:
                return now
            self.box.record_exit(now, *systemd_exit(returncode))
            now += step
        return now

    def stop(self, now: float) -> subprocess.CompletedProcess[str]:
        """systemctl stop: ExecStop (docker stop: SIGTERM, the container exits 143), then ExecStopPost."""
        assert self.server is not None and self.server.poll() is None
        self.server.send_signal(signal.SIGTERM)
        returncode = self.server.wait(timeout=HANG)
        assert returncode == 143
        return self.box.record_exit(now, *systemd_exit(returncode))

    def kill(self) -> None:
        if self.server is not None and self.server.poll() is None:
            self.server.kill()
            self.server.wait()


@pytest.fixture
def supervisors() -> Iterator[list[Supervisor]]:
    made: list[Supervisor] = []
    yield made
    for supervisor in made:
        supervisor.kill()


def test_crash_loop_trips_after_exactly_threshold_crashes_and_the_gateway_keeps_running(
    box: Box, supervisors: list[Supervisor]
) -> None:
    supervisor = Supervisor(box, "crash-unless-gateway-only")
    supervisors.append(supervisor)
    now = T0
    for crash in range(1, 5):
        now = supervisor.loop(now, step=10, max_starts=1)
        status = box.status(now)
        assert (status["mode"], status["crashes_in_window"]) == ("normal", crash)
    now = supervisor.loop(now, step=10, max_starts=1)
    status = box.status(now)
    assert status["mode"] == "degraded" and status["crashes_in_window"] == 5
    assert status["tripped_at"] == now - 10 and "5 crashes within 300 s" in status["reason"]

    now = supervisor.loop(now, step=10, max_starts=10)
    starts = supervisor.starts()
    assert starts[:5] == [{}] * 5  # normal mode: processor and router on (rudder's defaults)
    assert starts[5:] == [GATEWAY_ONLY]  # degraded: gateway only, and it stays up
    assert supervisor.server is not None and supervisor.server.poll() is None
    assert box.mode_env.read_text() == "RSERVER_ENABLE_PROCESSOR=false\nRSERVER_ENABLE_ROUTER=false\n"


def test_crashes_spread_wider_than_the_window_never_trip(box: Box, supervisors: list[Supervisor]) -> None:
    supervisor = Supervisor(box, "crash")
    supervisors.append(supervisor)
    now = supervisor.loop(T0, step=76, max_starts=12)  # 5 crashes span 304 s > 300 s
    status = box.status(now - 76)  # at the last crash
    assert status["mode"] == "normal"
    assert status["crashes_in_window"] == 4
    assert supervisor.starts() == [{}] * 12
    history = json.loads((box.state / "crashes.json").read_text())
    assert len(history) == 4, "entries older than the window are pruned"


def test_threshold_and_window_from_instance_env_and_flags(box: Box, supervisors: list[Supervisor]) -> None:
    instance_env = Path(box.env["RUDDER_HA_INSTANCE_ENV"])
    instance_env.write_text(instance_env.read_text() + "RUDDER_CRASH_THRESHOLD=2\nRUDDER_CRASH_WINDOW_SECONDS=1000\n")
    assert box.status(T0)["threshold"] == 2 and box.status(T0)["window_seconds"] == 1000
    supervisor = Supervisor(box, "crash-unless-gateway-only")
    supervisors.append(supervisor)
    supervisor.loop(T0, step=400, max_starts=5)  # two crashes 400 s apart: inside 1000 s
    assert supervisor.starts() == [{}, {}, GATEWAY_ONLY]
    assert box.status(T0, "--threshold", "7", "--window", "60")["threshold"] == 7
    assert box.guard("status", "--threshold", "0").returncode == 2


def test_degraded_mode_survives_a_reboot_until_reset(box: Box, supervisors: list[Supervisor]) -> None:
    supervisor = Supervisor(box, "crash-unless-gateway-only")
    supervisors.append(supervisor)
    now = supervisor.loop(T0, step=5, max_starts=10)
    assert supervisor.starts()[-1] == GATEWAY_ONLY
    stopped = supervisor.stop(now)  # shutdown stops the unit: not a crash
    assert "not a crash" in stopped.stderr
    shutil.rmtree(box.root / "run")  # /run is a tmpfs: gone after the reboot; the state dir is on disk

    rebooted = Supervisor(box, "crash-unless-gateway-only")
    supervisors.append(rebooted)
    now = rebooted.loop(now + 3600, step=5, max_starts=3)
    assert rebooted.starts()[-1] == GATEWAY_ONLY
    assert rebooted.server is not None and rebooted.server.poll() is None
    assert box.status(now)["mode"] == "degraded"

    reset = box.guard("reset", "--no-restart")
    assert reset.returncode == 0
    assert "removed the degraded flag" in reset.stdout and "cleared the crash history" in reset.stdout
    assert ["systemctl", "restart", "rudder-backend.service"] not in box.calls(), "--no-restart restarts nothing"
    assert box.status(now) == {
        "mode": "normal",
        "tripped_at": None,
        "reason": None,
        "crashes_in_window": 0,
        "threshold": 5,
        "window_seconds": 300,
    }
    rebooted.stop(now)
    rebooted.control.write_text("run")  # the bug is fixed
    rebooted.loop(now + 10, step=5, max_starts=1)
    assert rebooted.starts()[-1] == {}, "back in normal mode: processor and router on"


def test_reset_restarts_the_backend(box: Box) -> None:
    (box.state).mkdir(parents=True)
    (box.state / "degraded").write_text('{"tripped_at": 1, "reason": "test"}')
    run = box.guard("reset")
    assert run.returncode == 0, run.stderr
    assert box.calls() == [["systemctl", "restart", "rudder-backend.service"]]
    assert "restarted rudder-backend.service" in run.stdout
    assert box.status(T0)["mode"] == "normal"
    failing = box.guard("reset", FAKE_EXIT="1")
    assert failing.returncode == 1 and "failed" in failing.stdout
    assert box.guard("reset", "--no-restart").stdout.startswith("was not degraded")


@pytest.mark.parametrize(
    ("result", "code", "status", "jobs", "counted"),
    [
        ("success", "exited", "0", "", False),  # rudder-server shut down cleanly after docker stop
        ("success", "killed", "TERM", "", False),  # the docker client got SIGTERM from systemd
        ("exit-code", "exited", "143", "", False),  # systemctl stop/restart, shutdown: docker stop -> 143
        ("timeout", "killed", "KILL", "", False),  # a stop that outlasted TimeoutStopSec
        ("exit-code", "exited", "137", "42 rudder-backend.service stop running\n", False),  # docker stop's SIGKILL
        ("exit-code", "exited", "137", "43 rudder-backend.service restart running\n", False),
        ("exit-code", "exited", "137", "44 rudder-transformer.service stop running\n", True),
        ("exit-code", "exited", "137", "45 rudder-backend.service start waiting\n", True),
        ("exit-code", "exited", "137", "", True),  # OOM kill of the container
        ("exit-code", "exited", "2", "", True),  # a Go panic
        ("signal", "killed", "KILL", "", True),
        ("core-dump", "dumped", "SEGV", "", True),
    ],
)
def test_what_counts_as_a_crash(box: Box, result: str, code: str, status: str, jobs: str, counted: bool) -> None:
    (box.root / "jobs").write_text(jobs)
    assert box.guard("prepare", now=T0).returncode == 0  # the server was started
    run = box.record_exit(T0, result, code, status)
    assert box.status(T0)["crashes_in_window"] == int(counted), run.stderr
    assert ("not a crash" in run.stderr) is not counted


def test_a_start_that_failed_before_the_server_ran_is_not_a_crash(box: Box) -> None:
    """An ExecStartPre before prepare (rudder-fetch-secrets) failed: systemd still runs ExecStopPost."""
    for attempt in range(10):
        run = box.record_exit(T0 + attempt, "exit-code", "exited", "1")
        assert "the server was not started" in run.stderr
    assert box.status(T0 + 10)["crashes_in_window"] == 0


def test_corrupt_history_counts_as_empty(box: Box) -> None:
    box.state.mkdir(parents=True)
    for junk in ("not json", '{"a": 1}', "5", '["x"]', ""):
        (box.state / "crashes.json").write_text(junk)
        assert box.status(T0)["crashes_in_window"] == 0
        box.guard("prepare", now=T0)
        box.record_exit(T0, "exit-code", "exited", "2")
        assert json.loads((box.state / "crashes.json").read_text()) == [T0]


@pytest.mark.parametrize("junk", ["garbage", "", "[1, 2]", "null", "{}", '{"tripped_at": "truncat'])
def test_a_corrupt_flag_still_means_degraded(box: Box, junk: str) -> None:
    box.state.mkdir(parents=True)
    (box.state / "degraded").write_text(junk)
    status = box.status(T0)
    assert status["mode"] == "degraded"
    assert box.guard("prepare", now=T0).returncode == 0
    assert box.mode_env.read_text() == "RSERVER_ENABLE_PROCESSOR=false\nRSERVER_ENABLE_ROUTER=false\n"
    assert box.guard("reset", "--no-restart").returncode == 0
    assert box.status(T0)["mode"] == "normal"


def test_status_json_and_normal_prepare(box: Box) -> None:
    assert box.status(T0) == {
        "mode": "normal",
        "tripped_at": None,
        "reason": None,
        "crashes_in_window": 0,
        "threshold": 5,
        "window_seconds": 300,
    }
    assert box.guard("prepare", now=T0).returncode == 0
    assert box.mode_env.read_text() == ""
    assert not list(box.state.glob("*.tmp")) and not list(box.run_dir.glob("*.tmp"))


def published(box: Box) -> dict[str, float]:
    (call,) = [c for c in box.calls() if c[0] == "aws"]
    assert call[:-1] == [
        *("aws", "cloudwatch", "put-metric-data", "--region", "eu-west-1"),
        *("--namespace", "RudderHA", "--metric-data"),
    ]
    data = json.loads(call[-1])
    assert all(d["Dimensions"] == [{"Name": "Environment", "Value": "dev"}] for d in data)
    assert all(d["Unit"] == "Count" for d in data)
    return {d["MetricName"]: d["Value"] for d in data}


def test_publish_normal_then_degraded(box: Box, supervisors: list[Supervisor]) -> None:
    box.guard("prepare", now=T0)
    run = box.guard("publish")
    assert run.returncode == 0, run.stderr
    assert published(box) == {"Degraded": 0, "GatewayOnly": 0}

    (box.root / "calls").unlink()
    supervisor = Supervisor(box, "crash-unless-gateway-only")
    supervisors.append(supervisor)
    supervisor.loop(T0, step=1, max_starts=10)
    assert box.guard("publish").returncode == 0
    assert published(box) == {"Degraded": 1, "GatewayOnly": 1}

    (box.root / "calls").unlink()
    box.guard("reset", "--no-restart")  # flag cleared; the running server stays gateway only until restarted
    assert box.guard("publish").returncode == 0
    assert published(box) == {"Degraded": 0, "GatewayOnly": 1}

    (box.root / "calls").unlink()
    failing = box.guard("publish", FAKE_EXIT="255")
    assert failing.returncode == 1 and "put-metric-data failed" in failing.stderr


class _WarmPoolIMDS(http.server.BaseHTTPRequestHandler):
    def do_PUT(self) -> None:
        self._answer("token")

    def do_GET(self) -> None:
        ok = self.headers.get("X-aws-ec2-metadata-token") == "token"
        self._answer("Warmed:Stopped" if ok and self.path.endswith("/target-lifecycle-state") else "", ok)

    def _answer(self, body: str, ok: bool = True) -> None:
        self.send_response(200 if ok else 401)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *_: Any) -> None:
        pass


def test_publish_skips_a_warm_pool_instance(box: Box) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _WarmPoolIMDS)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    try:
        run = box.guard("publish", RUDDER_HA_IMDS_URL=f"http://127.0.0.1:{server.server_address[1]}/latest")
    finally:
        server.shutdown()
    assert run.returncode == 0 and "warm pool" in run.stderr
    assert box.calls() == []


def test_script_is_python39_stdlib() -> None:
    source = GUARD.read_text()
    assert source.startswith("#!/usr/bin/env python3\n") and os.access(GUARD, os.X_OK)
    assert "from __future__ import annotations" in source
    tree = ast.parse(source, feature_version=(3, 9))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(name=node.module or "")])
    }
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}


def test_units_wire_the_guard_around_the_backend() -> None:
    backend = (AMI_DIR / "systemd" / "rudder-backend.service").read_text()
    pre = [line for line in backend.splitlines() if line.startswith("ExecStartPre=")]
    assert pre[-1] == "ExecStartPre=/usr/local/bin/rudder-crash-guard prepare", (
        "prepare runs last, right before the server"
    )
    assert "ExecStopPost=/usr/local/bin/rudder-crash-guard record-exit" in backend.splitlines()
    env_files = [line.strip() for line in backend.splitlines() if line.strip().startswith("--env-file")]
    assert env_files[-1] == "--env-file /run/rudder-ha/mode.env \\", "mode.env goes last so it wins"
    timer = (AMI_DIR / "systemd" / "rudder-crash-guard.timer").read_text()
    assert "OnUnitActiveSec=60s" in timer
    assert "rudder-crash-guard publish" in (AMI_DIR / "systemd" / "rudder-crash-guard.service").read_text()
    assert "rudder-crash-guard.timer" in (AMI_DIR / "provision.sh").read_text()


# --------------------------------------------------------------------------
# configuration: degraded_mode reaches instance.env, bad values are refused
# --------------------------------------------------------------------------

DEV = yaml.safe_load((REPO / "environments" / "dev.yaml").read_text())


def write_dev(tmp_path: Path, degraded_mode: Any) -> Path:
    path = tmp_path / "dev.yaml"
    path.write_text(yaml.safe_dump({**DEV, "degraded_mode": degraded_mode}))
    return path


def instance_env(config: Any) -> dict[str, str]:
    files = {f["path"]: f["content"] for f in yaml.safe_load(cloud_config(config))["write_files"]}
    return dict(line.split("=", 1) for line in files["/etc/rudder-ha/instance.env"].splitlines())


def test_settings_reach_instance_env_and_the_guard(box: Box, tmp_path: Path) -> None:
    assert instance_env(load_environment(REPO / "environments" / "dev.yaml"))["RUDDER_CRASH_THRESHOLD"] == "5"
    config = load_environment(write_dev(tmp_path, {"crash_threshold": 3, "window_seconds": 600}))
    assert (config.degraded_mode.crash_threshold, config.degraded_mode.window_seconds) == (3, 600)
    values = instance_env(config)
    assert (values["RUDDER_CRASH_THRESHOLD"], values["RUDDER_CRASH_WINDOW_SECONDS"]) == ("3", "600")
    rendered = tmp_path / "rendered-instance.env"
    rendered.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    run = box.guard("status", RUDDER_HA_INSTANCE_ENV=str(rendered))
    assert (json.loads(run.stdout)["threshold"], json.loads(run.stdout)["window_seconds"]) == (3, 600)


@pytest.mark.parametrize(
    ("degraded_mode", "path"),
    [
        ({"crash_threshold": 0}, "degraded_mode.crash_threshold"),
        ({"crash_threshold": 101}, "degraded_mode.crash_threshold"),
        ({"crash_threshold": "5"}, "degraded_mode.crash_threshold"),
        ({"window_seconds": 29}, "degraded_mode.window_seconds"),
        ({"window_seconds": 86401}, "degraded_mode.window_seconds"),
        ({"window_seconds": 1.5}, "degraded_mode.window_seconds"),
        ({"crash_treshold": 5}, "degraded_mode"),
    ],
)
def test_bad_values_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], degraded_mode: dict[str, Any], path: str
) -> None:
    file = write_dev(tmp_path, degraded_mode)
    assert rudder_ha_main(["validate", str(file)]) == 1
    assert f"{file}: {path}: " in capsys.readouterr().out


def test_validate_command_names_the_field(tmp_path: Path) -> None:
    file = write_dev(tmp_path, {"crash_threshold": 0, "window_seconds": 300})
    run = subprocess.run(
        [sys.executable, "-m", "rudder_ha", "validate", str(file)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert run.returncode == 1
    assert run.stdout.startswith(f"{file}: degraded_mode.crash_threshold: ")
    assert "Traceback" not in run.stderr
