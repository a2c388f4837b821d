"""Work done once per pytest run and shared by every pytest-xdist worker of that run.

A session fixture runs once per worker process; for slow, deterministic work (the cdktf synthesis,
checkov's scans) that would be once per worker. :func:`once_per_run` makes it once per run: the first
worker to arrive takes an exclusive ``flock`` on a lock file in the directory all workers of the run
share, produces the result into a directory next to it and marks it complete; the others block on the
same lock (a condition, not a clock) and then read what is there. Without xdist it is simply a
directory in the session's base temp.

A producer that raises leaves no completion mark, so the next worker to get the lock tries again and
reports its own failure.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

COMPLETE = ".complete"


def run_directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The directory every worker of this run shares (pytest-xdist gives each worker a base temp inside
    the run's; without xdist, the session's base temp)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextlib.contextmanager
def exclusive(lock_file: Path) -> Iterator[None]:
    """Holds an exclusive ``flock`` on ``lock_file`` (created if missing) for the block."""
    with lock_file.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def once_per_run(tmp_path_factory: pytest.TempPathFactory, name: str, produce: Callable[[Path], None]) -> Path:
    """The directory ``produce`` filled, for this run: called with an empty directory by the first
    worker to need ``name``; every other worker waits for it to finish and gets the same directory."""
    return once_in(run_directory(tmp_path_factory), name, produce)


def once_in(root: Path, name: str, produce: Callable[[Path], None]) -> Path:
    """``root``/shared-``name``, filled by ``produce`` unless a process already completed it; the lock
    file beside it makes concurrent callers wait for the one producing."""
    target = root / f"shared-{name}"
    with exclusive(root / f"shared-{name}.lock"):
        if not (target / COMPLETE).is_file():
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir()
            produce(target)
            (target / COMPLETE).touch()
    return target
