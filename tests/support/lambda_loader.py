"""Loads a deployable Lambda from ``lambdas/<name>/`` the way Lambda does: its directory is the
import root and ``handler.py`` sits at the top."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType, SimpleNamespace


@contextmanager
def loaded_lambda(directory: Path, module_name: str, **submodules: str) -> Iterator[SimpleNamespace]:
    """Yields ``handler`` (the loaded handler.py, registered as ``module_name``) and each named
    submodule (``alias="package.module"``), with ``directory`` on sys.path while in use."""
    sys.path.insert(0, str(directory))
    try:
        spec = importlib.util.spec_from_file_location(module_name, directory / "handler.py")
        assert spec is not None and spec.loader is not None
        module: ModuleType = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield SimpleNamespace(
            handler=module, **{alias: importlib.import_module(name) for alias, name in submodules.items()}
        )
    finally:
        sys.path.remove(str(directory))
