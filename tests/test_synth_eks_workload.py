"""The eks topology's workload stack, asserted on the synthesized JSON."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
import yaml

from rudder_ha.parts.lb_controller.spec import DESCRIBE_ACTIONS as LB_CONTROLLER_DESCRIBE_ACTIONS
from rudder_ha.topologies.eks.k8s import render
from rudder_ha.topologies.eks.k8s.common import manifest_id
from rudder_ha.topologies.eks.k8s.from_config import workload_settings
from tests.support.synth import SynthOutput, only, resources
from tests.test_synth_single_node import WILDCARD_ONLY_ACTIONS, assert_scoped

pytestmark = pytest.mark.synth
ENV = "prod-eks"
STACK = f"rudder-ha-{ENV}-workload"
CLUSTER = f"rudder-ha-{ENV}"


@pytest.fixture(scope="module")
def stack(synth: SynthOutput) -> dict[str, Any]:
    return synth.stacks[STACK]


@pytest.fixture(scope="module")
def rendered(synth: SynthOutput) -> list[dict[str, Any]]:
    return render(workload_settings(synth.configs[ENV]))


def role_policy(stack: dict[str, Any], id_: str) -> list[dict[str, Any]]:
    return json.loads(stack["resource"]["aws_iam_role_policy"][f"{id_}_policy"]["policy"])["Statement"]


def test_workload_has_its_own_state(stack: dict[str, Any]) -> None:
    s3 = stack["terraform"]["backend"]["s3"]
    assert s3["key"] == "rudder-ha/prod-eks/terraform-workload.tfstate"
    assert s3["encrypt"] is True and s3["use_lockfile"] is True


def test_reads_the_existing_cluster_and_stores_no_token(stack: dict[str, Any]) -> None:
    assert stack["data"]["aws_eks_cluster"]["cluster"]["name"] == CLUSTER
    assert "aws_eks_cluster_auth" not in stack["data"], "its token would be written to the state"
    args = ["eks", "get-token", "--cluster-name", CLUSTER, "--region", "eu-west-1"]
    (kubernetes,) = stack["provider"]["kubernetes"]
    (helm,) = stack["provider"]["helm"]
    helm_k8s = helm["kubernetes"]
    for config, exec_ in ((kubernetes, kubernetes["exec"][0]), (helm_k8s, helm_k8s["exec"])):
        assert config["host"] == "${data.aws_eks_cluster.cluster.endpoint}"
        assert "data.aws_eks_cluster.cluster.certificate_authority[0].data" in config["cluster_ca_certificate"]
        assert "token" not in config
        assert exec_ == {"api_version": "client.authentication.k8s.io/v1beta1", "command": "aws", "args": args}
    assert "token" not in json.dumps(stack["provider"]).replace("get-token", "")


def test_helm_releases_are_pinned_public_charts(stack: dict[str, Any]) -> None:
    releases = {r["chart"]: r for r in resources(stack, "helm_release") if "repository" in r}
    assert {chart: r["repository"] for chart, r in releases.items()} == {
        "aws-load-balancer-controller": "https://aws.github.io/eks-charts",
        "secrets-store-csi-driver": "https://kubernetes-sigs.github.io/secrets-store-csi-driver/charts",
        "secrets-store-csi-driver-provider-aws": "https://aws.github.io/secrets-store-csi-driver-provider-aws",
    }
    for release in releases.values():
        version = release["version"]
        assert version.count(".") == 2 and all(part.isdigit() for part in version.split(".")), release
        assert release["namespace"] == "kube-system"
        assert release["atomic"] is True
    lbc = yaml.safe_load(releases["aws-load-balancer-controller"]["values"][0])
    assert lbc["clusterName"] == CLUSTER and lbc["region"] == "eu-west-1"
    assert lbc["serviceAccount"] == {"create": True, "name": "aws-load-balancer-controller"}
    assert lbc["enableShield"] is False and lbc["enableWaf"] is False and lbc["enableWafv2"] is False
    assert releases["aws-load-balancer-controller"]["set"] == [
        {"name": "vpcId", "value": "${data.aws_eks_cluster.cluster.vpc_config[0].vpc_id}"}
    ]
    driver = yaml.safe_load(releases["secrets-store-csi-driver"]["values"][0])
    assert driver["syncSecret"]["enabled"] is True
    assert driver["tokenRequests"] == [{"audience": "pods.eks.amazonaws.com"}]
    provider = releases["secrets-store-csi-driver-provider-aws"]
    assert yaml.safe_load(provider["values"][0]) == {"secrets-store-csi-driver": {"install": False}}
    assert provider["depends_on"] == ["helm_release.secrets_store_csi_driver"]


def test_pod_identity_associations(stack: dict[str, Any]) -> None:
    associations = {
        (a["namespace"], a["service_account"]): a for a in resources(stack, "aws_eks_pod_identity_association")
    }
    assert set(associations) == {("kube-system", "aws-load-balancer-controller"), ("rudder", "rudder-backend")}
    assert associations["kube-system", "aws-load-balancer-controller"]["role_arn"] == (
        "${aws_iam_role.lb_controller_role.arn}"
    )
    assert associations["rudder", "rudder-backend"]["role_arn"] == "${aws_iam_role.backend_role.arn}"
    for association in associations.values():
        assert association["cluster_name"] == CLUSTER
    for role in resources(stack, "aws_iam_role"):
        (trust,) = json.loads(role["assume_role_policy"])["Statement"]
        assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"}
        assert set(trust["Action"]) == {"sts:AssumeRole", "sts:TagSession"}
    lbc = only(stack, "helm_release", "lb_controller")
    assert "aws_eks_pod_identity_association.lb_controller_pod_identity" in lbc["depends_on"]


def test_backend_role_reads_the_workspace_token_only(synth: SynthOutput, stack: dict[str, Any]) -> None:
    token = synth.configs[ENV].rudder.workspace_token
    # no key configured: no kms:Decrypt statement; the backlog sidecar publishes to RudderHA only
    read, metrics = role_policy(stack, "backend")
    assert metrics["Action"] == "cloudwatch:PutMetricData"
    assert metrics["Condition"] == {"StringEquals": {"cloudwatch:namespace": "RudderHA"}}
    assert_scoped(read)
    assert read["Action"] == ["secretsmanager:GetSecretValue"]
    assert read["Resource"] == token.secrets_manager_arn


def actions_of(statements: dict[str, dict[str, Any]]) -> set[str]:
    return {a for s in statements.values() for a in s["Action"]}


def test_lb_controller_policy_is_scoped_to_the_clusters_resources(stack: dict[str, Any]) -> None:
    # The controller's Describe*/Get* discovery calls take no resource ARN (AWS Service Authorization
    # Reference, Amazon EC2 and Elastic Load Balancing V2): "*" is their only form.
    allowed_wildcard = WILDCARD_ONLY_ACTIONS | LB_CONTROLLER_DESCRIBE_ACTIONS
    assert all(a.split(":")[1].startswith(("Describe", "Get")) for a in LB_CONTROLLER_DESCRIBE_ACTIONS)
    statements = {s["Sid"]: s for s in role_policy(stack, "lb_controller")}
    for statement in statements.values():
        actions = statement["Action"]
        assert all("*" not in a for a in actions), statement
        if statement["Resource"] == "*":
            assert set(actions) <= allowed_wildcard, statement
    tag = "elbv2.k8s.aws/cluster"
    for sid in ("ManageOwnSecurityGroups", "ManageOwnLoadBalancers"):
        assert statements[sid]["Condition"]["StringEquals"] == {f"aws:ResourceTag/{tag}": CLUSTER}
    for sid in ("CreateSecurityGroup", "CreateLoadBalancers"):
        assert statements[sid]["Condition"]["StringEquals"] == {f"aws:RequestTag/{tag}": CLUSTER}
    for sid in ("TagOwnSecurityGroups", "TagOwnLoadBalancers"):
        assert statements[sid]["Condition"]["Null"] == {f"aws:RequestTag/{tag}": "true"}, "the tag cannot move"
    cluster_vpc = ":vpc/${data.aws_eks_cluster.cluster.vpc_config[0].vpc_id}"
    assert statements["BackendSecurityGroupRules"]["Condition"]["ArnEquals"]["ec2:Vpc"].endswith(cluster_vpc)
    assert statements["CreateSecurityGroupInClusterVpc"]["Resource"].endswith(cluster_vpc)
    assert statements["SecurityGroupsOfClusterVpc"]["Action"] == ["ec2:GetSecurityGroupsForVpc"]
    assert statements["SecurityGroupsOfClusterVpc"]["Resource"].endswith(cluster_vpc)
    # Listeners and rules: only on this cluster's load balancers, and only those carrying its tag.
    for sid in ("CreateListenersOnOwnLoadBalancers", "ManageOwnListenersAndRules"):
        assert statements[sid]["Condition"] == {"StringEquals": {f"aws:ResourceTag/{tag}": CLUSTER}}, sid
    assert statements["CreateListenersOnOwnLoadBalancers"]["Resource"].endswith(":loadbalancer/app/*/*")
    listener_actions = {a for a in actions_of(statements) if "Listener" in a or "Rule" in a}
    tagged = {
        a
        for s in statements.values()
        if s.get("Condition", {}).get("StringEquals", {}).get(f"aws:ResourceTag/{tag}") == CLUSTER
        or s.get("Condition", {}).get("StringEquals", {}).get(f"aws:RequestTag/{tag}") == CLUSTER
        for a in s["Action"]
    }
    writes = {a for a in listener_actions if not a.split(":")[1].startswith("Describe")}
    assert writes and writes <= tagged, writes - tagged
    creates = statements["CreateLoadBalancers"]["Resource"]
    assert all(":elasticloadbalancing:eu-west-1:" in r for r in creates)
    assert any(":loadbalancer/app/" in r for r in creates) and not any("/net/" in r for r in creates)
    actions = {a for s in statements.values() for a in s["Action"]}
    assert not any(a.startswith(("shield:", "waf-regional:", "wafv2:", "cognito-idp:")) for a in actions)


def test_node_drainer_cluster_role(stack: dict[str, Any]) -> None:
    role = only(stack, "kubernetes_cluster_role_v1")
    assert role["metadata"]["name"] == "rudder-ha-node-drainer"
    assert role["rule"] == [
        {"api_groups": [""], "resources": ["nodes"], "verbs": ["get", "list", "patch"]},
        {"api_groups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
        {"api_groups": [""], "resources": ["pods/eviction"], "verbs": ["create"]},
    ]
    binding = only(stack, "kubernetes_cluster_role_binding_v1")
    assert binding["role_ref"] == {
        "api_group": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": "rudder-ha-node-drainer",
    }
    assert binding["subject"] == [
        {"kind": "Group", "name": "rudder-ha:node-drainer", "api_group": "rbac.authorization.k8s.io"}
    ]


def terraform_literal(value: Any) -> Any:
    """``value`` as Terraform JSON spells literal text: ``${`` as ``$${`` and ``%{`` as ``%%{`` (Terraform reads
    them back as ``${`` and ``%{``; the drain scripts in the ConfigMap are full of shell ``${...}``)."""
    if isinstance(value, str):
        return value.replace("${", "$${").replace("%{", "%%{")
    if isinstance(value, dict):
        return {k: terraform_literal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [terraform_literal(v) for v in value]
    return value


def test_every_rendered_manifest_is_applied_once(stack: dict[str, Any], rendered: list[dict[str, Any]]) -> None:
    """Every manifest as a ``kubernetes_manifest``, but the SecretProviderClass: the local chart's release."""
    applied = stack["resource"]["kubernetes_manifest"]
    manifests = [m for m in rendered if m["kind"] != "SecretProviderClass"]
    ids = [manifest_id(m) for m in manifests]
    assert len(set(ids)) == len(ids) == len(applied) == len(rendered) - 1
    assert set(applied) == set(ids)
    for manifest in manifests:
        assert applied[manifest_id(manifest)]["manifest"] == terraform_literal(manifest), manifest_id(manifest)
    (spc,) = [m for m in rendered if m["kind"] == "SecretProviderClass"]
    release = stack["resource"]["helm_release"]["workspace_token_class"]
    assert yaml.safe_load(release["values"][0]) == {"manifest": spc}
    assert release["namespace"] == spc["metadata"]["namespace"]


def test_the_secret_provider_class_plans_before_its_crd_exists(stack: dict[str, Any]) -> None:
    """The first ``make deploy`` plans the workload stack before the CSI driver has installed the
    SecretProviderClass CRD: nothing in the plan may need that CRD (a kubernetes_manifest of it would read
    its schema), so the class is a Helm release of a chart shipped with the stack."""
    assert not [m for m in resources(stack, "kubernetes_manifest") if m["manifest"]["kind"] == "SecretProviderClass"]
    release = stack["resource"]["helm_release"]["workspace_token_class"]
    assert release["chart"].startswith("assets/") and "repository" not in release
    assert {"helm_release.secrets_store_csi_driver", "helm_release.secrets_store_csi_provider_aws"} <= set(
        release["depends_on"]
    )
    crds = {m["manifest"]["kind"] for m in resources(stack, "kubernetes_manifest")} - {
        "Namespace",
        "NetworkPolicy",
        "ServiceAccount",
        "StorageClass",
        "ConfigMap",
        "Service",
        "Deployment",
        "HorizontalPodAutoscaler",
        "StatefulSet",
        "PodDisruptionBudget",
        "Ingress",
    }
    assert crds == set(), f"custom resources planned as manifests: {crds}"


def test_manifest_ids_are_stable() -> None:
    assert manifest_id({"kind": "StatefulSet", "metadata": {"name": "rudder-backend", "namespace": "rudder"}}) == (
        "k8s_statefulset_rudder_rudder_backend"
    )
    assert manifest_id({"kind": "Namespace", "metadata": {"name": "rudder"}}) == "k8s_namespace_cluster_rudder"


def test_manifests_wait_for_what_they_need(stack: dict[str, Any]) -> None:
    applied = stack["resource"]["kubernetes_manifest"]
    after_class = [m for m in applied.values() if m.get("depends_on") == ["helm_release.workspace_token_class"]]
    assert len(after_class) == 1  # the manifest rendered after the class waits for its release
    ingress = applied["k8s_ingress_rudder_rudder_gateway"]["depends_on"]
    assert "helm_release.lb_controller" in ingress
    backend = applied["k8s_statefulset_rudder_rudder_backend"]["depends_on"]
    assert "aws_eks_pod_identity_association.backend_pod_identity" in backend
    assert "depends_on" not in applied["k8s_namespace_cluster_rudder"]


def test_network_policies_are_applied_before_any_workload(
    stack: dict[str, Any], rendered: list[dict[str, Any]]
) -> None:
    """Each manifest waits for the one rendered before it: the policies come right after the namespace."""
    applied = stack["resource"]["kubernetes_manifest"]
    ids = [manifest_id(m) for m in rendered]
    policies = [i for i in ids if i.startswith("k8s_networkpolicy_rudder_")]
    assert policies == ids[1 : 1 + len(policies)] and len(policies) == 5
    assert applied[policies[0]]["depends_on"] == ["kubernetes_manifest.k8s_namespace_cluster_rudder"]
    first_workload = min(
        ids.index("k8s_statefulset_rudder_rudder_backend"), ids.index("k8s_deployment_rudder_rudder_transformer")
    )
    assert ids.index(policies[-1]) < first_workload


def test_backend_admits_the_alb_from_the_cluster_stacks_public_subnets(
    synth: SynthOutput, rendered: list[dict[str, Any]]
) -> None:
    """The NetworkPolicy names the CIDRs of the subnets the cluster stack tags for internet-facing ALBs."""
    cluster_stack = synth.stacks[f"{CLUSTER}-cluster"]
    elb_subnets = sorted(
        subnet["cidr_block"]
        for subnet in resources(cluster_stack, "aws_subnet")
        if subnet.get("tags", {}).get("kubernetes.io/role/elb") == "1"
    )
    assert len(elb_subnets) == len(synth.configs[ENV].network.availability_zones)
    policy = next(m for m in rendered if m["kind"] == "NetworkPolicy" and m["metadata"]["name"] == "rudder-backend")
    (ingress,) = policy["spec"]["ingress"]
    assert sorted(peer["ipBlock"]["cidr"] for peer in ingress["from"]) == elb_subnets
    assert ingress["ports"] == [{"protocol": "TCP", "port": 8080}]


def test_an_existing_vpc_is_refused_rather_than_opened_whole(synth: SynthOutput) -> None:
    config = synth.configs[ENV]
    existing = dataclasses.replace(
        config,
        network=dataclasses.replace(
            config.network, vpc_id="vpc-0123", vpc_cidr=None, public_subnet_cidrs=(), private_subnet_cidrs=()
        ),
    )
    with pytest.raises(ValueError, match="public_subnet_cidrs"):
        workload_settings(existing)


def test_backend_replicas_come_from_the_environment(synth: SynthOutput, stack: dict[str, Any]) -> None:
    config = synth.configs[ENV]
    assert config.source.endswith("environments/prod-eks.yaml")
    statefulset = stack["resource"]["kubernetes_manifest"]["k8s_statefulset_rudder_rudder_backend"]["manifest"]
    assert statefulset["spec"]["replicas"] == config.eks.backend_replica_count == 3


def test_outputs(stack: dict[str, Any]) -> None:
    outputs = stack["output"]
    assert outputs["namespace"]["value"] == "rudder"
    assert outputs["ingress_name"]["value"] == "rudder-gateway"
    command = outputs["alb_hostname_command"]["value"]
    assert "kubectl -n rudder get ingress rudder-gateway" in command
    assert ".status.loadBalancer.ingress[0].hostname" in command
    assert all(o.get("description") for o in outputs.values())
