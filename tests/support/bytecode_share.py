"""A cold checkout compiled once per run, not once per pytest-xdist worker.

On a fresh clone no ``__pycache__`` exists. Every worker then imports the same modules in the same order at
the same moment, finds no bytecode, and compiles each one itself: each of the three workers parsed,
assertion-rewrote and compiled all the test modules (about 2.7 s of CPU) and compiled the project's own
modules, on two cores, before running a single test.

:func:`compile_share` runs in each worker before collection and compiles only its share of the files (every
``count``-th, from its own index on), writing the bytecode where the import system and pytest's assertion
rewriter look for it: ``py_compile`` for the project's modules (the standard timestamp-checked ``.pyc``), and
pytest's own rewriter for the test modules (the ``-pytest-<version>.pyc`` its import hook reads). The
workers then import what the others compiled. Writes are atomic (a temporary file renamed into place), so
a worker never reads half a file; a worker that gets to a module before its owner compiled it simply
compiles it too, as before. Nothing is compiled where Python writes no bytecode, where pytest does not
rewrite asserts, or where an up-to-date file is already there (a warm checkout).
"""

from __future__ import annotations

import importlib.util
import os
import py_compile
import struct
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import pytest

PROJECT_PACKAGES = ("rudder_ha", "lambdas", "tests/support")
"""Directories of the project's own modules that the tests import (relative to the checkout)."""


def worker_slot() -> tuple[int, int] | None:
    """This pytest-xdist worker's index and the number of workers, or None outside a multi-worker run."""
    worker, count = os.environ.get("PYTEST_XDIST_WORKER", ""), os.environ.get("PYTEST_XDIST_WORKER_COUNT", "")
    if not worker.startswith("gw") or not worker[2:].isdigit() or not count.isdigit() or int(count) < 2:
        return None
    return int(worker[2:]), int(count)


def share(files: Sequence[Path], index: int, count: int) -> list[Path]:
    """Every ``count``-th of ``files``, from ``index`` on: disjoint shares that together cover ``files``."""
    return list(files[index::count])


def project_modules(root: Path) -> list[Path]:
    """The project's own modules under ``root``, in a fixed order."""
    return [path for package in PROJECT_PACKAGES for path in sorted((root / package).rglob("*.py"))]


def rewritten_modules(config: pytest.Config) -> list[Path]:
    """The test modules pytest's assertion rewriter compiles (``python_files`` under ``testpaths``), in a
    fixed order."""
    directories = [config.rootpath / path for path in config.getini("testpaths")] or [config.rootpath]
    patterns = config.getini("python_files")
    return sorted({path for directory in directories for pattern in patterns for path in directory.rglob(pattern)})


def _is_current(source: Path, cached: Path) -> bool:
    """Whether ``cached`` is a timestamp-checked ``.pyc`` of ``source`` as it is now (the header's mtime and
    size match, as the import system checks them)."""
    try:
        with cached.open("rb") as handle:
            header = handle.read(16)
        stat = source.stat()
    except OSError:
        return False
    if len(header) < 16:
        return False
    flags, mtime, size = struct.unpack("<III", header[4:16])
    return flags == 0 and mtime == int(stat.st_mtime) & 0xFFFFFFFF and size == stat.st_size & 0xFFFFFFFF


def compile_modules(files: Iterable[Path]) -> int:
    """Writes the ``.pyc`` of each of ``files`` whose bytecode is missing or stale; returns how many."""
    timestamped = py_compile.PycInvalidationMode.TIMESTAMP  # what the import system itself writes
    written = 0
    for source in files:
        cached = Path(importlib.util.cache_from_source(str(source)))
        if _is_current(source, cached):
            continue
        written += (
            py_compile.compile(str(source), cfile=str(cached), quiet=2, invalidation_mode=timestamped) is not None
        )
    return written


def rewrite_test_modules(config: pytest.Config, files: Iterable[Path]) -> int:
    """Writes the assertion-rewritten ``.pyc`` of each of ``files`` that has none that pytest would read;
    returns how many. Uses pytest's rewriter itself, so the result is byte for byte what its import hook
    would have written; if this pytest no longer has those functions, nothing is written."""
    try:
        from _pytest.assertion import assertstate_key
        from _pytest.assertion.rewrite import PYC_TAIL, _read_pyc, _rewrite_test, _write_pyc, get_cache_dir
    except ImportError:
        return 0
    state = config.stash.get(assertstate_key, None)
    if state is None:
        return 0
    written = 0
    for source in files:
        cache_dir = get_cache_dir(source)
        pyc = cache_dir / (source.name[:-3] + PYC_TAIL)
        if _read_pyc(source, pyc, state.trace) is not None:
            continue
        cache_dir.mkdir(exist_ok=True)
        source_hash, code = _rewrite_test(source, config)
        if _write_pyc(state, code, source_hash, pyc):
            written += 1
    return written


def compile_share(config: pytest.Config) -> None:
    """In a pytest-xdist worker of a cold checkout: compiles this worker's share of the project's modules and
    of the test modules (see the module docstring). Does nothing elsewhere."""
    slot = worker_slot()
    if slot is None or sys.dont_write_bytecode:
        return
    index, count = slot
    root = config.rootpath
    compile_modules(share(project_modules(root), index, count))
    if config.getoption("assertmode", "plain") == "rewrite":
        rewrite_test_modules(config, share(rewritten_modules(config), index, count))
