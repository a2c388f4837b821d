"""moto's EC2 image catalogue cut to its built-in images, for speed.

moto documents ``MOTO_AMIS_PATH``: when set, each EC2 backend loads its images from that JSON file and
skips the per-region "latest" and ECS-optimized lists it would otherwise add (hundreds of images per
region, each with a snapshot and a volume of its own). Every EC2 backend moto creates, and every reset
``mock_aws`` does on entry and exit, built that catalogue again: about a third of the time of the
moto-backed tests, and a ``DescribeImages`` with a filter serialized hundreds of images.

The file written here holds moto's own built-in images (its ``amis.json``), so the images the tests
name (``ami-12c6146b``...) and filter for (by architecture) are the ones moto always has; no test
depends on a per-region latest image. moto reads the variable when its EC2 module is imported, so
:func:`use_builtin_images_only` runs first thing in ``tests/conftest.py``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

VARIABLE = "MOTO_AMIS_PATH"


def use_builtin_images_only(directory: Path) -> Path:
    """Writes moto's built-in image list to ``directory`` and points ``MOTO_AMIS_PATH`` at it (unless the
    variable is set already); returns the file moto will read."""
    if existing := os.environ.get(VARIABLE):
        return Path(existing)
    from moto.utilities.utils import load_resource

    images = load_resource("ec2/resources/amis.json")
    target = directory / "moto-builtin-images.json"
    directory.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}")
    partial.write_text(json.dumps(images), encoding="utf-8")
    partial.replace(target)  # atomic: another process may write the same file at the same time
    os.environ[VARIABLE] = str(target)
    return target
