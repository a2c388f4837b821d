"""rudder-server: a StatefulSet whose every pod has its own jobsdb, its Services and its disruption budget.

Decisions:

- ``podManagementPolicy: Parallel``. Pods share nothing (each has its own jobsdb), so there is no
  reason to start or stop them one by one. With ``OrderedReady`` one pod that cannot become Ready
  blocks every higher ordinal, and lowering the replica count by N would run N drains of up to the
  grace period one after another. With ``Parallel`` the removed (highest) ordinals drain at the same
  time, each through its own preStop hook, so lowering ``backend_replica_count`` loses nothing and
  takes one drain, not N. Rolling updates are unaffected: ``RollingUpdate`` still replaces one pod
  at a time, highest ordinal first, and waits for the replacement to be Ready (which, with the
  ALB readiness gate of the namespace, means healthy in the target group).
- ``persistentVolumeClaimRetentionPolicy`` Retain/Retain: the claim of a scaled-away ordinal, and
  whatever a drain that ran out of budget left in it, comes back when the ordinal does.
- The liveness probe has its own short ``terminationGracePeriodSeconds``: a hung server is restarted
  within a minute instead of waiting out the drain budget in its preStop hook.
"""

from __future__ import annotations

from typing import Any

from rudder_ha.config.model import GATEWAY_PORT, TRANSFORMER_PORT
from rudder_ha.topologies.eks.k8s import drain, jobsdb, metrics, secrets
from rudder_ha.topologies.eks.k8s.common import (
    BACKEND,
    BACKEND_HEADLESS_SERVICE,
    BACKEND_NAME,
    GATEWAY_SERVICE,
    TMP_DIR,
    TRANSFORMER_NAME,
    Manifest,
    cluster_ip_service,
    container_security_context,
    http_probe,
    labels,
    metadata,
    node_spread,
    pod_security_context,
    selector,
    service_host,
    zone_affinity,
    zone_spread,
)
from rudder_ha.topologies.eks.k8s.settings import WorkloadSettings
from rudder_ha.topologies.eks.k8s.storage import jobsdb_claim_template

BACKEND_TMP_VOLUME = "rudder-tmp"
BACKEND_TMP_DIR = "/data/rudderstack"
SCRATCH_VOLUME = "tmp"
LIVENESS_KILL_GRACE_SECONDS = 60
FILES_DIGEST_ANNOTATION = "rudder-ha/files-sha256"
BACKEND_CONTAINER = "rudder-server"


def backend_env(settings: WorkloadSettings) -> list[dict[str, Any]]:
    """rudder-server's environment: local jobsdb, in-cluster transformer, control plane, token by reference,
    then the environment file's ``rudder.extra_env`` (sorted, so the pods roll only when a value changes)."""
    env: list[dict[str, Any]] = [
        *jobsdb.jobsdb_env(),
        {
            "name": "DEST_TRANSFORM_URL",
            "value": f"http://{service_host(TRANSFORMER_NAME, settings)}:{TRANSFORMER_PORT}",
        },
        {"name": "CONFIG_BACKEND_URL", "value": settings.control_plane_url},
        secrets.token_env(),
        {"name": "RUDDER_TMPDIR", "value": BACKEND_TMP_DIR},
        # The Go runtime schedules as many threads as the CPU limit lets run (limits.cpu, rounded up).
        {
            "name": "GOMAXPROCS",
            "valueFrom": {
                "resourceFieldRef": {"containerName": BACKEND_CONTAINER, "resource": "limits.cpu", "divisor": "1"}
            },
        },
        # the uid has no passwd entry: anything written under $HOME lands on the scratch emptyDir
        {"name": "HOME", "value": TMP_DIR},
    ]
    taken = {variable["name"] for variable in env}
    clashes = sorted(taken & set(settings.extra_env))
    if clashes:
        raise ValueError(f"extra_env: {', '.join(clashes)} is set by rudder-ha itself; remove it")
    return [*env, *({"name": name, "value": value} for name, value in sorted(settings.extra_env.items()))]


def backend_container(settings: WorkloadSettings) -> dict[str, Any]:
    """The rudder-server container: gateway on 8080, probes on /health, the drain preStop hook."""
    return {
        "name": BACKEND_CONTAINER,
        "image": settings.backend_image,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": GATEWAY_PORT, "protocol": "TCP"}],
        "env": backend_env(settings),
        # The gateway listens only once the workspace config and transformer features have loaded.
        "startupProbe": http_probe(GATEWAY_PORT, period=10, timeout=5, failures=60),
        "readinessProbe": http_probe(GATEWAY_PORT, period=5, timeout=3, failures=2),
        "livenessProbe": {
            **http_probe(GATEWAY_PORT, period=10, timeout=5, failures=6),
            "terminationGracePeriodSeconds": LIVENESS_KILL_GRACE_SECONDS,
        },
        "lifecycle": {"preStop": {"exec": {"command": drain.prestop_command(settings)}}},
        "resources": settings.backend_resources.to_k8s(),
        "securityContext": container_security_context(settings.backend_uid),
        "volumeMounts": [
            jobsdb.socket_mount(),
            drain.handshake_mount(),
            drain.files_mount(),
            {"name": BACKEND_TMP_VOLUME, "mountPath": BACKEND_TMP_DIR},
            {"name": SCRATCH_VOLUME, "mountPath": TMP_DIR},
            {"name": secrets.TOKEN_VOLUME, "mountPath": secrets.TOKEN_MOUNT_PATH, "readOnly": True},
        ],
    }


def pod_template(settings: WorkloadSettings) -> dict[str, Any]:
    """The backend pod: PostgreSQL, the drain agent and (where metrics are published) the backlog publisher
    as native sidecars, then rudder-server."""
    return {
        "metadata": {
            "labels": labels(BACKEND),
            "annotations": {FILES_DIGEST_ANNOTATION: drain.files_digest(settings)},
        },
        "spec": {
            "serviceAccountName": BACKEND_NAME,
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "terminationGracePeriodSeconds": settings.termination_grace_period_seconds,
            # fsGroup = the postgres user's group, so PostgreSQL (non-root) can initialise the volume.
            "securityContext": pod_security_context(settings.backend_uid, fs_group=settings.postgres_uid),
            "initContainers": [
                jobsdb.postgres_sidecar(settings, drain.FILES_VOLUME, drain.FILES_MOUNT),
                drain.drain_agent_sidecar(settings),
                *([metrics.sidecar(settings)] if settings.metrics_environment is not None else []),
            ],
            "containers": [backend_container(settings)],
            "affinity": zone_affinity(settings, BACKEND),
            "topologySpreadConstraints": [
                zone_spread(BACKEND, min_domains=min(settings.backend_replica_count, len(settings.zones))),
                node_spread(BACKEND),
            ],
            "volumes": [
                *jobsdb.volumes(),
                *drain.volumes(),
                *(metrics.volumes() if settings.metrics_environment is not None else []),
                {"name": BACKEND_TMP_VOLUME, "emptyDir": {"sizeLimit": settings.backend_tmp_size}},
                {"name": SCRATCH_VOLUME, "emptyDir": {"sizeLimit": "1Gi"}},
                secrets.token_volume(),
            ],
        },
    }


def statefulset(settings: WorkloadSettings) -> Manifest:
    """The backend StatefulSet."""
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": metadata(BACKEND_NAME, settings, BACKEND),
        "spec": {
            "serviceName": BACKEND_HEADLESS_SERVICE,
            "replicas": settings.backend_replica_count,
            "podManagementPolicy": "Parallel",
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
            "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
            "revisionHistoryLimit": 10,
            "minReadySeconds": 10,
            "selector": {"matchLabels": selector(BACKEND)},
            "template": pod_template(settings),
            "volumeClaimTemplates": [jobsdb_claim_template(settings)],
        },
    }


def headless_service(settings: WorkloadSettings) -> Manifest:
    """The StatefulSet's governing Service: stable DNS names for every backend pod."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(BACKEND_HEADLESS_SERVICE, settings, BACKEND),
        "spec": {
            "clusterIP": "None",
            "publishNotReadyAddresses": True,
            "selector": selector(BACKEND),
            "ports": [{"name": "http", "port": GATEWAY_PORT, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def gateway_service(settings: WorkloadSettings) -> Manifest:
    """The gateway's ClusterIP Service: what the Ingress targets (ALB target type ip: the pod IPs)."""
    return cluster_ip_service(GATEWAY_SERVICE, settings, BACKEND, GATEWAY_PORT)


def disruption_budget(settings: WorkloadSettings) -> Manifest:
    """At most one backend pod voluntarily down at a time (each eviction still drains first).

    ``AlwaysAllow`` lets a node drain evict a pod that is not Ready instead of blocking forever;
    the evicted pod still runs its preStop drain.
    """
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": metadata(BACKEND_NAME, settings, BACKEND),
        "spec": {
            "maxUnavailable": 1,
            "selector": {"matchLabels": selector(BACKEND)},
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
        },
    }


def manifests(settings: WorkloadSettings) -> list[Manifest]:
    """The backend's objects in apply order (Services before the StatefulSet that names one)."""
    return [
        headless_service(settings),
        gateway_service(settings),
        statefulset(settings),
        disruption_budget(settings),
    ]
