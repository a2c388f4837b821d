"""Each backend pod's jobsdb backlog in CloudWatch: a native sidecar running ``rudder-backlog-metrics``.

The single-node instances run ``ami/bin/rudder-backlog-metrics`` every minute from a systemd timer; a backend
pod runs the same file, shipped in the drain ConfigMap, from ``scripts/backlog-metrics.sh`` in a native
sidecar (``initContainers`` with ``restartPolicy: Always``, after the drain agent, so it stops before it and
keeps publishing while the pod drains). It uses the drain agent's image (python3 and psql, and the AWS CLI
the publisher calls) and the backend ServiceAccount's EKS Pod Identity role, which may put metrics in the
``RudderHA`` namespace only. Every pod publishes under dimension ``Environment`` (the alarms take the
``Maximum``, that is the worst pod) and under ``Environment`` and ``Pod`` (its name, from the downward API), to
see which pod holds the backlog.
"""

from __future__ import annotations

from typing import Any

from rudder_ha.topologies.eks.k8s import drain
from rudder_ha.topologies.eks.k8s.common import container_security_context
from rudder_ha.topologies.eks.k8s.jobsdb import jobsdb_env, socket_mount
from rudder_ha.topologies.eks.k8s.settings import WorkloadSettings

CONTAINER = "backlog-metrics"
WORK_VOLUME = "backlog-metrics"
WORK_DIR = "/var/run/rudder-metrics"
INTERVAL_SECONDS = 60
"""Once a minute, like the instances' timer; the backlog alarms count one-minute periods."""
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
POD_NAME_VARIABLE = "RUDDER_HA_BACKLOG_POD"
"""Read by ``rudder-backlog-metrics``: adds the per-pod series."""


def command(settings: WorkloadSettings) -> list[str]:
    """The sidecar's command line."""
    assert settings.metrics_environment is not None
    return [
        "/bin/sh",
        f"{drain.FILES_MOUNT}/{drain.METRICS_LOOP_KEY}",
        WORK_DIR,
        str(INTERVAL_SECONDS),
        settings.metrics_environment,
        settings.region,
        "--",
        "python3",
        f"{drain.FILES_MOUNT}/{drain.BACKLOG_METRICS_KEY}",
    ]


def sidecar(settings: WorkloadSettings) -> dict[str, Any]:
    """The native sidecar; ``rudder-drain-check`` is found on ``PATH`` in the files' directory."""
    return {
        "name": CONTAINER,
        "image": settings.drain_image,
        "imagePullPolicy": "IfNotPresent",
        "restartPolicy": "Always",
        "command": command(settings),
        "env": [
            *jobsdb_env(),
            {"name": "PATH", "value": f"{drain.FILES_MOUNT}:{SYSTEM_PATH}"},
            {"name": "HOME", "value": WORK_DIR},
            {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"},
            {"name": POD_NAME_VARIABLE, "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        ],
        "resources": settings.drain_resources.to_k8s(),
        "securityContext": container_security_context(settings.postgres_uid),
        "volumeMounts": [socket_mount(), drain.files_mount(), {"name": WORK_VOLUME, "mountPath": WORK_DIR}],
    }


def volumes() -> list[dict[str, Any]]:
    """The sidecar's writable directory: its two env files and the AWS CLI's cache."""
    return [{"name": WORK_VOLUME, "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}}]
