"""What goes on a data-plane instance: the files under ``ami/`` and where each one is installed.

This manifest is the single definition of the instance's software. The user data writes these
files at boot; an image pipeline bakes the same list into an AMI.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rudder_ha.paths import AMI_DIR

INSTALL_DIR = "/opt/rudder-ha"
PROVISION_SCRIPT = f"{INSTALL_DIR}/provision.sh"
DRAIN_CHECK_PATH = "/usr/local/bin/rudder-drain-check"
DRAIN_WAIT_PATH = "/usr/local/bin/rudder-drain-wait"
JOBSDB_ENV_FILE = "/run/rudder-ha/jobsdb.env"
CLOUDWATCH_DIR = f"{INSTALL_DIR}/cloudwatch"
STATSD_AGENT_CONFIG = f"{CLOUDWATCH_DIR}/rudder-statsd-agent.json"
SERVER_STATS_ENV_FILE = f"{CLOUDWATCH_DIR}/rudder-server-stats.env"


@dataclass(frozen=True)
class InstanceFile:
    """One file from ``ami/`` and its place and mode on the instance."""

    source: str
    destination: str
    mode: str

    def read(self) -> str:
        """The file's content."""
        return (AMI_DIR / self.source).read_text(encoding="utf-8")


def shipped_files(directory: Path) -> list[Path]:
    """The regular, non-hidden files of ``directory``, sorted: never a ``__pycache__`` directory that Python
    leaves beside the scripts a test imported, nor an editor's dotfile."""
    return sorted(p for p in directory.iterdir() if p.is_file() and not p.name.startswith("."))


def instance_files() -> list[InstanceFile]:
    """Every file of ``ami/`` the instance needs, in a stable order."""
    files = [InstanceFile("provision.sh", PROVISION_SCRIPT, "0755")]
    for path in shipped_files(AMI_DIR / "bin"):
        files.append(InstanceFile(f"bin/{path.name}", f"{INSTALL_DIR}/bin/{path.name}", "0755"))
    units = [path for kind in ("service", "timer", "slice") for path in (AMI_DIR / "systemd").glob(f"*.{kind}")]
    for path in sorted(units):
        files.append(InstanceFile(f"systemd/{path.name}", f"{INSTALL_DIR}/systemd/{path.name}", "0644"))
    # The CloudWatch agent's statsd listener and rudder-server's stats settings pointing at it.
    for path in shipped_files(AMI_DIR / "cloudwatch"):
        files.append(InstanceFile(f"cloudwatch/{path.name}", f"{CLOUDWATCH_DIR}/{path.name}", "0644"))
    return files
