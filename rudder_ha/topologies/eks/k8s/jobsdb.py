"""Each backend pod's own jobsdb: PostgreSQL as a native sidecar, reachable through a pod-local socket.

PostgreSQL runs as an ``initContainers`` entry with ``restartPolicy: Always`` (a native sidecar,
Kubernetes >= 1.29): the kubelet starts it, and waits for its startup probe, before rudder-server,
and stops it only after rudder-server has exited, so the server never runs without its database,
neither at start nor during the drain.

It listens on no TCP address at all (``listen_addresses=''``): only containers that mount the
socket directory (an emptyDir of this pod) can connect, and they connect with local ``trust``
authentication. So there is no password to generate, store or leak, and two servers can never
share one jobsdb: the socket does not leave the pod.
"""

from __future__ import annotations

from typing import Any

from rudder_ha.topologies.eks.k8s.common import TMP_DIR, container_security_context
from rudder_ha.topologies.eks.k8s.settings import WorkloadSettings
from rudder_ha.topologies.eks.k8s.storage import JOBSDB_VOLUME

SOCKET_VOLUME = "jobsdb-socket"
SOCKET_DIR = "/var/run/postgresql"
DATA_MOUNT = "/var/lib/postgresql/data"
PGDATA = f"{DATA_MOUNT}/pgdata"
"""A subdirectory: the volume's root holds ext4's lost+found, which initdb refuses."""
PG_TMP_VOLUME = "jobsdb-tmp"
PORT = 5432
"""No TCP listener; the port only names the socket file (``.s.PGSQL.5432``)."""
DB_USER = "rudder"
DB_NAME = "jobsdb"
HBA_FILE_KEY = "pg_hba.conf"

PG_HBA = """\
# rudder-ha jobsdb: local socket connections only, for containers of this pod that mount the
# socket directory. No TCP listener is configured; any TCP attempt would be rejected here too.
local   all   all                 trust
host    all   all   0.0.0.0/0     reject
host    all   all   ::/0          reject
"""


def jobsdb_env() -> list[dict[str, str]]:
    """rudder-server's JOBS_DB_* settings (also read by rudder-drain-check).

    JOBS_DB_HOST is the pod-local socket directory. JOBS_DB_PASSWORD is left unset: rudder-server
    then sends its built-in default, which ``trust`` authentication never asks for.
    """
    return [
        {"name": "JOBS_DB_HOST", "value": SOCKET_DIR},
        {"name": "JOBS_DB_PORT", "value": str(PORT)},
        {"name": "JOBS_DB_USER", "value": DB_USER},
        {"name": "JOBS_DB_DB_NAME", "value": DB_NAME},
        {"name": "JOBS_DB_SSL_MODE", "value": "disable"},
    ]


def socket_mount() -> dict[str, Any]:
    """Where every container of the pod finds the jobsdb socket."""
    return {"name": SOCKET_VOLUME, "mountPath": SOCKET_DIR}


def volumes() -> list[dict[str, Any]]:
    """The socket directory and PostgreSQL's scratch space (the data volume is a claim template)."""
    return [
        {"name": SOCKET_VOLUME, "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
        {"name": PG_TMP_VOLUME, "emptyDir": {"sizeLimit": "1Gi"}},
    ]


def _pg_isready(timeout: int) -> dict[str, Any]:
    """An exec probe that asks the server over its socket whether it accepts connections."""
    return {
        "exec": {
            "command": [
                "pg_isready",
                "--host",
                SOCKET_DIR,
                "--port",
                str(PORT),
                "--username",
                DB_USER,
                "--dbname",
                DB_NAME,
            ]
        },
        "timeoutSeconds": timeout,
    }


def postgres_sidecar(settings: WorkloadSettings, files_volume: str, files_mount: str) -> dict[str, Any]:
    """The PostgreSQL native sidecar.

    The official image's entrypoint initialises the cluster on first start (as the non-root postgres
    user, since the pod's fsGroup makes the volume writable) and then runs the server with these
    arguments. ``POSTGRES_HOST_AUTH_METHOD=trust`` only lets the entrypoint initialise without a
    password; which connections are trusted is decided by the shipped ``hba_file``.
    """
    return {
        "name": "jobsdb",
        "image": settings.postgres_image,
        "imagePullPolicy": "IfNotPresent",
        "restartPolicy": "Always",
        "args": [
            "postgres",
            "-c",
            "listen_addresses=",
            "-c",
            f"unix_socket_directories={SOCKET_DIR}",
            "-c",
            f"hba_file={files_mount}/{HBA_FILE_KEY}",
        ],
        "env": [
            {"name": "POSTGRES_USER", "value": DB_USER},
            {"name": "POSTGRES_DB", "value": DB_NAME},
            {"name": "POSTGRES_HOST_AUTH_METHOD", "value": "trust"},
            {"name": "POSTGRES_INITDB_ARGS", "value": "--auth-local=trust --auth-host=reject"},
            {"name": "PGDATA", "value": PGDATA},
        ],
        "startupProbe": {**_pg_isready(5), "periodSeconds": 2, "failureThreshold": 300},
        "livenessProbe": {**_pg_isready(5), "periodSeconds": 10, "failureThreshold": 6},
        "resources": settings.postgres_resources.to_k8s(),
        "securityContext": container_security_context(settings.postgres_uid),
        "volumeMounts": [
            {"name": JOBSDB_VOLUME, "mountPath": DATA_MOUNT},
            socket_mount(),
            {"name": PG_TMP_VOLUME, "mountPath": TMP_DIR},
            {"name": files_volume, "mountPath": files_mount, "readOnly": True},
        ],
    }
