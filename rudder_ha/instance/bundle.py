"""The instance bundle: every file of the instance manifest in one reproducible tarball.

The user data is limited to 16 KiB, far less than ``ami/``. So the launch template carries only the
settings and ``ami/bootstrap.sh``; the bundle is uploaded to the environment's artifacts bucket under
its SHA-256, and the bootstrap refuses any bundle whose digest differs from the one it was given.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from dataclasses import dataclass
from pathlib import Path

from rudder_ha.instance.files import InstanceFile, instance_files
from rudder_ha.paths import AMI_DIR, BUILD_DIR

BUNDLE_BUILD_DIR = BUILD_DIR / "instance-bundle"
BOOTSTRAP = AMI_DIR / "bootstrap.sh"
KEY_PREFIX = "instance-bundle"


@dataclass(frozen=True)
class InstanceBundle:
    """A built bundle: where it is locally and the S3 key it is published under."""

    path: Path
    sha256: str

    @property
    def key(self) -> str:
        """The object key in the artifacts bucket."""
        return f"{KEY_PREFIX}/{self.sha256}.tar.gz"


def bundle_bytes(files: list[InstanceFile] | None = None) -> bytes:
    """The tar.gz of the manifest: paths relative to /, root-owned, fixed times, sorted; byte-for-byte
    reproducible, so an unchanged ``ami/`` never changes the launch template."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for f in sorted(files if files is not None else instance_files(), key=lambda f: f.destination):
            data = (AMI_DIR / f.source).read_bytes()
            info = tarfile.TarInfo(f.destination.lstrip("/"))
            info.size = len(data)
            info.mode = int(f.mode, 8)
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), compresslevel=9, mtime=0)


def build_bundle() -> InstanceBundle:
    """Writes the bundle under ``.build/instance-bundle/`` and returns it."""
    data = bundle_bytes()
    sha = hashlib.sha256(data).hexdigest()
    BUNDLE_BUILD_DIR.mkdir(parents=True, exist_ok=True)
    path = BUNDLE_BUILD_DIR / f"{sha}.tar.gz"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    return InstanceBundle(path=path, sha256=sha)
