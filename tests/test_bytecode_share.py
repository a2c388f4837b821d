"""The workers' shares of a cold checkout's compiling (tests/support/bytecode_share.py): disjoint shares
that cover every file, bytecode the import system and pytest's rewriter accept, nothing redone when current."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import bytecode_share


def test_the_shares_are_disjoint_and_cover_every_file() -> None:
    files = [Path(f"m{i}.py") for i in range(11)]
    shares = [bytecode_share.share(files, index, 3) for index in range(3)]
    assert sorted(p for s in shares for p in s) == sorted(files)
    assert all(not set(a) & set(b) for i, a in enumerate(shares) for b in shares[i + 1 :])


@pytest.mark.parametrize(
    ("worker", "count", "slot"),
    [("gw2", "3", (2, 3)), ("gw0", "1", None), ("", "3", None), ("master", "3", None), ("gw1", "x", None)],
)
def test_worker_slot(monkeypatch: pytest.MonkeyPatch, worker: str, count: str, slot: tuple[int, int] | None) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", count)
    assert bytecode_share.worker_slot() == slot


def test_a_compiled_module_is_what_import_reads_and_is_not_compiled_twice(tmp_path: Path) -> None:
    source = tmp_path / "shared_module.py"
    source.write_text("VALUE = 41 + 1\n", encoding="utf-8")
    assert bytecode_share.compile_modules([source]) == 1
    cached = Path(importlib.util.cache_from_source(str(source)))
    assert cached.is_file()
    assert bytecode_share.compile_modules([source]) == 0, "a current .pyc is left alone"
    # Python imports it from that file: with the source gone, only the bytecode can answer.
    source.unlink()
    sourceless = tmp_path / "shared_module.pyc"
    cached.replace(sourceless)
    run = subprocess.run(
        [sys.executable, "-c", "import shared_module; print(shared_module.VALUE)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
    )
    assert run.returncode == 0 and run.stdout.strip() == "42", run.stderr


def test_a_changed_source_is_compiled_again(tmp_path: Path) -> None:
    source = tmp_path / "changing.py"
    source.write_text("A = 1\n", encoding="utf-8")
    bytecode_share.compile_modules([source])
    source.write_text("A = 22\n", encoding="utf-8")
    assert bytecode_share.compile_modules([source]) == 1


def test_test_modules_get_the_rewritten_bytecode_pytest_reads(tmp_path: Path, pytestconfig: pytest.Config) -> None:
    module = tmp_path / "test_sample.py"
    module.write_text("def test_it():\n    assert 1 + 1 == 2\n", encoding="utf-8")
    if pytestconfig.getoption("assertmode") != "rewrite":
        pytest.skip("assertion rewriting is off in this run")
    assert bytecode_share.rewrite_test_modules(pytestconfig, [module]) == 1
    (written,) = (tmp_path / "__pycache__").iterdir()
    assert written.name.startswith("test_sample.cpython-") and "-pytest-" in written.name
    assert bytecode_share.rewrite_test_modules(pytestconfig, [module]) == 0, "pytest's own check finds it current"
