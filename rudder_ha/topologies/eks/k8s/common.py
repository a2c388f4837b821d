"""Names, labels and building blocks shared by the manifest modules."""

from __future__ import annotations

import re
from typing import Any

from rudder_ha.config.model import HEALTH_PATH
from rudder_ha.topologies.eks.k8s.settings import WorkloadSettings

Manifest = dict[str, Any]

APP_NAME = "rudderstack"
BACKEND = "backend"
TRANSFORMER = "transformer"

BACKEND_NAME = "rudder-backend"
BACKEND_HEADLESS_SERVICE = "rudder-backend-headless"
GATEWAY_SERVICE = "rudder-gateway"
TRANSFORMER_NAME = "rudder-transformer"
INGRESS_NAME = "rudder-gateway"
FILES_CONFIGMAP = "rudder-backend-files"
TOKEN_PROVIDER_CLASS = "rudder-workspace-token"  # noqa: S105 - an object name, not a secret
TOKEN_SECRET = "rudder-workspace-token"  # noqa: S105 - an object name, not a secret
"""The Kubernetes Secret the CSI driver syncs the workspace token into."""
TOKEN_SECRET_KEY = "workspace-token"  # noqa: S105 - a key name, not a secret

TMP_DIR = "/tmp"  # noqa: S108 - where containers mount a pod-private emptyDir

ZONE_KEY = "topology.kubernetes.io/zone"
HOSTNAME_KEY = "kubernetes.io/hostname"


def manifest_id(manifest: Manifest) -> str:
    """The construct id of a manifest: ``k8s_<kind>_<namespace>_<name>`` (``cluster`` for cluster-scoped
    objects), lowercase, non-alphanumerics as ``_``. A contract: changing it replaces the object."""
    meta = manifest["metadata"]
    parts = [manifest["kind"], meta.get("namespace", "cluster"), meta["name"]]
    return "k8s_" + "_".join(re.sub(r"[^a-z0-9]+", "_", p.lower()).strip("_") for p in parts)


def labels(component: str) -> dict[str, str]:
    """Every label of a component's objects and pods."""
    return {
        "app.kubernetes.io/name": APP_NAME,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": "rudder-ha",
        "app.kubernetes.io/managed-by": "rudder-ha",
    }


def selector(component: str) -> dict[str, str]:
    """The labels that select a component's pods (a subset of ``labels``; never changes)."""
    return {"app.kubernetes.io/name": APP_NAME, "app.kubernetes.io/component": component}


def metadata(name: str, settings: WorkloadSettings, component: str, **extra: Any) -> dict[str, Any]:
    """Namespaced object metadata with the component's labels."""
    return {"name": name, "namespace": settings.namespace, "labels": labels(component), **extra}


def pod_security_context(uid: int, fs_group: int | None = None) -> dict[str, Any]:
    """Pod-level security context that satisfies the ``restricted`` Pod Security Standard."""
    context: dict[str, Any] = {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    if fs_group is not None:
        context["fsGroup"] = fs_group
        context["fsGroupChangePolicy"] = "OnRootMismatch"
    return context


def container_security_context(uid: int, read_only_root: bool = True) -> dict[str, Any]:
    """Container-level security context: non-root, no capabilities, no privilege escalation."""
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": read_only_root,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def http_probe(
    port: int, *, period: int, timeout: int, failures: int, path: str = HEALTH_PATH, initial_delay: int = 0
) -> dict[str, Any]:
    """An HTTP GET probe."""
    probe: dict[str, Any] = {
        "httpGet": {"path": path, "port": port, "scheme": "HTTP"},
        "periodSeconds": period,
        "timeoutSeconds": timeout,
        "failureThreshold": failures,
        "successThreshold": 1,
    }
    if initial_delay:
        probe["initialDelaySeconds"] = initial_delay
    return probe


def zone_affinity(settings: WorkloadSettings, component: str) -> dict[str, Any]:
    """Only nodes in the environment's zones; preferably not two pods of a component on one node."""
    return {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": ZONE_KEY, "operator": "In", "values": list(settings.zones)}]}
                ]
            }
        },
        "podAntiAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {
                    "weight": 100,
                    "podAffinityTerm": {
                        "topologyKey": HOSTNAME_KEY,
                        "labelSelector": {"matchLabels": selector(component)},
                    },
                }
            ]
        },
    }


def zone_spread(component: str, *, min_domains: int | None = None, match_label_keys: tuple[str, ...] = ()) -> Manifest:
    """A hard spread across zones: at most one pod more in any zone than in the emptiest one."""
    constraint: Manifest = {
        "maxSkew": 1,
        "topologyKey": ZONE_KEY,
        "whenUnsatisfiable": "DoNotSchedule",
        "labelSelector": {"matchLabels": selector(component)},
    }
    if min_domains is not None and min_domains > 1:
        constraint["minDomains"] = min_domains
    if match_label_keys:
        constraint["matchLabelKeys"] = list(match_label_keys)
    return constraint


def node_spread(component: str) -> Manifest:
    """A soft spread across nodes (the scheduler prefers it but still schedules when it cannot)."""
    return {
        "maxSkew": 1,
        "topologyKey": HOSTNAME_KEY,
        "whenUnsatisfiable": "ScheduleAnyway",
        "labelSelector": {"matchLabels": selector(component)},
    }


def service_host(name: str, settings: WorkloadSettings) -> str:
    """The cluster DNS name of a Service."""
    return f"{name}.{settings.namespace}.svc.cluster.local"


def cluster_ip_service(name: str, settings: WorkloadSettings, component: str, port: int) -> Manifest:
    """A ClusterIP Service exposing a component's ``http`` container port."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(name, settings, component),
        "spec": {
            "type": "ClusterIP",
            "selector": selector(component),
            "ports": [{"name": "http", "port": port, "targetPort": "http", "protocol": "TCP"}],
        },
    }
