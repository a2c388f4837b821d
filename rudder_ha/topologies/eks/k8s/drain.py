"""Drain before SIGTERM: the backend's preStop hook, the drain agent sidecar and the files they run.

Mechanism (one backend pod):

1. Termination starts (scale-down, rolling update, eviction, node drain). Kubernetes removes the pod
   from the Services' ready endpoints, so the AWS Load Balancer Controller deregisters it from the
   ALB, and runs the rudder-server container's preStop hook (``drain-prestop.sh``, POSIX sh: the
   server's Alpine image has a shell but no python3). rudder-server keeps running: it gets SIGTERM
   only when the hook returns.
2. The hook waits ``drain.settle_seconds`` for the deregistration to take effect, then writes a
   drain request (an id and a deadline) into an emptyDir shared with the drain agent.
3. The drain agent, a native sidecar (``initContainers`` with ``restartPolicy: Always``) running an
   image with python3 and psql, runs ``rudder-drain-check`` (the same file the instances run,
   shipped in a ConfigMap) against the pod's jobsdb socket every ``drain.poll_interval_seconds``
   and answers ``drained`` only on its exit 0. Pending (75) and cannot tell (69) keep it checking.
4. The hook returns on ``drained``; rudder-server gets SIGTERM and shuts down (15 s), then the
   sidecars stop in reverse order, PostgreSQL last.

Bound: the hook gives up at ``termination_grace_period_seconds - drain.shutdown_reserve_seconds``
after termination started (settle included), so the server's own shutdown and PostgreSQL's always
fit in the grace period. Giving up exits 1 (a ``FailedPreStopHook`` event); what is still pending
stays on the pod's volume, which the StatefulSet retains, and is processed when that ordinal runs
again.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from rudder_ha.paths import AMI_DIR
from rudder_ha.topologies.eks.k8s.common import (
    BACKEND,
    FILES_CONFIGMAP,
    Manifest,
    container_security_context,
    metadata,
)
from rudder_ha.topologies.eks.k8s.jobsdb import HBA_FILE_KEY, PG_HBA, jobsdb_env, socket_mount
from rudder_ha.topologies.eks.k8s.settings import WorkloadSettings

SCRIPTS_DIR = Path(__file__).resolve().parent / "scripts"
DRAIN_CHECK_SOURCE = AMI_DIR / "bin" / "rudder-drain-check"
BACKLOG_METRICS_SOURCE = AMI_DIR / "bin" / "rudder-backlog-metrics"

FILES_VOLUME = "rudder-ha-files"
FILES_MOUNT = "/opt/rudder-ha"
HANDSHAKE_VOLUME = "drain-handshake"
HANDSHAKE_DIR = "/var/run/rudder-drain"

DRAIN_CHECK_KEY = "rudder-drain-check"
AGENT_KEY = "drain-agent.sh"
PRESTOP_KEY = "drain-prestop.sh"
BACKLOG_METRICS_KEY = "rudder-backlog-metrics"
METRICS_LOOP_KEY = "backlog-metrics.sh"
ORPHAN_DRAIN_KEY = "orphan-drain.sh"


def files(settings: WorkloadSettings) -> dict[str, str]:
    """The ConfigMap's files, read from the repository at render time (the backlog publisher and its loop
    only where the pods publish metrics, :mod:`rudder_ha.topologies.eks.k8s.metrics`)."""
    shipped = {
        DRAIN_CHECK_KEY: DRAIN_CHECK_SOURCE.read_text(encoding="utf-8"),
        AGENT_KEY: (SCRIPTS_DIR / AGENT_KEY).read_text(encoding="utf-8"),
        PRESTOP_KEY: (SCRIPTS_DIR / PRESTOP_KEY).read_text(encoding="utf-8"),
        ORPHAN_DRAIN_KEY: (SCRIPTS_DIR / ORPHAN_DRAIN_KEY).read_text(encoding="utf-8"),
        HBA_FILE_KEY: PG_HBA,
    }
    if settings.metrics_environment is not None:
        shipped[BACKLOG_METRICS_KEY] = BACKLOG_METRICS_SOURCE.read_text(encoding="utf-8")
        shipped[METRICS_LOOP_KEY] = (SCRIPTS_DIR / METRICS_LOOP_KEY).read_text(encoding="utf-8")
    return shipped


def files_digest(settings: WorkloadSettings) -> str:
    """SHA-256 over the ConfigMap's files: a pod-template annotation, so a change rolls the pods."""
    digest = hashlib.sha256()
    for key, text in sorted(files(settings).items()):
        digest.update(key.encode() + b"\0" + text.encode() + b"\0")
    return digest.hexdigest()


def files_configmap(settings: WorkloadSettings) -> Manifest:
    """The drain check, the drain scripts and PostgreSQL's host-based authentication file."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(FILES_CONFIGMAP, settings, BACKEND),
        "data": files(settings),
    }


def volumes() -> list[dict[str, Any]]:
    """The ConfigMap (executable, read-only) and the handshake directory."""
    return [
        {"name": FILES_VOLUME, "configMap": {"name": FILES_CONFIGMAP, "defaultMode": 0o555}},
        {"name": HANDSHAKE_VOLUME, "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
    ]


def handshake_mount() -> dict[str, Any]:
    """Where the preStop hook and the drain agent exchange request and result."""
    return {"name": HANDSHAKE_VOLUME, "mountPath": HANDSHAKE_DIR}


def files_mount() -> dict[str, Any]:
    """The ConfigMap's files, read-only."""
    return {"name": FILES_VOLUME, "mountPath": FILES_MOUNT, "readOnly": True}


def check_command(settings: WorkloadSettings) -> list[str]:
    """How the agent runs the drain check (python3 from the drain image, settings from the env)."""
    return ["python3", f"{FILES_MOUNT}/{DRAIN_CHECK_KEY}", "--timeout", str(settings.drain.check_timeout_seconds)]


def agent_command(settings: WorkloadSettings) -> list[str]:
    """The drain agent sidecar's command line."""
    return [
        "/bin/sh",
        f"{FILES_MOUNT}/{AGENT_KEY}",
        HANDSHAKE_DIR,
        str(settings.drain.poll_interval_seconds),
        "--",
        *check_command(settings),
    ]


def prestop_command(settings: WorkloadSettings) -> list[str]:
    """The rudder-server container's preStop command: settle, request, wait, all within the budget."""
    return [
        "/bin/sh",
        f"{FILES_MOUNT}/{PRESTOP_KEY}",
        HANDSHAKE_DIR,
        str(settings.drain.settle_seconds),
        str(settings.drain_budget_seconds),
    ]


def drain_agent_sidecar(settings: WorkloadSettings) -> dict[str, Any]:
    """The drain agent native sidecar: after PostgreSQL in ``initContainers``, so it stops before it."""
    return {
        "name": "jobsdb-drain",
        "image": settings.drain_image,
        "imagePullPolicy": "IfNotPresent",
        "restartPolicy": "Always",
        "command": agent_command(settings),
        "env": [*jobsdb_env(), {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"}],
        "resources": settings.drain_resources.to_k8s(),
        "securityContext": container_security_context(settings.postgres_uid),
        "volumeMounts": [socket_mount(), handshake_mount(), files_mount()],
    }
