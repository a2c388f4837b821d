"""The Secrets Store CSI driver with its AWS provider, and the backend's Pod Identity role reading the
workspace token, added to a stack as plain resources (no construct of their own, so their resources keep
their construct paths)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import yaml
from cdktf import AssetType, TerraformAsset, TerraformResource
from cdktf_cdktf_provider_helm.release import Release
from constructs import Construct

from rudder_ha.parts.eks_cluster.cdktf import pod_identity_role
from rudder_ha.parts.secrets_store import spec
from rudder_ha.parts.secrets_store.spec import TokenReaderProps

__all__ = ["SecretsStore", "TokenReaderProps", "secret_provider_class", "secrets_store", "token_reader"]


class SecretsStore(NamedTuple):
    """The two Helm releases :func:`secrets_store` adds."""

    driver: Release
    provider: Release


def secrets_store(scope: Construct, id_: str) -> SecretsStore:
    """Adds to ``scope`` the pinned Helm releases ``<id>_csi_driver`` and ``<id>_csi_provider_aws`` (the AWS
    provider after the driver). The scope needs the helm provider configured for the cluster."""
    driver = Release(
        scope,
        f"{id_}_csi_driver",
        name=spec.DRIVER_CHART,
        namespace=spec.NAMESPACE,
        repository=spec.DRIVER_REPOSITORY,
        chart=spec.DRIVER_CHART,
        version=spec.DRIVER_VERSION,
        values=[yaml.safe_dump(spec.driver_values(), sort_keys=True)],
        wait=True,
        atomic=True,
    )
    provider = Release(
        scope,
        f"{id_}_csi_provider_aws",
        name=spec.PROVIDER_CHART,
        namespace=spec.NAMESPACE,
        repository=spec.PROVIDER_REPOSITORY,
        chart=spec.PROVIDER_CHART,
        version=spec.PROVIDER_VERSION,
        values=[yaml.safe_dump(spec.provider_values(), sort_keys=True)],
        wait=True,
        atomic=True,
        depends_on=[driver],
    )
    return SecretsStore(driver, provider)


def secret_provider_class(scope: Construct, id_: str, manifest: dict[str, Any], depends_on: Sequence[Any]) -> Release:
    """Adds to ``scope`` the Helm release ``<id>`` of the local chart (:data:`spec.CLASS_CHART_DIR`, copied into
    the stack as an asset) that applies ``manifest``, a SecretProviderClass, in its namespace. Helm needs the
    class's CRD only when it applies, after ``depends_on`` (the CSI driver and its provider): a
    ``kubernetes_manifest`` would need it already when Terraform plans, so a first deploy could not plan."""
    chart = TerraformAsset(scope, f"{id_}_chart", path=str(spec.CLASS_CHART_DIR), type=AssetType.DIRECTORY)
    return Release(
        scope,
        id_,
        name=spec.CLASS_RELEASE,
        namespace=manifest["metadata"]["namespace"],
        chart=chart.path,
        values=[yaml.safe_dump({"manifest": manifest}, sort_keys=True)],
        wait=True,
        atomic=True,
        depends_on=list(depends_on),
    )


def token_reader(scope: Construct, id_: str, props: TokenReaderProps) -> list[TerraformResource]:
    """Adds to ``scope`` the Pod Identity role (``<id>_role``, ``<id>_policy``, ``<id>_pod_identity``) that
    reads the workspace token and nothing else (but metrics, when ``props.publishes_metrics``), associated
    with ``props.service_account``; returns what a pod of that ServiceAccount must be created after (EKS
    injects credentials only into newer pods)."""
    identity = pod_identity_role(
        scope,
        id_,
        name=spec.token_reader_role_name(props.cluster_name),
        policy=spec.backend_policy(props),
        cluster_name=props.cluster_name,
        namespace=props.namespace,
        service_account=props.service_account,
    )
    return [identity.policy, identity.association]
