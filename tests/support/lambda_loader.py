"""Loads a deployable Lambda from ``lambdas/<name>/`` the way Lambda does: that directory is the
root of the Lambda's zip, so it is the import root (first on ``sys.path``) and ``handler.py`` sits
at its top. Every test loads a Lambda through this module:

* :func:`loaded_lambda` - the handler and named modules of one Lambda, with its root on
  ``sys.path`` while in use (a context manager, for a module-scoped fixture);
* :func:`load_drain_lambda` - the drain tests import the drain modules at module level, so the
  drain Lambda's root stays on ``sys.path`` for the session;
* :func:`load_handler` - a fresh copy of ``handler.py`` (its module state reset), for tests of the
  entry point itself;
* :func:`zip_lambda` and :func:`run_from_zip` - the packaging check: the directory zipped with
  ``handler.py`` at the archive root, imported by an isolated interpreter that can import neither
  the repository nor the working directory.
"""

from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType, SimpleNamespace

from tests.support.paths import REPO

LAMBDAS_DIR = REPO / "lambdas"
DRAIN_LAMBDA_DIR = LAMBDAS_DIR / "drain"
DRAIN_LOGGER = "rudder_ha.drain"
"""The drain Lambda's logger: one JSON object per line."""


def lambda_dir(name: str) -> Path:
    """``lambdas/<name>/``: the root of the Lambda's zip."""
    return LAMBDAS_DIR / name


def load_handler(directory: Path, module_name: str) -> ModuleType:
    """Execute ``directory/handler.py`` as a new module named ``module_name`` (not registered in
    ``sys.modules``). Its imports resolve against ``sys.path``, so the Lambda's root must be on it."""
    spec = importlib.util.spec_from_file_location(module_name, directory / "handler.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextmanager
def loaded_lambda(name: str, **submodules: str) -> Iterator[SimpleNamespace]:
    """Yields ``handler`` (``lambdas/<name>/handler.py``, loaded as ``<name>_lambda_handler``) and each
    named submodule (``alias="package.module"``), with the Lambda's directory on sys.path while in use."""
    directory = lambda_dir(name)
    sys.path.insert(0, str(directory))
    try:
        handler = load_handler(directory, f"{name}_lambda_handler")
        yield SimpleNamespace(
            handler=handler, **{alias: importlib.import_module(module) for alias, module in submodules.items()}
        )
    finally:
        sys.path.remove(str(directory))


def load_drain_lambda() -> ModuleType:
    """Import the drain Lambda's ``lifecycle_drain.runtime`` module (its directory is the zip root)."""
    path = str(DRAIN_LAMBDA_DIR)
    if path not in sys.path:
        sys.path.insert(0, path)
    return importlib.import_module("lifecycle_drain.runtime")


def zip_lambda(name: str, archive: Path) -> Path:
    """Zip the Python files of ``lambdas/<name>/`` into ``archive``, paths relative to that
    directory (``handler.py`` at the archive root); returns ``archive``."""
    directory = lambda_dir(name)
    with zipfile.ZipFile(archive, "w") as bundle:
        for path in sorted(directory.rglob("*.py")):
            bundle.write(path, path.relative_to(directory).as_posix())
    return archive


def run_from_zip(archive: Path, code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a separate interpreter whose only addition to ``sys.path`` is ``archive``.

    ``-I`` (isolated mode): neither the repository nor the working directory is importable, so the
    code sees what Lambda would.
    """
    script = f"import sys; sys.path.insert(0, sys.argv[1]); {code}"
    return subprocess.run(
        [sys.executable, "-I", "-c", script, str(archive)], capture_output=True, text=True, timeout=60, check=False
    )
