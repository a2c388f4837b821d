"""The EKS control plane of the eks topology, its access entries and its add-ons; and
:func:`pod_identity_role`, the Pod Identity role trio every pod role of the topology is made of."""

from __future__ import annotations

import json
from typing import NamedTuple

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
from cdktf_cdktf_provider_aws.eks_pod_identity_association import EksPodIdentityAssociation
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from constructs import Construct

from rudder_ha.frontends.cdktf.naming import policy_json, service_assume_role_policy
from rudder_ha.parts.eks_cluster import spec
from rudder_ha.parts.eks_cluster.spec import AddonRole, EksClusterProps

__all__ = ["DataPlaneCluster", "EksClusterProps", "PodIdentityRole", "pod_identity_role"]


class PodIdentityRole(NamedTuple):
    """What :func:`pod_identity_role` adds."""

    role: IamRole
    policy: IamRolePolicy
    association: EksPodIdentityAssociation


def pod_identity_role(
    scope: Construct,
    id_: str,
    *,
    name: str,
    policy: dict,
    cluster_name: str,
    namespace: str,
    service_account: str,
) -> PodIdentityRole:
    """Adds to ``scope`` (no construct of its own: ``<id>_role``, ``<id>_policy``, ``<id>_pod_identity``) a
    role only EKS Pod Identity can assume, its inline policy (named ``id_`` with ``-`` for ``_``), and its
    association with a namespace/ServiceAccount (the agent hands pods of that ServiceAccount its credentials).
    """
    role = IamRole(scope, f"{id_}_role", name=name, assume_role_policy=policy_json(spec.pod_identity_trust_policy()))
    inline = IamRolePolicy(scope, f"{id_}_policy", role=role.id, name=id_.replace("_", "-"), policy=policy_json(policy))
    association = EksPodIdentityAssociation(
        scope,
        f"{id_}_pod_identity",
        cluster_name=cluster_name,
        namespace=namespace,
        service_account=service_account,
        role_arn=role.arn,
    )
    return PodIdentityRole(role, inline, association)


class DataPlaneCluster(Construct):
    """An EKS cluster across the private subnets of every AZ.

    - API authentication mode (access entries only; no aws-auth ConfigMap), no implicit admin for the
      creator: admins are the configured principals;
    - Kubernetes secrets envelope-encrypted with the environment's KMS key; all control-plane log types
      to a KMS-encrypted log group;
    - a private endpoint, public only when configured, and then only from the listed CIDRs;
    - add-ons vpc-cni, coredns, kube-proxy, eks-pod-identity-agent, aws-ebs-csi-driver and
      amazon-cloudwatch-observability (Container Insights), the three that call AWS APIs through EKS Pod
      Identity roles of their own; the last one writes to KMS-encrypted log groups made here first.
    """

    def __init__(self, scope: Construct, id_: str, props: EksClusterProps) -> None:
        super().__init__(scope, id_)
        s = props.settings
        self.name = props.name_prefix
        self.log_group = CloudwatchLogGroup(
            self,
            "control_plane_logs",
            name=spec.log_group_name(self.name),
            retention_in_days=props.log_retention_days,
            kms_key_id=props.kms_key_arn,
        )
        role = IamRole(
            self,
            "role",
            name=spec.cluster_role_name(self.name),
            assume_role_policy=service_assume_role_policy(spec.CLUSTER_SERVICE),
        )
        IamRolePolicyAttachment(
            self, "role_policy", role=role.name, policy_arn=spec.managed_policy_arn(spec.CLUSTER_POLICY)
        )
        self.cluster = EksCluster(
            self,
            "cluster",
            name=self.name,
            version=s.kubernetes_version,
            role_arn=role.arn,
            access_config=EksClusterAccessConfig(
                authentication_mode=spec.AUTHENTICATION_MODE, bootstrap_cluster_creator_admin_permissions=False
            ),
            vpc_config=EksClusterVpcConfig(subnet_ids=props.private_subnet_ids, **spec.vpc_config(s)),
            encryption_config=EksClusterEncryptionConfig(
                resources=spec.ENCRYPTED_RESOURCES,
                provider=EksClusterEncryptionConfigProvider(key_arn=props.kms_key_arn),
            ),
            enabled_cluster_log_types=spec.CONTROL_PLANE_LOGS,
            bootstrap_self_managed_addons=False,
            depends_on=[self.log_group],
        )
        for i, principal in enumerate(s.admin_principal_arns):
            entry = EksAccessEntry(
                self,
                f"admin_{i}",
                cluster_name=self.cluster.name,
                principal_arn=principal,
                type=spec.ACCESS_ENTRY_TYPE,
            )
            EksAccessPolicyAssociation(
                self,
                f"admin_{i}_policy",
                cluster_name=self.cluster.name,
                principal_arn=entry.principal_arn,
                policy_arn=spec.CLUSTER_ADMIN_POLICY,
                access_scope=EksAccessPolicyAssociationAccessScope(type="cluster"),
            )
        self.pod_identity_agent = EksAddon(
            self, "addon_pod_identity", cluster_name=self.cluster.name, addon_name=spec.POD_IDENTITY_AGENT
        )
        self.vpc_cni = self._addon_with_role(spec.VPC_CNI, props.kms_key_arn)
        self.ebs_csi = self._addon_with_role(spec.EBS_CSI, props.kms_key_arn)
        self.addons = [
            EksAddon(self, spec.addon_id(name), cluster_name=self.cluster.name, addon_name=name)
            for name in spec.PLAIN_ADDONS
        ]
        self.container_insights_logs = {
            kind: CloudwatchLogGroup(
                self,
                f"container_insights_{kind}",
                name=spec.container_insights_log_group(self.name, kind),
                retention_in_days=props.log_retention_days,
                kms_key_id=props.kms_key_arn,
            )
            for kind in spec.CONTAINER_INSIGHTS_LOG_GROUPS
        }
        self.observability = self._observability_addon()
        self.addons.append(self.observability)

    def _observability_addon(self) -> EksAddon:
        """Container Insights: the add-on with a Pod Identity role writing only to its own log groups."""
        role = IamRole(
            self,
            "cloudwatch_role",
            name=f"{self.name}-{spec.CLOUDWATCH_OBSERVABILITY}",
            assume_role_policy=policy_json(spec.pod_identity_trust_policy()),
        )
        groups = list(self.container_insights_logs.values())
        policy = IamRolePolicy(
            self,
            "cloudwatch_policy",
            role=role.id,
            name=spec.CLOUDWATCH_AGENT_POLICY_NAME,
            policy=policy_json(spec.cloudwatch_agent_policy([g.arn for g in groups])),
        )
        return EksAddon(
            self,
            "addon_cloudwatch",
            cluster_name=self.cluster.name,
            addon_name=spec.CLOUDWATCH_OBSERVABILITY,
            pod_identity_association=[
                EksAddonPodIdentityAssociation(role_arn=role.arn, service_account=spec.CLOUDWATCH_AGENT_SERVICE_ACCOUNT)
            ],
            depends_on=[self.pod_identity_agent, policy, *groups],
        )

    def _addon_with_role(self, addon: AddonRole, kms_key_arn: str) -> EksAddon:
        role = IamRole(
            self,
            f"{addon.id}_role",
            name=addon.role_name(self.name),
            assume_role_policy=policy_json(spec.pod_identity_trust_policy()),
        )
        for j, arn in enumerate(addon.managed_policies):
            IamRolePolicyAttachment(self, f"{addon.id}_policy_{j}", role=role.name, policy_arn=arn)
        if addon.encrypts_volumes:
            IamRolePolicy(
                self,
                f"{addon.id}_kms",
                role=role.id,
                name=spec.VOLUME_KEY_POLICY_NAME,
                policy=policy_json(spec.volume_key_policy(kms_key_arn)),
            )
        return EksAddon(
            self,
            f"addon_{addon.id}",
            cluster_name=self.cluster.name,
            addon_name=addon.addon,
            configuration_values=json.dumps(addon.configuration, sort_keys=True) if addon.configuration else None,
            pod_identity_association=[
                EksAddonPodIdentityAssociation(role_arn=role.arn, service_account=addon.service_account)
            ],
            depends_on=[self.pod_identity_agent],
        )
