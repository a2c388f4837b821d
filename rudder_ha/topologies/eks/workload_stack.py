"""The eks topology's workload stack: what runs on the cluster, planned against the existing cluster.

It reads the cluster (``rudder-ha-<env>-cluster``) by name and installs, in order:

1. the AWS Load Balancer Controller (:mod:`rudder_ha.parts.lb_controller`), the Secrets Store CSI driver
   and its AWS provider (:mod:`rudder_ha.parts.secrets_store`): public Helm charts, pinned versions, the
   controller calling AWS through an EKS Pod Identity role;
2. the Pod Identity association of the backend's ServiceAccount with a role that reads the
   workspace token and nothing else (:func:`rudder_ha.parts.secrets_store.cdktf.token_reader`);
3. the ClusterRole bound to the node-drain Lambda's group (:mod:`rudder_ha.topologies.eks.contract`);
4. every manifest of ``rudder_ha.topologies.eks.k8s.render(workload_settings(config))``, one ``kubernetes_manifest``
   each.

Authentication: the kubernetes and helm providers run ``aws eks get-token`` (an ``exec`` plugin) each
time they connect, so no cluster token is ever written to the plan or the state. The
``aws_eks_cluster_auth`` data source would store its token in the state, where anyone able to read
the state bucket could use it until it expires; it is not used.
"""

from __future__ import annotations

import re
from typing import Any

from cdktf import Fn
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_eks_cluster import DataAwsEksCluster
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_helm.provider import HelmProvider, HelmProviderKubernetes, HelmProviderKubernetesExec
from cdktf_cdktf_provider_kubernetes.cluster_role_binding_v1 import (
    ClusterRoleBindingV1,
    ClusterRoleBindingV1Metadata,
    ClusterRoleBindingV1RoleRef,
    ClusterRoleBindingV1Subject,
)
from cdktf_cdktf_provider_kubernetes.cluster_role_v1 import ClusterRoleV1, ClusterRoleV1Metadata, ClusterRoleV1Rule
from cdktf_cdktf_provider_kubernetes.manifest import Manifest as KubernetesManifest
from cdktf_cdktf_provider_kubernetes.provider import KubernetesProvider, KubernetesProviderExec
from constructs import Construct

from rudder_ha.config.model import EnvironmentConfig
from rudder_ha.frontends.cdktf.environment_stack import EnvironmentStack
from rudder_ha.parts.lb_controller.cdktf import LbControllerProps, lb_controller
from rudder_ha.parts.secrets_store.cdktf import TokenReaderProps, secrets_store, token_reader
from rudder_ha.topologies.eks.contract import (
    NODE_DRAINER_GROUP,
    NODE_DRAINER_ROLE,
    NODE_DRAINER_RULES,
    cluster_name,
    state_key,
    workload_stack_name,
)
from rudder_ha.topologies.eks.k8s import render
from rudder_ha.topologies.eks.k8s.common import BACKEND_NAME, INGRESS_NAME, Manifest
from rudder_ha.topologies.eks.k8s.from_config import workload_settings

EXEC_API_VERSION = "client.authentication.k8s.io/v1beta1"
RBAC_API_GROUP = "rbac.authorization.k8s.io"


def manifest_id(manifest: Manifest) -> str:
    """The construct id of a manifest: ``k8s_<kind>_<namespace>_<name>`` (``cluster`` for cluster-scoped
    objects), lowercase, non-alphanumerics as ``_``. A contract: changing it replaces the object."""
    meta = manifest["metadata"]
    parts = [manifest["kind"], meta.get("namespace", "cluster"), meta["name"]]
    return "k8s_" + "_".join(re.sub(r"[^a-z0-9]+", "_", p.lower()).strip("_") for p in parts)


class EksWorkloadStack(EnvironmentStack):
    """The add-ons and the data plane on an existing ``rudder-ha-<env>-cluster``."""

    def __init__(self, scope: Construct, config: EnvironmentConfig) -> None:
        super().__init__(scope, workload_stack_name(config), config, state_key(config, "workload"))
        assert config.eks is not None
        self.settings = workload_settings(config)
        self.cluster_name = cluster_name(config)
        self.cluster = DataAwsEksCluster(self, "cluster", name=self.cluster_name)
        partition = DataAwsPartition(self, "partition").partition
        account = DataAwsCallerIdentity(self, "account").account_id
        self._providers()
        controller = lb_controller(
            self,
            "lb_controller",
            LbControllerProps(
                cluster_name=self.cluster_name,
                region=config.region,
                partition=partition,
                account=account,
                vpc_id=self.cluster.vpc_config.get(0).vpc_id,
                waf_web_acl_arn=config.load_balancer.waf_web_acl_arn,
            ),
        )
        self.lb_controller_role, self.lb_controller = controller.role, controller.release
        self.csi_driver, self.csi_provider = secrets_store(self, "secrets_store")
        self.backend_identity = token_reader(
            self,
            "backend",
            TokenReaderProps(
                cluster_name=self.cluster_name,
                namespace=self.settings.namespace,
                service_account=BACKEND_NAME,
                token=config.rudder.workspace_token,
                region=config.region,
                partition=partition,
                account=account,
            ),
        )
        self._node_drainer()
        self.manifests = self._manifests()
        self._outputs()

    def _exec_args(self) -> list[str]:
        return ["eks", "get-token", "--cluster-name", self.cluster_name, "--region", self.config.region]

    def _providers(self) -> None:
        host = self.cluster.endpoint
        ca = Fn.base64decode(self.cluster.certificate_authority.get(0).data)
        KubernetesProvider(
            self,
            "kubernetes",
            host=host,
            cluster_ca_certificate=ca,
            exec=[KubernetesProviderExec(api_version=EXEC_API_VERSION, command="aws", args=self._exec_args())],
        )
        HelmProvider(
            self,
            "helm",
            kubernetes=HelmProviderKubernetes(
                host=host,
                cluster_ca_certificate=ca,
                exec=HelmProviderKubernetesExec(api_version=EXEC_API_VERSION, command="aws", args=self._exec_args()),
            ),
        )

    def _node_drainer(self) -> None:
        role = ClusterRoleV1(
            self,
            "node_drainer_role",
            metadata=ClusterRoleV1Metadata(name=NODE_DRAINER_ROLE),
            rule=[
                ClusterRoleV1Rule(api_groups=[""], resources=[resource], verbs=list(verbs))
                for resource, verbs in NODE_DRAINER_RULES
            ],
        )
        ClusterRoleBindingV1(
            self,
            "node_drainer_binding",
            metadata=ClusterRoleBindingV1Metadata(name=NODE_DRAINER_ROLE),
            role_ref=ClusterRoleBindingV1RoleRef(api_group=RBAC_API_GROUP, kind="ClusterRole", name=NODE_DRAINER_ROLE),
            subject=[ClusterRoleBindingV1Subject(kind="Group", name=NODE_DRAINER_GROUP, api_group=RBAC_API_GROUP)],
            depends_on=[role],
        )

    def _manifests(self) -> dict[str, KubernetesManifest]:
        """Every rendered manifest, in render order; each depends on the one before it (namespace
        first), the SecretProviderClass on the CSI driver and its provider, the StatefulSet on the
        backend's Pod Identity association (EKS injects credentials only into pods created after it),
        the Ingress on the Load Balancer Controller."""
        applied: dict[str, KubernetesManifest] = {}
        previous: KubernetesManifest | None = None
        for manifest in render(self.settings):
            depends: list[Any] = [previous] if previous is not None else []
            if manifest["kind"] == "SecretProviderClass":
                depends += [self.csi_driver, self.csi_provider]
            elif manifest["kind"] == "StatefulSet":
                depends += self.backend_identity
            elif manifest["kind"] == "Ingress":
                depends.append(self.lb_controller)
            id_ = manifest_id(manifest)
            assert id_ not in applied, f"two manifests would share the construct id {id_}"
            resource = KubernetesManifest(self, id_, manifest=manifest, depends_on=depends or None)
            applied[id_] = resource
            previous = resource
        return applied

    def _outputs(self) -> None:
        namespace = self.settings.namespace
        outputs = {
            "namespace": (namespace, "The data plane's namespace"),
            "ingress_name": (INGRESS_NAME, "The Ingress the AWS Load Balancer Controller turns into the ALB"),
            "alb_hostname_command": (
                f"aws eks update-kubeconfig --region {self.config.region} --name {self.cluster_name} && "
                f"kubectl -n {namespace} get ingress {INGRESS_NAME} "
                "-o jsonpath='{.status.loadBalancer.ingress[0].hostname}'",
                "Prints the ALB's DNS name: point the environment's domain at it (CNAME or alias)",
            ),
            "lb_controller_role_arn": (
                self.lb_controller_role.arn,
                "The Load Balancer Controller's Pod Identity role",
            ),
        }
        self.add_outputs(outputs)
