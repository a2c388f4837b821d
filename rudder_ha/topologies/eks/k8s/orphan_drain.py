"""Scale-down that loses nothing: a processor-only Job that delivers what a retained jobsdb volume still holds.

Lowering ``eks.backend_replica_count`` removes the highest ordinals; each drains in its preStop hook within
``eks.termination_grace_period_seconds`` (:mod:`rudder_ha.topologies.eks.k8s.drain`). A destination failing
longer than that (rudder-server's router retries for 180 minutes by default) leaves events on the removed
pod's volume, which the StatefulSet retains but no pod mounts until the ordinal comes back; the
``drain-overrun`` alarm says so. :func:`job` is the way out: a Job whose pod mounts that claim
(``jobsdb-rudder-backend-<ordinal>``) with the backend's own PostgreSQL, drain agent and backlog sidecars,
and runs rudder-server with ``APP_TYPE=PROCESSOR`` (processor and routers, no gateway: it takes no traffic)
under ``scripts/orphan-drain.sh``, which stops the server once the drain agent reports the jobsdb drained.
The Job then completes and no pod holds the claim any more; an attempt that runs out of budget fails and
the next one carries on with the same volume (the router aborts what it cannot deliver after its retry
window, so the jobsdb does drain). Deleting the claim and its ``Retain`` volume stays a deliberate step.

Print a Job for ``kubectl apply -f -``: ``python -m rudder_ha.topologies.eks.k8s.orphan_drain ENV_FILE ORDINAL``.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

from rudder_ha.topologies.eks.k8s import backend, drain, network
from rudder_ha.topologies.eks.k8s.common import (
    BACKEND_NAME,
    Manifest,
    labels,
    metadata,
)
from rudder_ha.topologies.eks.k8s.settings import WorkloadSettings
from rudder_ha.topologies.eks.k8s.storage import JOBSDB_VOLUME

ORPHAN_DRAIN = network.ORPHAN_DRAIN
"""The Job's component (its pods' labels and NetworkPolicy): not the backend's, so no Service routes to it
and the backend's disruption budget does not count it."""
PROCESSOR_CONTAINER = "rudder-processor"
SERVER_BINARY = "/rudder-server"
"""rudder-server's binary in its image (the image's entrypoint script only waits for the database, which the
PostgreSQL native sidecar's startup probe already does)."""
DEFAULT_BUDGET_SECONDS = 4 * 3600
"""One attempt: longer than rudder-server's default router retry window (180 min), after which what a
failing destination cannot take is aborted and no longer pending."""
BACKOFF_LIMIT = 6
TTL_AFTER_FINISHED_SECONDS = 7 * 24 * 3600


def claim_name(ordinal: int) -> str:
    """The StatefulSet's claim of ``ordinal``: ``<template>-<statefulset>-<ordinal>``."""
    return f"{JOBSDB_VOLUME}-{BACKEND_NAME}-{ordinal}"


def job_name(ordinal: int) -> str:
    """One Job per ordinal: applying it twice does not start a second server on the same volume."""
    return f"rudder-{ORPHAN_DRAIN}-{ordinal}"


def command(budget_seconds: int) -> list[str]:
    """The processor container's command line."""
    return [
        "/bin/sh",
        f"{drain.FILES_MOUNT}/{drain.ORPHAN_DRAIN_KEY}",
        drain.HANDSHAKE_DIR,
        str(budget_seconds),
        "--",
        SERVER_BINARY,
    ]


def processor_container(settings: WorkloadSettings, budget_seconds: int) -> dict[str, Any]:
    """rudder-server as the backend runs it (same env, token, mounts), processor-only, without the gateway's
    port, probes and preStop hook."""
    container = backend.backend_container(settings)
    for field in ("ports", "startupProbe", "readinessProbe", "livenessProbe", "lifecycle"):
        container.pop(field)
    return {
        **container,
        "name": PROCESSOR_CONTAINER,
        "command": command(budget_seconds),
        "env": [*container["env"], {"name": "APP_TYPE", "value": "PROCESSOR"}],
    }


def job(settings: WorkloadSettings, ordinal: int, *, budget_seconds: int = DEFAULT_BUDGET_SECONDS) -> Manifest:
    """The Job draining the retained volume of backend ordinal ``ordinal``."""
    if ordinal < settings.backend_replica_count:
        raise ValueError(
            f"ordinal {ordinal}: {BACKEND_NAME}-{ordinal} is one of the {settings.backend_replica_count} running "
            "backends and owns its volume; only a removed ordinal's volume can be drained by a Job"
        )
    if budget_seconds < settings.drain.poll_interval_seconds:
        raise ValueError(f"budget_seconds: {budget_seconds}s leaves no time for one drain poll")
    pod = copy.deepcopy(backend.pod_template(settings))
    spec = pod["spec"]
    for field in ("affinity", "topologySpreadConstraints"):
        spec.pop(field)  # the volume's own zone places the pod
    spec["containers"] = [processor_container(settings, budget_seconds)]
    spec["restartPolicy"] = "Never"
    spec["terminationGracePeriodSeconds"] = settings.drain.shutdown_reserve_seconds
    spec["volumes"].append({"name": JOBSDB_VOLUME, "persistentVolumeClaim": {"claimName": claim_name(ordinal)}})
    pod["metadata"]["labels"] = labels(ORPHAN_DRAIN)
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata(job_name(ordinal), settings, ORPHAN_DRAIN),
        "spec": {
            "backoffLimit": BACKOFF_LIMIT,
            "ttlSecondsAfterFinished": TTL_AFTER_FINISHED_SECONDS,
            "template": pod,
        },
    }


def main(argv: list[str]) -> int:
    """``ENV_FILE ORDINAL``: the Job as YAML on stdout; a bad argument is one line on stderr, exit 2."""
    import yaml

    from rudder_ha.config import load_environment
    from rudder_ha.topologies.eks.k8s.from_config import workload_settings

    if len(argv) != 2 or not argv[1].isdigit():
        print("usage: python -m rudder_ha.topologies.eks.k8s.orphan_drain ENV_FILE ORDINAL", file=sys.stderr)
        return 2
    try:
        manifest = job(workload_settings(load_environment(Path(argv[0]))), int(argv[1]))
    except (OSError, ValueError) as exc:
        print(f"{argv[0]}: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(yaml.safe_dump(manifest, sort_keys=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
