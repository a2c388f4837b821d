"""Reproducible deployment packages of the handlers in ``lambdas/``, for both front ends."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

from rudder_ha.paths import BUILD_DIR, LAMBDAS_DIR

PACKAGE_DIR = BUILD_DIR / "lambda-packages"
RUNTIME = "python3.12"
EXCLUDED_PARTS = {"__pycache__", ".pytest_cache"}
EXCLUDED_SUFFIXES = {".pyc", ".md"}
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def package(source: str) -> tuple[Path, str]:
    """Zips ``lambdas/<source>`` reproducibly (sorted, fixed timestamps, no caches or docs).

    Returns the zip's path and its base64 SHA-256, which Terraform compares to decide on a redeploy,
    so an unchanged handler never causes an update.
    """
    root = LAMBDAS_DIR / source
    if not (root / "handler.py").is_file():
        raise FileNotFoundError(f"{root}/handler.py is missing")
    PACKAGE_DIR.mkdir(parents=True, exist_ok=True)
    target = PACKAGE_DIR / f"{source}.zip"
    files = sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and not (set(p.relative_to(root).parts) & EXCLUDED_PARTS) and p.suffix not in EXCLUDED_SUFFIXES
    )
    tmp = target.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(root).as_posix(), date_time=FIXED_ZIP_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    tmp.replace(target)
    digest = base64.b64encode(hashlib.sha256(target.read_bytes()).digest()).decode("ascii")
    return target, digest
