"""The Secrets Store CSI driver and its AWS provider (the eks topology's way of handing the workspace token
to the backend's pods), and the backend's read of that token: chart pins, Helm values, and the IAM policy
of the backend's EKS Pod Identity role, shared with :mod:`rudder_ha.parts.secrets_store.cdktf`. cdktf only
(the eks topology has no Pulumi renderer), hence no ``PART``; nothing here imports a front end."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rudder_ha.common.policies import allow_statement
from rudder_ha.config.model import SecretRef
from rudder_ha.parts.alerting.spec import put_metric_data_statement
from rudder_ha.parts.eks_cluster.spec import KUBE_SYSTEM, POD_IDENTITY_SERVICE

NAMESPACE = KUBE_SYSTEM

DRIVER_REPOSITORY = "https://kubernetes-sigs.github.io/secrets-store-csi-driver/charts"
DRIVER_CHART = "secrets-store-csi-driver"
DRIVER_VERSION = "1.6.1"
PROVIDER_REPOSITORY = "https://aws.github.io/secrets-store-csi-driver-provider-aws"
PROVIDER_CHART = "secrets-store-csi-driver-provider-aws"
PROVIDER_VERSION = "3.1.4"

CLASS_CHART_DIR = Path(__file__).resolve().parent / "chart"
"""The local chart that applies the workspace token's SecretProviderClass (no CRD needed at plan time)."""
CLASS_RELEASE = "rudder-workspace-token"

POD_IDENTITY_AUDIENCE = POD_IDENTITY_SERVICE
"""The driver requests a ServiceAccount token for this audience; the AWS provider exchanges it with
EKS Auth (Pod Identity) for the backend role's credentials."""


@dataclass(frozen=True)
class TokenReaderProps:
    """Props of :func:`rudder_ha.parts.secrets_store.cdktf.token_reader`. Values may be Terraform tokens."""

    cluster_name: str
    namespace: str
    service_account: str
    """The ServiceAccount (in ``namespace``) whose pods mount the token."""
    token: SecretRef
    region: str
    partition: str
    account: str
    publishes_metrics: bool = False
    """The pods also publish metrics (namespace ``RudderHA`` only): the backend's backlog sidecar."""


def driver_values() -> dict[str, Any]:
    """The driver chart's values: secrets synced to Kubernetes Secrets, Pod Identity tokens requested."""
    return {
        "syncSecret": {"enabled": True},
        "tokenRequests": [{"audience": POD_IDENTITY_AUDIENCE}],
    }


def provider_values() -> dict[str, Any]:
    """The AWS provider chart's values: its chart can install a driver of its own; the driver release is
    the only one."""
    return {"secrets-store-csi-driver": {"install": False}}


def token_reader_role_name(cluster_name: str) -> str:
    """The backend's Pod Identity role."""
    return f"{cluster_name}-backend"


def token_read_policy(token: SecretRef, partition: str, region: str, account: str) -> dict:
    """The backend's role: read the workspace token and nothing else (plus its key, through that service).

    The AWS provider of the CSI driver fetches Parameter Store objects with ``GetParameters`` (a
    batch call); ``GetParameter`` is granted on the same one parameter for manual checks.
    """
    if token.ssm_parameter:
        parameter = f"arn:{partition}:ssm:{region}:{account}:parameter{token.ssm_parameter}"
        statements = [allow_statement("ReadWorkspaceToken", ["ssm:GetParameter", "ssm:GetParameters"], parameter)]
    else:
        statements = [
            allow_statement("ReadWorkspaceToken", ["secretsmanager:GetSecretValue"], token.secrets_manager_arn)
        ]
    if token.kms_key_arn:
        statements.append(
            allow_statement(
                "DecryptWorkspaceToken",
                ["kms:Decrypt"],
                token.kms_key_arn,
                {"StringEquals": {"kms:ViaService": f"{token.kind}.{region}.amazonaws.com"}},
            )
        )
    return {"Version": "2012-10-17", "Statement": statements}


def backend_policy(props: TokenReaderProps) -> dict:
    """:func:`token_read_policy`, plus publishing to the ``RudderHA`` namespace when ``props`` says so."""
    policy = token_read_policy(props.token, props.partition, props.region, props.account)
    if props.publishes_metrics:
        policy["Statement"].append(put_metric_data_statement("PublishBacklogMetrics"))
    return policy
