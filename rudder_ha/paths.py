"""Where the project's own files are: every module that reads a file of the project (the instance's
``ami/``, the Lambdas, the environments) asks here, so moving a module never moves what it reads.

Two layouts are supported:

- a checkout: ``ami/``, ``lambdas/`` and ``environments/`` sit beside ``rudder_ha/``, and build outputs go to
  the checkout's ``.build/``;
- an installed wheel (``pip install rudder-ha``): ``ami/`` and ``lambdas/`` ship inside the package under
  ``rudder_ha/_data/`` (see ``pyproject.toml``), the environment files are the user's (``./environments``
  unless ``--environments-dir`` says otherwise) and build outputs go to a per-user cache, because
  site-packages may not be writable.

``RUDDER_HA_BUILD_DIR`` moves the build outputs in either layout.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
"""The ``rudder_ha`` package itself."""
BUNDLED_DATA_DIR = PACKAGE_DIR / "_data"
"""Where a wheel carries ``ami/``, ``lambdas/`` and the shipped ``environments/``."""


def is_checkout(root: Path) -> bool:
    """True when ``root`` holds the project's own ``ami/`` and ``lambdas/`` beside ``rudder_ha/``."""
    return (root / "ami" / "bootstrap.sh").is_file() and (root / "lambdas").is_dir() and (root / "rudder_ha").is_dir()


def _user_cache_dir() -> Path:
    """The XDG cache directory for rudder-ha (``~/.cache/rudder-ha`` by default)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rudder-ha"


CHECKOUT = PACKAGE_DIR.parent if is_checkout(PACKAGE_DIR.parent) else None
"""The checkout holding ``rudder_ha/``, or None when the package runs from an installed wheel."""
DATA_ROOT = CHECKOUT if CHECKOUT is not None else BUNDLED_DATA_DIR
"""The directory holding ``ami/`` and ``lambdas/`` in the layout in use."""
REPO_ROOT = DATA_ROOT
"""Kept for callers written before the package could be installed: the same as :data:`DATA_ROOT`."""
AMI_DIR = DATA_ROOT / "ami"
"""What runs on a data-plane instance: provisioning, systemd units, on-node scripts."""
LAMBDAS_DIR = DATA_ROOT / "lambdas"
"""One folder per deployable Lambda; each folder is its zip root."""
SHIPPED_ENVIRONMENTS_DIR = DATA_ROOT / "environments"
"""The environment files the project ships (dev, staging, prod...), usable as templates."""
ENVIRONMENTS_DIR = SHIPPED_ENVIRONMENTS_DIR if CHECKOUT is not None else Path("environments")
"""The default environments directory: the checkout's own, or ``./environments`` for an installed package."""
BUILD_DIR = Path(
    os.environ.get("RUDDER_HA_BUILD_DIR") or (CHECKOUT / ".build" if CHECKOUT is not None else _user_cache_dir())
)
"""Reproducible build outputs (Lambda zips, the instance bundle); git ignores the checkout's."""
