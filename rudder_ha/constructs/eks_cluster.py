"""The EKS control plane of the eks topology, its access entries and its add-ons."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.eks_access_entry import EksAccessEntry
from cdktf_cdktf_provider_aws.eks_access_policy_association import (
    EksAccessPolicyAssociation,
    EksAccessPolicyAssociationAccessScope,
)
from cdktf_cdktf_provider_aws.eks_addon import EksAddon, EksAddonPodIdentityAssociation
from cdktf_cdktf_provider_aws.eks_cluster import (
    EksCluster,
    EksClusterAccessConfig,
    EksClusterEncryptionConfig,
    EksClusterEncryptionConfigProvider,
    EksClusterVpcConfig,
)
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from constructs import Construct

from rudder_ha.config.model import EksSettings
from rudder_ha.constructs.naming import policy_json, service_assume_role_policy

CONTROL_PLANE_LOGS = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
MANAGED_POLICY = "arn:aws:iam::aws:policy/"


def pod_identity_trust_policy() -> str:
    """Trust for EKS Pod Identity: the agent assumes the role and tags the session with the pod's identity."""
    return policy_json(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "pods.eks.amazonaws.com"},
                    "Action": ["sts:AssumeRole", "sts:TagSession"],
                }
            ],
        }
    )


@dataclass(frozen=True)
class EksClusterProps:
    """Props of :class:`DataPlaneCluster`."""

    name_prefix: str
    private_subnet_ids: list[str]
    settings: EksSettings
    kms_key_arn: str
    log_retention_days: int = 365


class DataPlaneCluster(Construct):
    """An EKS cluster across the private subnets of every AZ.

    - API authentication mode (access entries only; no aws-auth ConfigMap), no implicit admin for the
      creator: admins are the configured principals;
    - Kubernetes secrets envelope-encrypted with the environment's KMS key; all control-plane log types
      to a KMS-encrypted log group;
    - a private endpoint, public only when configured, and then only from the listed CIDRs;
    - add-ons vpc-cni, coredns, kube-proxy, eks-pod-identity-agent and aws-ebs-csi-driver, the two that
      call AWS APIs through EKS Pod Identity roles of their own.
    """

    def __init__(self, scope: Construct, id_: str, props: EksClusterProps) -> None:
        super().__init__(scope, id_)
        s = props.settings
        self.name = props.name_prefix
        self.log_group = CloudwatchLogGroup(
            self,
            "control_plane_logs",
            name=f"/aws/eks/{self.name}/cluster",
            retention_in_days=props.log_retention_days,
            kms_key_id=props.kms_key_arn,
        )
        role = IamRole(
            self,
            "role",
            name=f"{self.name}-eks-cluster",
            assume_role_policy=service_assume_role_policy("eks.amazonaws.com"),
        )
        IamRolePolicyAttachment(
            self, "role_policy", role=role.name, policy_arn=f"{MANAGED_POLICY}AmazonEKSClusterPolicy"
        )
        self.cluster = EksCluster(
            self,
            "cluster",
            name=self.name,
            version=s.kubernetes_version,
            role_arn=role.arn,
            access_config=EksClusterAccessConfig(
                authentication_mode="API", bootstrap_cluster_creator_admin_permissions=False
            ),
            vpc_config=EksClusterVpcConfig(
                subnet_ids=props.private_subnet_ids,
                endpoint_private_access=True,
                endpoint_public_access=s.endpoint_public_access,
                public_access_cidrs=list(s.public_access_cidrs) if s.endpoint_public_access else None,
            ),
            encryption_config=EksClusterEncryptionConfig(
                resources=["secrets"], provider=EksClusterEncryptionConfigProvider(key_arn=props.kms_key_arn)
            ),
            enabled_cluster_log_types=CONTROL_PLANE_LOGS,
            bootstrap_self_managed_addons=False,
            depends_on=[self.log_group],
        )
        for i, principal in enumerate(s.admin_principal_arns):
            entry = EksAccessEntry(
                self, f"admin_{i}", cluster_name=self.cluster.name, principal_arn=principal, type="STANDARD"
            )
            EksAccessPolicyAssociation(
                self,
                f"admin_{i}_policy",
                cluster_name=self.cluster.name,
                principal_arn=entry.principal_arn,
                policy_arn=CLUSTER_ADMIN_POLICY,
                access_scope=EksAccessPolicyAssociationAccessScope(type="cluster"),
            )
        self.pod_identity_agent = EksAddon(
            self, "addon_pod_identity", cluster_name=self.cluster.name, addon_name="eks-pod-identity-agent"
        )
        self.vpc_cni = self._addon_with_role(
            "vpc_cni", "vpc-cni", "aws-node", [f"{MANAGED_POLICY}AmazonEKS_CNI_Policy"], props.kms_key_arn
        )
        self.ebs_csi = self._addon_with_role(
            "ebs_csi",
            "aws-ebs-csi-driver",
            "ebs-csi-controller-sa",
            [f"{MANAGED_POLICY}service-role/AmazonEBSCSIDriverPolicy"],
            props.kms_key_arn,
            encrypts_volumes=True,
        )
        self.addons = [
            EksAddon(self, f"addon_{name.replace('-', '_')}", cluster_name=self.cluster.name, addon_name=name)
            for name in ("coredns", "kube-proxy")
        ]

    def _addon_with_role(
        self,
        id_: str,
        addon: str,
        service_account: str,
        managed_policies: list[str],
        kms_key_arn: str,
        encrypts_volumes: bool = False,
    ) -> EksAddon:
        role = IamRole(self, f"{id_}_role", name=f"{self.name}-{addon}", assume_role_policy=pod_identity_trust_policy())
        for j, arn in enumerate(managed_policies):
            IamRolePolicyAttachment(self, f"{id_}_policy_{j}", role=role.name, policy_arn=arn)
        if encrypts_volumes:
            # Encrypted volumes (the jobsdb's StorageClass) use the environment key: the driver needs grants.
            IamRolePolicy(
                self,
                f"{id_}_kms",
                role=role.id,
                name="encrypt-volumes",
                policy=policy_json(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "UseVolumeKey",
                                "Effect": "Allow",
                                "Action": [
                                    "kms:CreateGrant",
                                    "kms:Decrypt",
                                    "kms:DescribeKey",
                                    "kms:Encrypt",
                                    "kms:GenerateDataKeyWithoutPlaintext",
                                    "kms:ReEncryptFrom",
                                    "kms:ReEncryptTo",
                                ],
                                "Resource": kms_key_arn,
                            }
                        ],
                    }
                ),
            )
        return EksAddon(
            self,
            f"addon_{id_}",
            cluster_name=self.cluster.name,
            addon_name=addon,
            pod_identity_association=[
                EksAddonPodIdentityAssociation(role_arn=role.arn, service_account=service_account)
            ],
            depends_on=[self.pod_identity_agent],
        )
