"""ami/bin/rudder-imds-guard: the application containers (host networking) cannot reach the instance metadata
service, the host's services can.

Two layers. The units and provisioning are read as text (every ``docker run`` is in rudder.slice, every
container unit needs the guard and runs ``ensure`` before it starts, provision.sh installs nftables and starts
the guard first). Then the real script loads its real rules with the real ``nft``, inside a network and mount
namespace of its own (nothing leaves it; the metadata addresses live on its loopback): a process in the slice,
root or not, is refused 169.254.169.254 and fd00:ec2::254 at once, while it still reaches localhost and the VPC
resolver's address, and a process outside the slice still reaches the metadata service. It also shows that a
slice made again invalidates the rule and that ``ensure`` restores it. That part needs root, ``unshare``,
``ip``, ``nft`` (Debian: nftables) and cgroup v2, and is skipped, saying which is missing, without them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rudder_ha.instance.files import instance_files
from rudder_ha.paths import AMI_DIR

GUARD = AMI_DIR / "bin" / "rudder-imds-guard"
UNITS = AMI_DIR / "systemd"
SLICE = "rudder.slice"
CONTAINER_UNITS = ("rudder-backend.service", "rudder-transformer.service", "rudder-postgres.service")


def unit(name: str) -> str:
    return (UNITS / name).read_text(encoding="utf-8")


def directive(text: str, key: str) -> list[str]:
    """Every value of ``key=`` in a unit, continuation lines joined."""
    joined = text.replace("\\\n", " ")
    return [m.group(1).strip() for m in re.finditer(rf"^{re.escape(key)}=(.*)$", joined, re.MULTILINE)]


# --- the units and provisioning -------------------------------------------------------------------------------


def test_every_container_runs_in_the_guarded_slice() -> None:
    runs = {
        path.name: run
        for path in UNITS.iterdir()
        for run in directive(path.read_text(encoding="utf-8"), "ExecStart")
        if "docker run" in run
    }
    assert set(runs) == set(CONTAINER_UNITS)
    for name, run in runs.items():
        assert f"--cgroup-parent={SLICE}" in run.split(), name
        assert "--network host" in run, name


@pytest.mark.parametrize("name", CONTAINER_UNITS)
def test_a_container_starts_only_with_the_rule_in_place(name: str) -> None:
    text = unit(name)
    assert "rudder-imds-guard.service" in " ".join(directive(text, "Requires")).split()
    assert "rudder-imds-guard.service" in " ".join(directive(text, "After")).split()
    pre = directive(text, "ExecStartPre")
    # Not "-"-prefixed: a failing ensure fails the start.
    assert "/usr/local/bin/rudder-imds-guard ensure" in pre


def test_the_guard_unit_is_bound_to_the_slice_and_enabled_first() -> None:
    text = unit("rudder-imds-guard.service")
    assert directive(text, "BindsTo") == [SLICE]
    assert SLICE in directive(text, "After")[0].split()
    assert directive(text, "ExecStart") == ["/usr/local/bin/rudder-imds-guard apply"]
    assert directive(text, "Type") == ["oneshot"] and directive(text, "RemainAfterExit") == ["yes"]
    assert (UNITS / SLICE).is_file()
    provision = (AMI_DIR / "provision.sh").read_text(encoding="utf-8")
    assert re.search(r"local packages=\([^)]*\bnftables\b", provision)
    assert "local units=(rudder-imds-guard.service " in provision
    assert '"${INSTALL_DIR}"/systemd/*.slice' in provision
    destinations = {f.destination for f in instance_files()}
    assert {"/opt/rudder-ha/systemd/rudder.slice", "/opt/rudder-ha/bin/rudder-imds-guard"} <= destinations


def test_the_rules_reject_both_metadata_addresses_for_the_slice_only() -> None:
    rules = subprocess.run([str(GUARD), "rules"], capture_output=True, text=True, check=True).stdout
    lines = [line.strip() for line in rules.splitlines() if line.strip().startswith("socket")]
    assert lines == [
        f'socket cgroupv2 level 1 "{SLICE}" ip daddr 169.254.169.254 counter reject with icmpx type admin-prohibited',
        f'socket cgroupv2 level 1 "{SLICE}" ip6 daddr fd00:ec2::254 counter reject with icmpx type admin-prohibited',
    ]
    assert "type filter hook output priority filter; policy accept;" in rules
    assert "169.254.169.253" not in rules and "169.254.169.123" not in rules  # resolver, time: untouched


# --- the real rules, in a namespace of their own --------------------------------------------------------------

DRIVER = textwrap.dedent(
    r"""
    import json, os, socket, subprocess, sys, threading, time

    guard, slice_ = sys.argv[1], sys.argv[2]
    env = {**os.environ, "RUDDER_HA_IMDS_SLICE": slice_}
    cg = f"/sys/fs/cgroup/{slice_}"

    def sh(*cmd, check=True):
        return subprocess.run(cmd, capture_output=True, text=True, check=check)

    sh("mount", "--make-rprivate", "/")
    sh("mount", "-t", "cgroup2", "cgroup2", "/sys/fs/cgroup")
    sh("ip", "link", "set", "lo", "up")
    sh("ip", "addr", "add", "169.254.169.254/32", "dev", "lo")
    sh("ip", "addr", "add", "169.254.169.253/32", "dev", "lo")
    v6 = sh("ip", "-6", "addr", "add", "fd00:ec2::254/128", "dev", "lo", "nodad", check=False).returncode == 0

    def serve(family, host, port):
        s = socket.socket(family, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, port))
        s.listen(16)
        def loop():
            while True:
                conn, _ = s.accept()
                conn.close()
        threading.Thread(target=loop, daemon=True).start()

    targets = {"imds": ("169.254.169.254", 80), "resolver": ("169.254.169.253", 53), "localhost": ("127.0.0.1", 9090)}
    for host, port in targets.values():
        serve(socket.AF_INET, host, port)
    if v6:
        targets["imds6"] = ("fd00:ec2::254", 80)
        serve(socket.AF_INET6, "fd00:ec2::254", 80)

    CLIENT = (
        "import json, socket, sys, time\n"
        "out = {}\n"
        "for name, (host, port) in json.loads(sys.argv[1]).items():\n"
        "    t = time.monotonic()\n"
        "    try:\n"
        "        socket.create_connection((host, port), timeout=5).close(); out[name] = 'connected'\n"
        "    except OSError as e:\n"
        "        out[name] = f'refused: {e.strerror}'\n"
        "    out[name + '_seconds'] = round(time.monotonic() - t, 2)\n"
        "print(json.dumps(out))\n"
    )

    def client(in_slice, uid=None):
        move = f"echo $$ > {cg}/cgroup.procs && " if in_slice else ""
        drop = f"setpriv --reuid={uid} --regid={uid} --clear-groups " if uid is not None else ""
        cmd = f"{move}exec {drop}{sys.executable} -c \"$0\" \"$1\""
        run = subprocess.run(["sh", "-c", cmd, CLIENT, json.dumps(targets)], capture_output=True, text=True)
        return json.loads(run.stdout) if run.returncode == 0 else {"error": run.stderr}

    def guard_run(*args):
        run = subprocess.run([guard, *args], capture_output=True, text=True, env=env)
        return {"rc": run.returncode, "stderr": run.stderr}

    result = {"v6": v6}
    result["apply_without_slice"] = guard_run("apply")
    os.mkdir(cg)
    try:
        result["check_before"] = guard_run("check")
        result["apply"] = guard_run("apply")
        result["apply_again"] = guard_run("apply")
        result["check"] = guard_run("check")
        result["in_slice_root"] = client(True)
        result["in_slice_nobody"] = client(True, uid=65534)
        result["outside"] = client(False)
        os.rmdir(cg)
        os.mkdir(cg)  # the slice made again: a new cgroup id
        result["check_stale"] = guard_run("check")
        result["in_slice_stale"] = client(True)
        result["ensure"] = guard_run("ensure")
        result["check_after_ensure"] = guard_run("check")
        result["in_slice_after_ensure"] = client(True)
    finally:
        time.sleep(0.1)
        os.rmdir(cg)
    print(json.dumps(result))
    """
)


def _missing() -> str | None:
    if sys.platform != "linux" or os.geteuid() != 0:
        return "needs root on Linux"
    for tool in ("unshare", "ip", "nft", "setpriv", "mount"):
        if shutil.which(tool) is None:
            return f"needs {tool}"
    if not Path("/proc/filesystems").read_text().count("cgroup2"):
        return "needs cgroup v2"
    probe = subprocess.run(["unshare", "--net", "--mount", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        return "cannot make a network and mount namespace here"
    return None


@pytest.fixture(scope="module")
def namespaced(tmp_path_factory: pytest.TempPathFactory) -> dict:
    missing = _missing()
    if missing:
        pytest.skip(f"the real-rules test {missing}")
    driver = tmp_path_factory.mktemp("imds") / "driver.py"
    driver.write_text(DRIVER, encoding="utf-8")
    slice_ = f"rudder-imds-test-{os.getpid()}.slice"
    run = subprocess.run(
        ["unshare", "--net", "--mount", sys.executable, str(driver), str(GUARD), slice_],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_a_missing_slice_is_refused(namespaced: dict) -> None:
    assert namespaced["apply_without_slice"]["rc"] == 1
    assert "does not exist" in namespaced["apply_without_slice"]["stderr"]
    assert namespaced["check_before"]["rc"] == 1


def test_apply_loads_the_rule_idempotently(namespaced: dict) -> None:
    assert namespaced["apply"]["rc"] == 0, namespaced["apply"]
    assert namespaced["apply_again"]["rc"] == 0, namespaced["apply_again"]
    assert namespaced["check"]["rc"] == 0, namespaced["check"]


@pytest.mark.parametrize("who", ["in_slice_root", "in_slice_nobody"])
def test_a_container_process_is_refused_the_metadata_service_at_once(namespaced: dict, who: str) -> None:
    seen = namespaced[who]
    assert seen["imds"].startswith("refused"), seen
    assert seen["imds_seconds"] < 1, "rejected, not dropped: clients fail fast instead of timing out"
    if namespaced["v6"]:
        assert seen["imds6"].startswith("refused"), seen
    assert seen["resolver"] == "connected" and seen["localhost"] == "connected", seen


def test_the_host_keeps_the_metadata_service(namespaced: dict) -> None:
    seen = namespaced["outside"]
    assert seen["imds"] == "connected", seen
    if namespaced["v6"]:
        assert seen["imds6"] == "connected", seen


def test_a_slice_made_again_is_noticed_and_ensure_restores_the_rule(namespaced: dict) -> None:
    assert namespaced["check_stale"]["rc"] == 1
    assert namespaced["in_slice_stale"]["imds"] == "connected", "the stale rule no longer matches: hence the check"
    assert namespaced["ensure"]["rc"] == 0, namespaced["ensure"]
    assert namespaced["check_after_ensure"]["rc"] == 0
    assert namespaced["in_slice_after_ensure"]["imds"].startswith("refused")
