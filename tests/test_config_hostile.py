"""Hostile environment files (``tests/support/hostile_environments.py``): every one is refused cleanly, one
``FILE: field: message`` line per problem naming the expected field, exit status 1, no traceback, within
2 s of CPU in-process and 2 s of wall clock through the real CLI, in bounded memory."""

from __future__ import annotations

import re
import resource
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from rudder_ha.cli import main
from rudder_ha.config import ConfigError, load_environment
from tests.support.hostile_environments import CASES, HostileCase
from tests.support.paths import REPO

LINE = re.compile(r"^(?P<file>[^:]+): (?P<path>.+?): (?P<message>.+)$")
SECONDS = 2.0
MEMORY_BYTES = 512 * 1024 * 1024
"""Address-space limit of the CLI subprocess (the interpreter, PyYAML and jsonschema need about 100 MiB), and
what an in-process case may add to the test process: an alias bomb or an unbounded read needs gigabytes."""
CLI_CASES = {case.name for case in CASES if case.heavy} | {
    "utf16-le",
    "latin1-value",
    "binary-tag",
    "int-key",
    "float-deadline",
    "block-newline",
    "template-tag",
    "admin-role-star",
    "eks-warm-pool",
    "eks-grace-94",
}


class _OverBudget(Exception):
    pass


@contextmanager
def cpu_budget(seconds: float) -> Iterator[None]:
    """Interrupts the block once the process has used ``seconds`` of CPU (SIGPROF; pytest-timeout keeps
    SIGALRM). A bound, not a measurement: a fast run never sees it."""

    def expire(_signum: int, _frame: object) -> None:
        raise _OverBudget(f"over {seconds}s of CPU")

    previous = signal.signal(signal.SIGPROF, expire)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


@contextmanager
def memory_budget(extra: int) -> Iterator[None]:
    """Lets the block grow the process by at most ``extra`` bytes of address space (a MemoryError past it),
    so a reader that regressed fails this test instead of exhausting the machine."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    status = Path("/proc/self/status").read_text(encoding="ascii")
    current = int(re.search(r"^VmSize:\s+(\d+) kB", status, re.MULTILINE)[1]) * 1024
    limit = current + extra if hard == resource.RLIM_INFINITY else min(current + extra, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _names_field(path: str, field: str) -> bool:
    """True when a refusal at ``path`` is one at ``field`` (or inside it; "" only matches itself)."""
    if not field:
        return path == ""
    return path == field or path.startswith((f"{field}.", f"{field}["))


def test_the_corpus_is_large_and_every_case_is_declared() -> None:
    assert len(CASES) >= 100
    assert len({c.name for c in CASES}) == len(CASES)
    assert all(c.name and c.mutation for c in CASES)
    assert {c.name for c in CASES} >= CLI_CASES


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_file_is_refused_in_process(
    case: HostileCase, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = case.write(tmp_path)
    with cpu_budget(SECONDS), memory_budget(MEMORY_BYTES):
        code = main(["validate", str(path)])
        with pytest.raises(ConfigError) as refused:
            load_environment(path)
    out = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in out.out + out.err
    lines = out.out.splitlines()
    problems = refused.value.problems
    assert len(lines) == len(problems) >= 1
    for line in lines:
        match = LINE.match(line)
        assert match and match["file"] == str(path), line
        assert ";" in match["message"], f"no fix given: {line}"
    assert any(_names_field(p.path, case.field) for p in problems), (case.field, [str(p) for p in problems])
    assert lines == [str(p) for p in problems]


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))


@pytest.mark.parametrize("case", [c for c in CASES if c.name in CLI_CASES], ids=lambda c: c.name)
def test_hostile_file_is_refused_by_the_cli(case: HostileCase, tmp_path: Path) -> None:
    path = case.write(tmp_path)
    run = subprocess.run(
        [sys.executable, "-m", "rudder_ha", "validate", str(path)],
        capture_output=True,
        cwd=REPO,
        timeout=SECONDS,
        preexec_fn=_limit_memory,
        check=False,
    )
    out = run.stdout.decode("utf-8")
    err = run.stderr.decode("utf-8")
    assert run.returncode == 1, out + err
    assert "Traceback" not in out + err and err == ""
    lines = out.splitlines()
    assert lines and all(LINE.match(line) and line.startswith(f"{path}: ") for line in lines), lines
    paths = [LINE.match(line)["path"].replace("(top level)", "") for line in lines]
    assert any(_names_field(p, case.field) for p in paths), lines


def test_synth_refuses_a_hostile_file_without_a_traceback(tmp_path: Path) -> None:
    envs = tmp_path / "environments"
    (case,) = [c for c in CASES if c.name == "billion-laughs"]
    path = case.write(envs)
    run = subprocess.run(
        [sys.executable, "-m", "rudder_ha", "synth", "--environments-dir", str(envs), "--outdir", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=SECONDS * 5,
        preexec_fn=_limit_memory,
        check=False,
    )
    assert run.returncode == 1
    assert run.stderr.startswith(f"{path}: a: has a YAML anchor")
    assert "Traceback" not in run.stderr and "nothing was written" in run.stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("command", ["rto", "pulumi-backend"])
def test_single_environment_commands_refuse_a_hostile_file(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (case,) = [c for c in CASES if c.name == "state-kms-quote"]
    path = case.write(tmp_path)
    assert main([command, path.stem, "--environments-dir", str(tmp_path)]) == 1
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err.startswith(f"{path}: state.kms_key_id: ") and "Traceback" not in out.err
