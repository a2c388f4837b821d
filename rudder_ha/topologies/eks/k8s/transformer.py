"""rudder-transformer: a stateless Deployment on port 9090, its Service, autoscaler and disruption budget."""

from __future__ import annotations

from typing import Any

from rudder_ha.config.model import TRANSFORMER_PORT
from rudder_ha.topologies.eks.k8s.common import (
    TMP_DIR,
    TRANSFORMER,
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
    zone_affinity,
    zone_spread,
)
from rudder_ha.topologies.eks.k8s.settings import WorkloadSettings

TERMINATION_GRACE_SECONDS = 60
NODE_HOME = "/home/node"
PRESTOP_SLEEP_SECONDS = 10
"""Keeps a terminating pod serving while kube-proxy on every node drops it from the Service."""


def container(settings: WorkloadSettings) -> dict[str, Any]:
    """The transformer container (a uid of its own, see ``transformer_uid``; npm's cache and /tmp on emptyDirs)."""
    return {
        "name": "rudder-transformer",
        "image": settings.transformer_image,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": TRANSFORMER_PORT, "protocol": "TCP"}],
        "startupProbe": http_probe(TRANSFORMER_PORT, period=5, timeout=3, failures=60),
        "readinessProbe": http_probe(TRANSFORMER_PORT, period=5, timeout=3, failures=2),
        "livenessProbe": http_probe(TRANSFORMER_PORT, period=10, timeout=5, failures=6),
        "lifecycle": {"preStop": {"sleep": {"seconds": PRESTOP_SLEEP_SECONDS}}},
        # The uid has no passwd entry: npm (the image's command is ``npm start``) keeps its logs under
        # $HOME/.npm, the npm emptyDir.
        "env": [{"name": "HOME", "value": NODE_HOME}],
        "resources": settings.transformer_resources.to_k8s(),
        "securityContext": container_security_context(settings.transformer_uid),
        "volumeMounts": [
            {"name": "tmp", "mountPath": TMP_DIR},
            {"name": "npm", "mountPath": f"{NODE_HOME}/.npm"},
        ],
    }


def deployment(settings: WorkloadSettings) -> Manifest:
    """The Deployment; its replica count is left to the HorizontalPodAutoscaler."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(TRANSFORMER_NAME, settings, TRANSFORMER),
        "spec": {
            "revisionHistoryLimit": 5,
            "minReadySeconds": 5,
            "selector": {"matchLabels": selector(TRANSFORMER)},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": labels(TRANSFORMER)},
                "spec": {
                    "serviceAccountName": TRANSFORMER_NAME,
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "terminationGracePeriodSeconds": TERMINATION_GRACE_SECONDS,
                    "securityContext": pod_security_context(settings.transformer_uid),
                    "containers": [container(settings)],
                    "affinity": zone_affinity(settings, TRANSFORMER),
                    "topologySpreadConstraints": [
                        # pod-template-hash: during a rollout only the new ReplicaSet's pods count.
                        zone_spread(TRANSFORMER, match_label_keys=("pod-template-hash",)),
                        node_spread(TRANSFORMER),
                    ],
                    "volumes": [
                        {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}},
                        {"name": "npm", "emptyDir": {"sizeLimit": "256Mi"}},
                    ],
                },
            },
        },
    }


def service(settings: WorkloadSettings) -> Manifest:
    """The ClusterIP Service the backend's DEST_TRANSFORM_URL points at."""
    return cluster_ip_service(TRANSFORMER_NAME, settings, TRANSFORMER, TRANSFORMER_PORT)


def autoscaler(settings: WorkloadSettings) -> Manifest:
    """autoscaling/v2 on CPU utilisation of the requests; scale-down is slow and gradual."""
    scaling = settings.transformer_scaling
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": metadata(TRANSFORMER_NAME, settings, TRANSFORMER),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": TRANSFORMER_NAME},
            "minReplicas": scaling.min_replicas,
            "maxReplicas": scaling.max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": scaling.target_cpu_utilization_percent},
                    },
                }
            ],
            "behavior": {
                "scaleDown": {
                    "stabilizationWindowSeconds": scaling.scale_down_stabilization_seconds,
                    "selectPolicy": "Min",
                    "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}],
                },
            },
        },
    }


def disruption_budget(settings: WorkloadSettings) -> Manifest:
    """At most one transformer pod voluntarily down at a time."""
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": metadata(TRANSFORMER_NAME, settings, TRANSFORMER),
        "spec": {
            "maxUnavailable": 1,
            "selector": {"matchLabels": selector(TRANSFORMER)},
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
        },
    }


def manifests(settings: WorkloadSettings) -> list[Manifest]:
    """The transformer's objects in apply order (before the backend, which needs it to start)."""
    return [service(settings), deployment(settings), autoscaler(settings), disruption_budget(settings)]
