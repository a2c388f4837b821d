"""The garbage-collector tuning of the test processes (:mod:`tests.support.gc_tuning`) is in place, and
pytest still reports an exception raised in a finalizer during a test."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from _pytest import unraisableexception

from tests.support import gc_tuning
from tests.support.paths import REPO


def test_collection_left_this_process_frozen_with_rare_young_collections() -> None:
    assert gc.get_threshold() == (
        gc_tuning.GENERATION0_THRESHOLD,
        gc_tuning.OLDER_GENERATIONS_THRESHOLD,
        gc_tuning.OLDER_GENERATIONS_THRESHOLD,
    )
    assert gc.get_freeze_count() > 10_000, "what collection loaded is in the permanent generation"


def test_only_a_worker_skips_the_sweep_at_its_end(pytestconfig: pytest.Config) -> None:
    skipped = pytestconfig.stash.get(unraisableexception.gc_collect_iterations_key, None) == 0
    assert skipped == bool(os.environ.get("PYTEST_XDIST_WORKER"))


def test_a_finalizer_raising_during_a_test_is_still_reported_by_a_worker(tmp_path: Path) -> None:
    """A pytest-xdist worker with the tuning, as ``make test`` runs: an exception raised by a finalizer in a
    test reaches pytest's report (as PytestUnraisableExceptionWarning, here made an error)."""
    (tmp_path / "conftest.py").write_text(
        "from tests.support import gc_tuning\n\n\n"
        "def pytest_configure(config):\n    gc_tuning.no_sweep_at_worker_exit(config)\n",
        encoding="utf-8",
    )
    (tmp_path / "test_finalizer.py").write_text(
        textwrap.dedent(
            """
            import gc


            class Raises:
                def __del__(self):
                    raise RuntimeError("raised in a finalizer")


            def test_leaves_a_cycle_that_raises_when_collected():
                first, second = Raises(), Raises()
                first.other, second.other = second, first
                del first, second
                gc.collect()
            """
        ),
        encoding="utf-8",
    )
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "1", "-p", "no:cacheprovider", "-W", "error", "-q", str(tmp_path)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 1, run.stdout[-2000:]
    assert "raised in a finalizer" in run.stdout
