"""Prints, per command, the fresh-clone install time and the size of the virtualenv it leaves, beside the goal.

    python3 benchmarks/install_benchmark.py [--command synth|aws|pulumi|test ...] [--workdir DIR] [--keep]

For each command, a fresh clone of this working tree (the files git tracks or would track: ``git ls-files
--cached --others --exclude-standard``, so no ``.venv``, ``.build`` or ``cdktf.out``) is made in a
temporary directory, and the Makefile target that installs what the command needs runs there with pip's
cache disabled (``PIP_NO_CACHE_DIR=1``: every wheel is downloaded, as on a fresh machine):

- ``synth``: ``make install`` (requirements/synth.txt), then ``make synth`` itself, timed apart and
  together (the issue measured 5 min 44 s for ``make synth``, 4.5 min of it installing 929 MB);
- ``aws``: ``make install-aws`` (requirements/aws.txt), what ``make doctor`` installs;
- ``pulumi``: ``make install-pulumi`` (requirements/pulumi.txt), what ``make pulumi-preview`` installs;
- ``test``: ``make install-test`` (requirements/test.txt), the Python part of ``make test``'s set-up (the
  checkov venv, cloud-init's schema and the Debian packages are not counted: they were there before).

The size is ``du`` of ``.venv`` (disk blocks, as ``du -sh`` prints). Each command takes one to several
minutes; ``--command`` runs only the named ones.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BEFORE_MB = 929
"""The one virtualenv every command installed before the split (Pipfile, pipenv sync --dev)."""
BEFORE_INSTALL_SECONDS = 270
"""About 4.5 min of the 5 min 44 s a fresh-clone ``make synth`` took before the split."""
MB = 1024 * 1024


@dataclass(frozen=True)
class Goal:
    """What one command's install should stay within, and why."""

    seconds: float
    megabytes: float
    why: str


@dataclass(frozen=True)
class Command:
    """A command whose installation is measured."""

    name: str
    install_target: str
    goal: Goal
    then: str | None = None
    """A make target run after the install and timed on its own (``synth``)."""


COMMANDS = {
    "synth": Command(
        "synth",
        "install",
        Goal(60, BEFORE_MB / 2, "well under the old 929 MB: at most half; installing in at most 1 min"),
        then="synth",
    ),
    "aws": Command("aws", "install-aws", Goal(60, BEFORE_MB / 2, "synth plus boto3, for doctor and drill")),
    "pulumi": Command(
        "pulumi", "install-pulumi", Goal(120, 750, "synth plus Pulumi; under the old 929 MB, within 2 min")
    ),
    "test": Command(
        "test",
        "install-test",
        Goal(BEFORE_INSTALL_SECONDS, BEFORE_MB, "everything (as before, plus xdist): no bigger or slower than before"),
    ),
}


@dataclass(frozen=True)
class Measurement:
    """One command's fresh-clone install."""

    command: Command
    install_seconds: float
    venv_bytes: int
    then_seconds: float | None = None

    @property
    def met(self) -> bool:
        """Whether time and size are both within the goal."""
        goal = self.command.goal
        return self.install_seconds <= goal.seconds and self.venv_bytes / MB <= goal.megabytes

    def report(self) -> str:
        """One line (two for synth) with the figures beside the goal."""
        goal = self.command.goal
        line = (
            f"{self.command.name:<7} make {self.command.install_target:<15} {self.install_seconds:6.1f} s, "
            f"venv {self.venv_bytes / MB:5.0f} MB  | goal <= {goal.seconds:.0f} s, <= {goal.megabytes:.0f} MB "
            f"({goal.why})  {'MET' if self.met else 'NOT MET'}"
        )
        if self.command.then and self.then_seconds is None:
            line += f"\n{'':<7} make {self.command.then} failed after the install (its output is above)"
        elif self.then_seconds is not None:
            line += (
                f"\n{'':<7} make {self.command.then:<15} {self.then_seconds:6.1f} s after it; fresh clone to "
                f"synthesized: {self.install_seconds + self.then_seconds:.1f} s (before: 344 s)"
            )
        return line


def fresh_clone(destination: Path) -> None:
    """Copies the working tree's tracked and trackable files (what a clone of it would hold)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for raw in filter(None, listed):
        source = REPO / os.fsdecode(raw)
        if not source.is_file():  # deleted in the working tree but still in the index
            continue
        target = destination / os.fsdecode(raw)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def disk_usage(path: Path) -> int:
    """Bytes of disk blocks under ``path`` (as ``du``), without following links."""
    total = 0
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            stat = os.lstat(os.path.join(root, name))
            total += stat.st_blocks * 512
    return total


def make(clone: Path, target: str) -> float | None:
    """Wall seconds of ``make <target>`` in ``clone``; None (with its output on stderr) when it fails."""
    env = {**os.environ, "PIP_NO_CACHE_DIR": "1"}
    started = time.perf_counter()
    run = subprocess.run(["make", target], cwd=clone, env=env, capture_output=True, text=True, check=False)
    took = time.perf_counter() - started
    if run.returncode != 0:
        print(f"make {target} failed in {clone}:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}", file=sys.stderr)
        return None
    return took


def measure(command: Command, workdir: Path) -> Measurement | None:
    """A fresh clone, its install target timed, the venv measured, then the follow-up target if any."""
    clone = workdir / command.name
    fresh_clone(clone)
    install = make(clone, command.install_target)
    if install is None:
        return None
    size = disk_usage(clone / ".venv")
    then = make(clone, command.then) if command.then else None
    return Measurement(command, install, size, then)


def main(argv: list[str] | None = None) -> int:
    """Measures the chosen commands; exit 1 when a goal is not met."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--command", action="append", choices=sorted(COMMANDS), help="measure only these")
    parser.add_argument("--workdir", type=Path, help="where the clones go (default: a temporary directory)")
    parser.add_argument("--keep", action="store_true", help="keep the clones and their virtualenvs")
    args = parser.parse_args(argv)
    names = args.command or list(COMMANDS)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="rudder-ha-install-"))
    print(f"fresh-clone installs in {workdir} (pip cache off); before the split: one {BEFORE_MB} MB venv for all")
    try:
        results = []
        for name in names:
            result = measure(COMMANDS[name], workdir)
            print(result.report() if result else f"{name:<7} install failed: see above", flush=True)
            results.append(result)
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0 if all(r is not None and r.met and (r.command.then is None or r.then_seconds) for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
