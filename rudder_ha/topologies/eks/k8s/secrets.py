"""The workspace token: fetched by the Secrets Store CSI driver (AWS provider, EKS Pod Identity).

The manifests only name where the token lives (a Secrets Manager ARN or an SSM parameter name). The
CSI driver fetches it when a backend pod mounts the volume and syncs it into the Kubernetes Secret
``rudder-workspace-token``, from which rudder-server's ``WORKSPACE_TOKEN`` is read. The value never
appears in a manifest, in Terraform state or in this repository.
"""

from __future__ import annotations

from typing import Any

import yaml

from rudder_ha.topologies.eks.k8s.common import (
    BACKEND,
    TOKEN_PROVIDER_CLASS,
    TOKEN_SECRET,
    TOKEN_SECRET_KEY,
    Manifest,
    labels,
    metadata,
)
from rudder_ha.topologies.eks.k8s.settings import WorkloadSettings

CSI_DRIVER = "secrets-store.csi.k8s.io"
TOKEN_VOLUME = "workspace-token"  # noqa: S105 - a volume name, not a secret
TOKEN_MOUNT_PATH = "/mnt/secrets-store/rudder"  # noqa: S105 - a path, not a secret


def token_object(settings: WorkloadSettings) -> dict[str, str]:
    """The ASCP ``objects`` entry for the token; the alias is the file name and the synced key."""
    ref = settings.workspace_token
    if ref.secrets_manager_arn:
        return {"objectName": ref.secrets_manager_arn, "objectType": "secretsmanager", "objectAlias": TOKEN_SECRET_KEY}
    assert ref.ssm_parameter is not None  # WorkloadSettings guarantees exactly one
    return {"objectName": ref.ssm_parameter, "objectType": "ssmparameter", "objectAlias": TOKEN_SECRET_KEY}


def secret_provider_class(settings: WorkloadSettings) -> Manifest:
    """SecretProviderClass for the AWS provider, authenticating with EKS Pod Identity."""
    objects = yaml.safe_dump([token_object(settings)], sort_keys=False, default_flow_style=False)
    return {
        "apiVersion": "secrets-store.csi.x-k8s.io/v1",
        "kind": "SecretProviderClass",
        "metadata": metadata(TOKEN_PROVIDER_CLASS, settings, BACKEND),
        "spec": {
            "provider": "aws",
            "parameters": {"region": settings.region, "usePodIdentity": "true", "objects": objects},
            "secretObjects": [
                {
                    "secretName": TOKEN_SECRET,
                    "type": "Opaque",
                    "labels": labels(BACKEND),
                    "data": [{"objectName": TOKEN_SECRET_KEY, "key": TOKEN_SECRET_KEY}],
                }
            ],
        },
    }


def token_volume() -> dict[str, Any]:
    """The pod volume whose mount makes the driver fetch the token and create the synced Secret."""
    return {
        "name": TOKEN_VOLUME,
        "csi": {
            "driver": CSI_DRIVER,
            "readOnly": True,
            "volumeAttributes": {"secretProviderClass": TOKEN_PROVIDER_CLASS},
        },
    }


def token_env() -> dict[str, Any]:
    """rudder-server's WORKSPACE_TOKEN, by reference to the synced Secret."""
    return {
        "name": "WORKSPACE_TOKEN",
        "valueFrom": {"secretKeyRef": {"name": TOKEN_SECRET, "key": TOKEN_SECRET_KEY}},
    }
