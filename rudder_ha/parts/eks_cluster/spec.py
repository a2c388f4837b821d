"""Names, settings and policy documents of the eks topology's control plane, shared with its cdktf construct
(:mod:`rudder_ha.parts.eks_cluster.cdktf`). The EKS parts have no Pulumi renderer, hence no ``PART``.

Also the EKS Pod Identity trust every pod role of the topology uses (add-ons, the Load Balancer Controller,
the backend), and the namespace the cluster's add-ons run in. Nothing here imports a front end."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rudder_ha.common.policies import allow_statement
from rudder_ha.config.model import EksSettings

CLUSTER_SERVICE = "eks.amazonaws.com"
"""The service that assumes the cluster role."""
CLUSTER_POLICY = "AmazonEKSClusterPolicy"
AUTHENTICATION_MODE = "API"
"""Access entries only, no aws-auth ConfigMap."""
CONTROL_PLANE_LOGS = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
ENCRYPTED_RESOURCES = ["secrets"]
"""What the environment's KMS key envelope-encrypts."""
CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
ACCESS_ENTRY_TYPE = "STANDARD"
MANAGED_POLICY = "arn:aws:iam::aws:policy/"
"""The ARN prefix of AWS managed IAM policies."""
KUBE_SYSTEM = "kube-system"
"""The namespace of the cluster's add-ons and controllers."""

POD_IDENTITY_SERVICE = "pods.eks.amazonaws.com"
"""The service principal of EKS Pod Identity (also the audience of the tokens it exchanges)."""
POD_IDENTITY_AGENT = "eks-pod-identity-agent"
PLAIN_ADDONS = ("coredns", "kube-proxy")
"""Add-ons that call no AWS API, installed once nodes run."""

VOLUME_KEY_POLICY_NAME = "encrypt-volumes"
VOLUME_KEY_ACTIONS = [
    "kms:CreateGrant",
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
]


@dataclass(frozen=True)
class EksClusterProps:
    """Props of :class:`rudder_ha.parts.eks_cluster.cdktf.DataPlaneCluster`."""

    name_prefix: str
    private_subnet_ids: list[str]
    settings: EksSettings
    kms_key_arn: str
    log_retention_days: int = 365
    """The control plane's and Container Insights' log groups."""


@dataclass(frozen=True)
class AddonRole:
    """An add-on that calls AWS APIs through an EKS Pod Identity role of its own."""

    id: str
    """The construct id stem: ``<id>_role``, ``<id>_policy_<j>``, ``<id>_kms``, ``addon_<id>``."""
    addon: str
    service_account: str
    managed_policies: tuple[str, ...]
    encrypts_volumes: bool = False
    """Encrypted volumes (the jobsdb's StorageClass) use the environment key: the driver needs grants."""
    configuration: dict[str, Any] | None = None
    """The add-on's configuration values (its own JSON schema, ``aws eks describe-addon-configuration``)."""

    def role_name(self, cluster_name: str) -> str:
        """The add-on role's name."""
        return f"{cluster_name}-{self.addon}"


VPC_CNI = AddonRole(
    id="vpc_cni",
    addon="vpc-cni",
    service_account="aws-node",
    managed_policies=(f"{MANAGED_POLICY}AmazonEKS_CNI_Policy",),
    # The CNI's network policy agent enforces the namespace's NetworkPolicies; without it EKS accepts them
    # and enforces nothing.
    configuration={"enableNetworkPolicy": "true"},
)
EBS_CSI = AddonRole(
    id="ebs_csi",
    addon="aws-ebs-csi-driver",
    service_account="ebs-csi-controller-sa",
    managed_policies=(f"{MANAGED_POLICY}service-role/AmazonEBSCSIDriverPolicy",),
    encrypts_volumes=True,
)


CLOUDWATCH_OBSERVABILITY = "amazon-cloudwatch-observability"
"""The EKS add-on AWS documents for Container Insights on EKS (with enhanced observability, its default): the
CloudWatch agent publishes node, pod and container metrics (namespace ``ContainerInsights``) and Fluent Bit
ships the containers' logs, both as DaemonSets."""
CLOUDWATCH_AGENT_SERVICE_ACCOUNT = "cloudwatch-agent"
"""The add-on's ServiceAccount (namespace ``amazon-cloudwatch``), used by its agent and its Fluent Bit."""
CONTAINER_INSIGHTS_LOG_GROUPS = ("performance", "application", "dataplane", "host")
"""``/aws/containerinsights/<cluster>/<kind>``: metrics as embedded-metric-format events (``performance``),
the containers' stdout and stderr (``application``), node and kubelet logs."""
CLOUDWATCH_AGENT_POLICY_NAME = "container-insights"


def container_insights_log_group(cluster_name: str, kind: str) -> str:
    """Where the observability add-on writes ``kind`` (one of :data:`CONTAINER_INSIGHTS_LOG_GROUPS`)."""
    return f"/aws/containerinsights/{cluster_name}/{kind}"


def cloudwatch_agent_policy(log_group_arns: list[str]) -> dict[str, Any]:
    """The observability add-on's Pod Identity role: write to its pre-created (encrypted) log groups only, and
    look up the instances it reports on. Instead of ``CloudWatchAgentServerPolicy``, whose log and SSM
    statements name no resource: the groups exist, so the agent needs no ``logs:CreateLogGroup``."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            allow_statement(
                "WriteContainerInsightsLogs",
                ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                [*log_group_arns, *(f"{arn}:log-stream:*" for arn in log_group_arns)],
            ),
            allow_statement("DescribeNodes", ["ec2:DescribeInstances", "ec2:DescribeTags"], "*"),
        ],
    }


def managed_policy_arn(policy: str) -> str:
    """The ARN of an AWS managed IAM policy."""
    return f"{MANAGED_POLICY}{policy}"


def log_group_name(cluster_name: str) -> str:
    """The control-plane log group (the name EKS writes to)."""
    return f"/aws/eks/{cluster_name}/cluster"


def cluster_role_name(cluster_name: str) -> str:
    """The control plane's IAM role."""
    return f"{cluster_name}-eks-cluster"


def addon_id(addon: str) -> str:
    """The construct id of an add-on without a role: ``addon_<name>``, ``-`` as ``_``."""
    return f"addon_{addon.replace('-', '_')}"


def vpc_config(settings: EksSettings) -> dict[str, Any]:
    """The cluster's endpoint settings, besides its subnets: private always, public only when configured,
    and then only from the listed CIDRs."""
    return {
        "endpoint_private_access": True,
        "endpoint_public_access": settings.endpoint_public_access,
        "public_access_cidrs": list(settings.public_access_cidrs) if settings.endpoint_public_access else None,
    }


def pod_identity_trust_policy() -> dict[str, Any]:
    """Trust for EKS Pod Identity: the agent assumes the role and tags the session with the pod's identity."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": POD_IDENTITY_SERVICE},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
            }
        ],
    }


def volume_key_policy(kms_key_arn: str) -> dict[str, Any]:
    """The EBS CSI driver's use of the environment key for encrypted volumes."""
    return {
        "Version": "2012-10-17",
        "Statement": [allow_statement("UseVolumeKey", VOLUME_KEY_ACTIONS, kms_key_arn)],
    }
