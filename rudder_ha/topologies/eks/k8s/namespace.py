"""The namespace (Pod Security ``restricted``, ALB readiness gates) and the workloads' ServiceAccounts."""

from __future__ import annotations

from rudder_ha.topologies.eks.k8s.common import (
    BACKEND,
    BACKEND_NAME,
    TRANSFORMER,
    TRANSFORMER_NAME,
    Manifest,
    labels,
    metadata,
)
from rudder_ha.topologies.eks.k8s.settings import WorkloadSettings

READINESS_GATE_LABEL = "elbv2.k8s.aws/pod-readiness-gate-inject"
"""Makes the AWS Load Balancer Controller add a readiness gate to every pod behind an ALB target
group: a new pod only counts as Ready once the ALB sees it healthy, so a rolling update never takes
the next old pod down before its replacement receives traffic."""


def namespace(settings: WorkloadSettings) -> Manifest:
    """The namespace, enforcing the ``restricted`` Pod Security Standard of the cluster's version."""
    version = f"v{settings.kubernetes_version}"
    pod_security = {}
    for mode in ("enforce", "audit", "warn"):
        pod_security[f"pod-security.kubernetes.io/{mode}"] = "restricted"
        pod_security[f"pod-security.kubernetes.io/{mode}-version"] = version
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": settings.namespace,
            "labels": {**labels("namespace"), **pod_security, READINESS_GATE_LABEL: "enabled"},
        },
    }


def service_account(name: str, component: str, settings: WorkloadSettings) -> Manifest:
    """A ServiceAccount whose API token is not mounted into pods.

    AWS access goes through EKS Pod Identity (an association of this namespace/ServiceAccount with an
    IAM role, made by the stack, no annotation here); the Secrets Store CSI driver requests its own
    token for the ServiceAccount, so no container needs the Kubernetes API token.
    """
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": metadata(name, settings, component),
        "automountServiceAccountToken": False,
    }


def service_accounts(settings: WorkloadSettings) -> list[Manifest]:
    """The backend's (reads the workspace token) and the transformer's (no AWS access)."""
    return [
        service_account(BACKEND_NAME, BACKEND, settings),
        service_account(TRANSFORMER_NAME, TRANSFORMER, settings),
    ]
