"""The eks topology's workload stack: what runs on the cluster, planned against the existing cluster.

It reads the cluster (``rudder-ha-<env>-cluster``) by name and installs, in order:

1. the AWS Load Balancer Controller (:mod:`rudder_ha.parts.lb_controller`), the Secrets Store CSI driver
   and its AWS provider (:mod:`rudder_ha.parts.secrets_store`): public Helm charts, pinned versions, the
   controller calling AWS through an EKS Pod Identity role;
2. the Pod Identity association of the backend's ServiceAccount with a role that reads the
   workspace token and nothing else (:func:`rudder_ha.parts.secrets_store.cdktf.token_reader`);
3. the ClusterRole bound to the node-drain Lambda's group (:mod:`rudder_ha.topologies.eks.contract`);
4. every manifest of ``rudder_ha.topologies.eks.k8s.render(workload_settings(config))``, one ``kubernetes_manifest``
   each; the Ingress's waits until the controller has given it an address (its ALB exists);
5. what watches the ALB and the pods (:mod:`rudder_ha.topologies.eks.observability`): the ALB and its target
   group read back by the controller's tags, their alarms and the pods', sent to the cluster stack's alerts
   topic (read by name), and the dashboard.

Authentication: the kubernetes and helm providers run ``aws eks get-token`` (an ``exec`` plugin) each
time they connect, so no cluster token is ever written to the plan or the state. The
``aws_eks_cluster_auth`` data source would store its token in the state, where anyone able to read
the state bucket could use it until it expires; it is not used.
"""

from __future__ import annotations

from typing import Any

from cdktf import Fn
from cdktf_cdktf_provider_aws.cloudwatch_dashboard import CloudwatchDashboard
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_eks_cluster import DataAwsEksCluster
from cdktf_cdktf_provider_aws.data_aws_lb import DataAwsLb
from cdktf_cdktf_provider_aws.data_aws_lb_target_group import DataAwsLbTargetGroup
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.data_aws_sns_topic import DataAwsSnsTopic
from cdktf_cdktf_provider_helm.provider import HelmProvider, HelmProviderKubernetes, HelmProviderKubernetesExec
from cdktf_cdktf_provider_kubernetes.cluster_role_binding_v1 import (
    ClusterRoleBindingV1,
    ClusterRoleBindingV1Metadata,
    ClusterRoleBindingV1RoleRef,
    ClusterRoleBindingV1Subject,
)
from cdktf_cdktf_provider_kubernetes.cluster_role_v1 import ClusterRoleV1, ClusterRoleV1Metadata, ClusterRoleV1Rule
from cdktf_cdktf_provider_kubernetes.manifest import Manifest as KubernetesManifest
from cdktf_cdktf_provider_kubernetes.manifest import ManifestTimeouts, ManifestWait
from cdktf_cdktf_provider_kubernetes.provider import KubernetesProvider, KubernetesProviderExec
from constructs import Construct

from rudder_ha.common.policies import console_url
from rudder_ha.config.model import EnvironmentConfig
from rudder_ha.frontends.cdktf.environment_stack import EnvironmentStack
from rudder_ha.parts.alerting.cdktf import topic_alarm
from rudder_ha.parts.alerting.spec import topic_name
from rudder_ha.parts.lb_controller.cdktf import LbControllerProps, lb_controller
from rudder_ha.parts.secrets_store.cdktf import TokenReaderProps, secret_provider_class, secrets_store, token_reader
from rudder_ha.topologies.eks import dashboard, observability
from rudder_ha.topologies.eks.contract import (
    NODE_DRAINER_GROUP,
    NODE_DRAINER_ROLE,
    NODE_DRAINER_RULES,
    cluster_name,
    state_key,
    workload_stack_name,
)
from rudder_ha.topologies.eks.k8s import render
from rudder_ha.topologies.eks.k8s.common import BACKEND_NAME, INGRESS_NAME, manifest_id
from rudder_ha.topologies.eks.k8s.from_config import workload_settings

EXEC_API_VERSION = "client.authentication.k8s.io/v1beta1"
INGRESS_ADDRESS_FIELD = "status.loadBalancer.ingress[0].hostname"
"""The Ingress's manifest waits until the controller has written its ALB's DNS name here."""
INGRESS_WAIT_TIMEOUT = "20m"
SECRET_PROVIDER_CLASS_ID = "workspace_token_class"  # noqa: S105 - a construct id, not a secret
RBAC_API_GROUP = "rbac.authorization.k8s.io"


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
                publishes_metrics=True,
            ),
        )
        self._node_drainer()
        self.manifests = self._manifests()
        self._watch(partition, account)
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
        first), the StatefulSet on the backend's Pod Identity association (EKS injects credentials only
        into pods created after it), the Ingress on the Load Balancer Controller. The SecretProviderClass
        is a Helm release of a local chart after the CSI driver and its provider
        (:func:`rudder_ha.parts.secrets_store.cdktf.secret_provider_class`): its CRD does not exist before
        the first apply, and ``kubernetes_manifest`` would need it to plan."""
        applied: dict[str, KubernetesManifest] = {}
        previous: Any = None
        for manifest in render(self.settings):
            depends: list[Any] = [previous] if previous is not None else []
            if manifest["kind"] == "SecretProviderClass":
                previous = self.secret_provider_class = secret_provider_class(
                    self, SECRET_PROVIDER_CLASS_ID, manifest, [*depends, self.csi_driver, self.csi_provider]
                )
                continue
            if manifest["kind"] == "StatefulSet":
                depends += self.backend_identity
            elif manifest["kind"] == "Ingress":
                depends.append(self.lb_controller)
            id_ = manifest_id(manifest)
            assert id_ not in applied, f"two manifests would share the construct id {id_}"
            waits: dict[str, Any] = {}
            if manifest["kind"] == "Ingress":
                waits = {
                    "wait": ManifestWait(fields={INGRESS_ADDRESS_FIELD: "^.+$"}),
                    "timeouts": ManifestTimeouts(create=INGRESS_WAIT_TIMEOUT, update=INGRESS_WAIT_TIMEOUT),
                }
                self.ingress_id = id_
            resource = KubernetesManifest(self, id_, manifest=manifest, depends_on=depends or None, **waits)
            applied[id_] = resource
            previous = resource
        return applied

    def _watch(self, partition: str, account: str) -> None:
        """Alarms on the controller's ALB and the pods, and the dashboard. The ALB and its target group are
        read after the Ingress has its address (on the first apply, once the controller has made them)."""
        config, namespace = self.config, self.settings.namespace
        ingress = self.manifests[self.ingress_id]
        alb = DataAwsLb(self, "alb", tags=observability.load_balancer_tags(config, namespace), depends_on=[ingress])
        target_group = DataAwsLbTargetGroup(
            self, "target_group", tags=observability.target_group_tags(config, namespace), depends_on=[ingress]
        )
        self.alb, self.target_group = alb, target_group
        topic = DataAwsSnsTopic(self, "alerts", name=topic_name(config.name_prefix))
        self.alarms = [
            topic_alarm(self, spec, topic.arn)
            for spec in observability.workload_alarms(config, namespace, alb.arn_suffix, target_group.arn_suffix)
        ]
        alarm_prefix = f"arn:{partition}:cloudwatch:{config.region}:{account}:alarm:"
        cluster_alarms = [
            *observability.alerting_alarm_names(config),
            *(spec.name for spec in observability.cluster_alarms(config)),
        ]
        self.dashboard = CloudwatchDashboard(
            self,
            "dashboard",
            dashboard_name=dashboard.dashboard_name(config),
            dashboard_body=dashboard.encode(
                dashboard.body(
                    dashboard.EksDashboardProps(
                        config=config,
                        namespace=namespace,
                        alb_arn_suffix=alb.arn_suffix,
                        target_group_arn_suffix=target_group.arn_suffix,
                        alarm_arns=[
                            *(alarm.arn for alarm in self.alarms),
                            *(alarm_prefix + name for name in cluster_alarms),
                        ],
                    )
                )
            ),
        )

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
            "dashboard_url": (
                console_url(
                    self.config.region,
                    f"cloudwatch/home?region={self.config.region}#dashboards/dashboard/"
                    f"{dashboard.dashboard_name(self.config)}",
                ),
                "The environment's CloudWatch operations dashboard",
            ),
            "lb_controller_role_arn": (
                self.lb_controller_role.arn,
                "The Load Balancer Controller's Pod Identity role",
            ),
        }
        self.add_outputs(outputs)
