"""The project's own Kubernetes definitions of the EKS topology, rendered as plain dicts.

No chart is vendored and nothing here depends on cdktf: ``render(settings)`` returns the manifests
in apply order, ``render_yaml(settings)`` the same as multi-document YAML. A stack applies them
with the kubernetes provider (or ``kubectl apply``) once the cluster has the EBS CSI driver, the
Secrets Store CSI driver with the AWS provider, the EKS Pod Identity agent and the AWS Load
Balancer Controller.
"""

from rudder_ha.topologies.eks.k8s.render import render, render_yaml
from rudder_ha.topologies.eks.k8s.settings import (
    DrainSettings,
    IngressSettings,
    JobsdbVolumeSettings,
    ResourceSettings,
    TransformerScaling,
    WorkloadSettings,
)

__all__ = [
    "DrainSettings",
    "IngressSettings",
    "JobsdbVolumeSettings",
    "ResourceSettings",
    "TransformerScaling",
    "WorkloadSettings",
    "render",
    "render_yaml",
]
