"""The eks topology's workload stack: what runs on the cluster, planned against the existing cluster.

It reads the cluster (``rudder-ha-<env>-cluster``) by name and installs, in order:

1. the AWS Load Balancer Controller, the Secrets Store CSI driver and its AWS provider (public Helm
   charts, pinned versions), the controller calling AWS through an EKS Pod Identity role;
2. the Pod Identity association of the backend's ServiceAccount with a role that reads the
   workspace token and nothing else;
3. the ClusterRole bound to the node-drain Lambda's group;
4. every manifest of ``rudder_ha.k8s.render(workload_settings(config))``, one ``kubernetes_manifest``
   each.

Authentication: the kubernetes and helm providers run ``aws eks get-token`` (an ``exec`` plugin) each
time they connect, so no cluster token is ever written to the plan or the state. The
``aws_eks_cluster_auth`` data source would store its token in the state, where anyone able to read
the state bucket could use it until it expires; it is not used.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from cdktf import Fn, TerraformResource
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_eks_cluster import DataAwsEksCluster
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.eks_pod_identity_association import EksPodIdentityAssociation
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_helm.provider import HelmProvider, HelmProviderKubernetes, HelmProviderKubernetesExec
from cdktf_cdktf_provider_helm.release import Release, ReleaseSet
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
from rudder_ha.constructs.eks_cluster import pod_identity_trust_policy
from rudder_ha.constructs.naming import policy_json
from rudder_ha.k8s import render
from rudder_ha.k8s.common import BACKEND_NAME, INGRESS_NAME, Manifest
from rudder_ha.k8s.from_config import workload_settings
from rudder_ha.stacks.eks_cluster import NODE_DRAINER_GROUP, state_key
from rudder_ha.stacks.environment_stack import EnvironmentStack

KUBE_SYSTEM = "kube-system"
EXEC_API_VERSION = "client.authentication.k8s.io/v1beta1"

LB_CONTROLLER_REPOSITORY = "https://aws.github.io/eks-charts"
LB_CONTROLLER_CHART = "aws-load-balancer-controller"
LB_CONTROLLER_VERSION = "1.13.0"
"""Chart 1.13.0 = controller v2.13.0 (target type ip, readiness gates, TLS 1.3 policies)."""
LB_CONTROLLER_SERVICE_ACCOUNT = "aws-load-balancer-controller"

CSI_DRIVER_REPOSITORY = "https://kubernetes-sigs.github.io/secrets-store-csi-driver/charts"
CSI_DRIVER_CHART = "secrets-store-csi-driver"
CSI_DRIVER_VERSION = "1.6.1"
CSI_PROVIDER_REPOSITORY = "https://aws.github.io/secrets-store-csi-driver-provider-aws"
CSI_PROVIDER_CHART = "secrets-store-csi-driver-provider-aws"
CSI_PROVIDER_VERSION = "3.1.4"
POD_IDENTITY_AUDIENCE = "pods.eks.amazonaws.com"
"""The driver requests a ServiceAccount token for this audience; the AWS provider exchanges it with
EKS Auth (Pod Identity) for the backend role's credentials."""

CLUSTER_TAG = "elbv2.k8s.aws/cluster"
"""The tag the controller puts on every load balancer, target group, listener, rule and security
group it creates, valued with the cluster name; the policy only lets it change what carries it."""
NODE_DRAINER_ROLE = "rudder-ha-node-drainer"


def workload_stack_name(config: EnvironmentConfig) -> str:
    """``cdktf deploy rudder-ha-<environment>-workload``."""
    return f"{config.name_prefix}-workload"


def manifest_id(manifest: Manifest) -> str:
    """The construct id of a manifest: ``k8s_<kind>_<namespace>_<name>`` (``cluster`` for cluster-scoped
    objects), lowercase, non-alphanumerics as ``_``. A contract: changing it replaces the object."""
    meta = manifest["metadata"]
    parts = [manifest["kind"], meta.get("namespace", "cluster"), meta["name"]]
    return "k8s_" + "_".join(re.sub(r"[^a-z0-9]+", "_", p.lower()).strip("_") for p in parts)


def _statement(sid: str, actions: list[str], resources: Any, condition: dict | None = None) -> dict:
    statement: dict = {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}
    if condition:
        statement["Condition"] = condition
    return statement


def lb_controller_policy(
    *, cluster_name: str, region: str, partition: str, account: str, vpc_id: str, waf_web_acl_arn: str | None
) -> dict:
    """What the AWS Load Balancer Controller needs for ALBs from Ingresses, and no more.

    Written from AWS's reference policy (``docs/install/iam_policy.json`` of kubernetes-sigs/
    aws-load-balancer-controller), narrowed: only ``app`` load balancers, resources of this region and
    account, security-group rules only in the cluster's VPC, and every create/modify/delete only on
    resources tagged ``elbv2.k8s.aws/cluster=<cluster>`` (or tagged so in the create request). Shield,
    WAF Classic and Cognito are turned off in the chart, so none of their permissions is granted;
    WAFv2 only when the environment names a web ACL. ACM discovery is not needed: the Ingress names
    its certificate.
    """
    elb = f"arn:{partition}:elasticloadbalancing:{region}:{account}"
    ec2 = f"arn:{partition}:ec2:{region}:{account}"
    load_balancers = f"{elb}:loadbalancer/app/*/*"
    target_groups = f"{elb}:targetgroup/*/*"
    listeners = f"{elb}:listener/app/*/*/*"
    rules = f"{elb}:listener-rule/app/*/*/*/*"
    security_groups = f"{ec2}:security-group/*"
    ours = {"StringEquals": {f"aws:ResourceTag/{CLUSTER_TAG}": cluster_name}}
    tagged_in_request = {"StringEquals": {f"aws:RequestTag/{CLUSTER_TAG}": cluster_name}}
    keeps_cluster_tag = {
        "StringEquals": {f"aws:ResourceTag/{CLUSTER_TAG}": cluster_name},
        "Null": {f"aws:RequestTag/{CLUSTER_TAG}": "true"},
    }
    statements = [
        _statement(
            "ElbServiceLinkedRole",
            ["iam:CreateServiceLinkedRole"],
            f"arn:{partition}:iam::{account}:role/aws-service-role/elasticloadbalancing.amazonaws.com/"
            "AWSServiceRoleForElasticLoadBalancing",
            {"StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}},
        ),
        # Describe* and Get* calls of EC2 and ELB take no resource ARN (Service Authorization Reference).
        _statement("Discover", sorted(LB_CONTROLLER_DESCRIBE_ACTIONS), "*"),
        _statement(
            "BackendSecurityGroupRules",
            ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"],
            security_groups,
            {"ArnEquals": {"ec2:Vpc": f"{ec2}:vpc/{vpc_id}"}},
        ),
        _statement("CreateSecurityGroup", ["ec2:CreateSecurityGroup"], security_groups, tagged_in_request),
        # CreateSecurityGroup is also authorized on the VPC it is made in: the cluster's only.
        _statement("CreateSecurityGroupInClusterVpc", ["ec2:CreateSecurityGroup"], f"{ec2}:vpc/{vpc_id}"),
        _statement(
            "TagSecurityGroupOnCreate",
            ["ec2:CreateTags"],
            security_groups,
            {
                "StringEquals": {
                    "ec2:CreateAction": "CreateSecurityGroup",
                    f"aws:RequestTag/{CLUSTER_TAG}": cluster_name,
                }
            },
        ),
        _statement("TagOwnSecurityGroups", ["ec2:CreateTags", "ec2:DeleteTags"], security_groups, keeps_cluster_tag),
        _statement(
            "ManageOwnSecurityGroups",
            ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress", "ec2:DeleteSecurityGroup"],
            security_groups,
            ours,
        ),
        _statement(
            "CreateLoadBalancers",
            ["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup"],
            [load_balancers, target_groups],
            tagged_in_request,
        ),
        _statement(
            "TagOnCreate",
            ["elasticloadbalancing:AddTags"],
            [load_balancers, target_groups, listeners, rules],
            {
                "StringEquals": {
                    "elasticloadbalancing:CreateAction": [
                        "CreateLoadBalancer",
                        "CreateTargetGroup",
                        "CreateListener",
                        "CreateRule",
                    ],
                    f"aws:RequestTag/{CLUSTER_TAG}": cluster_name,
                }
            },
        ),
        _statement(
            "TagOwnLoadBalancers",
            ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"],
            [load_balancers, target_groups, listeners, rules],
            keeps_cluster_tag,
        ),
        _statement(
            "ManageOwnLoadBalancers",
            [
                "elasticloadbalancing:DeleteLoadBalancer",
                "elasticloadbalancing:DeleteTargetGroup",
                "elasticloadbalancing:DeregisterTargets",
                "elasticloadbalancing:ModifyLoadBalancerAttributes",
                "elasticloadbalancing:ModifyListenerAttributes",
                "elasticloadbalancing:ModifyTargetGroup",
                "elasticloadbalancing:ModifyTargetGroupAttributes",
                "elasticloadbalancing:RegisterTargets",
                "elasticloadbalancing:SetIpAddressType",
                "elasticloadbalancing:SetSecurityGroups",
                "elasticloadbalancing:SetSubnets",
            ],
            [load_balancers, target_groups, listeners],
            ours,
        ),
        # Listeners and rules are created on the controller's load balancers; AWS documents no tag
        # condition key for these calls, so they are held to ALB listener and rule ARNs of this account.
        _statement(
            "ManageListenersAndRules",
            [
                "elasticloadbalancing:AddListenerCertificates",
                "elasticloadbalancing:CreateListener",
                "elasticloadbalancing:CreateRule",
                "elasticloadbalancing:DeleteListener",
                "elasticloadbalancing:DeleteRule",
                "elasticloadbalancing:ModifyListener",
                "elasticloadbalancing:ModifyRule",
                "elasticloadbalancing:RemoveListenerCertificates",
            ],
            [load_balancers, listeners, rules],
        ),
    ]
    if waf_web_acl_arn:
        statements.append(
            _statement(
                "AttachWebAcl",
                [
                    "wafv2:AssociateWebACL",
                    "wafv2:DisassociateWebACL",
                    "wafv2:GetWebACL",
                    "wafv2:GetWebACLForResource",
                ],
                [waf_web_acl_arn, load_balancers],
            )
        )
    return {"Version": "2012-10-17", "Statement": statements}


LB_CONTROLLER_DESCRIBE_ACTIONS = frozenset(
    {
        "ec2:DescribeAccountAttributes",
        "ec2:DescribeAddresses",
        "ec2:DescribeAvailabilityZones",
        "ec2:DescribeInstances",
        "ec2:DescribeInternetGateways",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeRouteTables",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSubnets",
        "ec2:DescribeTags",
        "ec2:DescribeVpcs",
        "ec2:GetSecurityGroupsForVpc",
        "elasticloadbalancing:DescribeListenerAttributes",
        "elasticloadbalancing:DescribeListenerCertificates",
        "elasticloadbalancing:DescribeListeners",
        "elasticloadbalancing:DescribeLoadBalancerAttributes",
        "elasticloadbalancing:DescribeLoadBalancers",
        "elasticloadbalancing:DescribeRules",
        "elasticloadbalancing:DescribeSSLPolicies",
        "elasticloadbalancing:DescribeTags",
        "elasticloadbalancing:DescribeTargetGroupAttributes",
        "elasticloadbalancing:DescribeTargetGroups",
        "elasticloadbalancing:DescribeTargetHealth",
    }
)
"""The controller's read-only calls; none of them accepts a resource ARN, so they take ``*``."""


def token_read_policy(config: EnvironmentConfig, partition: str, account: str) -> dict:
    """The backend's role: read the workspace token and nothing else (plus its key, through that service).

    The AWS provider of the CSI driver fetches Parameter Store objects with ``GetParameters`` (a
    batch call); ``GetParameter`` is granted on the same one parameter for manual checks.
    """
    token = config.rudder.workspace_token
    if token.ssm_parameter:
        parameter = f"arn:{partition}:ssm:{config.region}:{account}:parameter{token.ssm_parameter}"
        statements = [_statement("ReadWorkspaceToken", ["ssm:GetParameter", "ssm:GetParameters"], parameter)]
    else:
        statements = [_statement("ReadWorkspaceToken", ["secretsmanager:GetSecretValue"], token.secrets_manager_arn)]
    if token.kms_key_arn:
        statements.append(
            _statement(
                "DecryptWorkspaceToken",
                ["kms:Decrypt"],
                token.kms_key_arn,
                {"StringEquals": {"kms:ViaService": f"{token.kind}.{config.region}.amazonaws.com"}},
            )
        )
    return {"Version": "2012-10-17", "Statement": statements}


class EksWorkloadStack(EnvironmentStack):
    """The add-ons and the data plane on an existing ``rudder-ha-<env>-cluster``."""

    def __init__(self, scope: Construct, config: EnvironmentConfig) -> None:
        super().__init__(scope, workload_stack_name(config), config, state_key(config, "workload"))
        assert config.eks is not None
        self.settings = workload_settings(config)
        self.cluster_name = config.name_prefix
        self.cluster = DataAwsEksCluster(self, "cluster", name=self.cluster_name)
        self._partition = DataAwsPartition(self, "partition").partition
        self._account = DataAwsCallerIdentity(self, "account").account_id
        self._providers()
        self.lb_controller = self._lb_controller()
        self.csi_driver, self.csi_provider = self._secrets_store()
        self.backend_identity = self._backend_identity()
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

    def _pod_identity_role(
        self, id_: str, name: str, policy: dict, namespace: str, service_account: str
    ) -> tuple[IamRole, IamRolePolicy, EksPodIdentityAssociation]:
        """A role only EKS Pod Identity can assume, its inline policy, and its association with a
        namespace/ServiceAccount (the agent hands pods of that ServiceAccount its credentials)."""
        role = IamRole(self, f"{id_}_role", name=name, assume_role_policy=pod_identity_trust_policy())
        inline = IamRolePolicy(
            self, f"{id_}_policy", role=role.id, name=id_.replace("_", "-"), policy=policy_json(policy)
        )
        association = EksPodIdentityAssociation(
            self,
            f"{id_}_pod_identity",
            cluster_name=self.cluster_name,
            namespace=namespace,
            service_account=service_account,
            role_arn=role.arn,
        )
        return role, inline, association

    def _lb_controller(self) -> Release:
        config = self.config
        vpc_id = self.cluster.vpc_config.get(0).vpc_id
        waf = config.load_balancer.waf_web_acl_arn
        policy = lb_controller_policy(
            cluster_name=self.cluster_name,
            region=config.region,
            partition=self._partition,
            account=self._account,
            vpc_id=vpc_id,
            waf_web_acl_arn=waf,
        )
        self.lb_controller_role, inline, association = self._pod_identity_role(
            "lb_controller", f"{self.cluster_name}-lb-controller", policy, KUBE_SYSTEM, LB_CONTROLLER_SERVICE_ACCOUNT
        )
        values = {
            "clusterName": self.cluster_name,
            # Region and VPC given, not discovered: pods cannot reach IMDS (IMDSv2, hop limit 1).
            "region": config.region,
            "replicaCount": 2,
            "serviceAccount": {"create": True, "name": LB_CONTROLLER_SERVICE_ACCOUNT},
            "podDisruptionBudget": {"maxUnavailable": 1},
            "enableShield": False,
            "enableWaf": False,
            "enableWafv2": bool(waf),
            # Only Ingresses here: leave Services of type LoadBalancer to their own annotations.
            "enableServiceMutatorWebhook": False,
        }
        return Release(
            self,
            "lb_controller",
            name=LB_CONTROLLER_CHART,
            namespace=KUBE_SYSTEM,
            repository=LB_CONTROLLER_REPOSITORY,
            chart=LB_CONTROLLER_CHART,
            version=LB_CONTROLLER_VERSION,
            values=[yaml.safe_dump(values, sort_keys=True)],
            set=[ReleaseSet(name="vpcId", value=vpc_id)],
            wait=True,
            atomic=True,
            # Credentials are injected when a pod starts: the association and policy come first.
            depends_on=[inline, association],
        )

    def _secrets_store(self) -> tuple[Release, Release]:
        driver_values = {
            "syncSecret": {"enabled": True},
            "tokenRequests": [{"audience": POD_IDENTITY_AUDIENCE}],
        }
        driver = Release(
            self,
            "secrets_store_csi_driver",
            name=CSI_DRIVER_CHART,
            namespace=KUBE_SYSTEM,
            repository=CSI_DRIVER_REPOSITORY,
            chart=CSI_DRIVER_CHART,
            version=CSI_DRIVER_VERSION,
            values=[yaml.safe_dump(driver_values, sort_keys=True)],
            wait=True,
            atomic=True,
        )
        # The provider's chart can install a driver of its own; the one above is the only one.
        provider_values = {"secrets-store-csi-driver": {"install": False}}
        provider = Release(
            self,
            "secrets_store_csi_provider_aws",
            name=CSI_PROVIDER_CHART,
            namespace=KUBE_SYSTEM,
            repository=CSI_PROVIDER_REPOSITORY,
            chart=CSI_PROVIDER_CHART,
            version=CSI_PROVIDER_VERSION,
            values=[yaml.safe_dump(provider_values, sort_keys=True)],
            wait=True,
            atomic=True,
            depends_on=[driver],
        )
        return driver, provider

    def _backend_identity(self) -> list[TerraformResource]:
        _, inline, association = self._pod_identity_role(
            "backend",
            f"{self.cluster_name}-backend",
            token_read_policy(self.config, self._partition, self._account),
            self.settings.namespace,
            BACKEND_NAME,
        )
        return [inline, association]

    def _node_drainer(self) -> None:
        role = ClusterRoleV1(
            self,
            "node_drainer_role",
            metadata=ClusterRoleV1Metadata(name=NODE_DRAINER_ROLE),
            rule=[
                ClusterRoleV1Rule(api_groups=[""], resources=["nodes"], verbs=["get", "list", "patch"]),
                ClusterRoleV1Rule(api_groups=[""], resources=["pods"], verbs=["get", "list"]),
                ClusterRoleV1Rule(api_groups=[""], resources=["pods/eviction"], verbs=["create"]),
            ],
        )
        ClusterRoleBindingV1(
            self,
            "node_drainer_binding",
            metadata=ClusterRoleBindingV1Metadata(name=NODE_DRAINER_ROLE),
            role_ref=ClusterRoleBindingV1RoleRef(
                api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=NODE_DRAINER_ROLE
            ),
            subject=[
                ClusterRoleBindingV1Subject(
                    kind="Group", name=NODE_DRAINER_GROUP, api_group="rbac.authorization.k8s.io"
                )
            ],
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
