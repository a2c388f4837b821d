"""Where the project's own files are, from the checkout's root: every module that reads a file of the
project (the instance's ``ami/``, the Lambdas, the environments) asks here, so moving a module never
moves what it reads."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
"""The checkout (or the installed tree) holding ``rudder_ha/``, ``ami/``, ``lambdas/`` and ``environments/``."""
AMI_DIR = REPO_ROOT / "ami"
"""What runs on a data-plane instance: provisioning, systemd units, on-node scripts."""
LAMBDAS_DIR = REPO_ROOT / "lambdas"
"""One folder per deployable Lambda; each folder is its zip root."""
ENVIRONMENTS_DIR = REPO_ROOT / "environments"
"""The shipped environment files, one ``<environment>.yaml`` each."""
BUILD_DIR = REPO_ROOT / ".build"
"""Reproducible build outputs (Lambda zips, the instance bundle); git ignores it."""
