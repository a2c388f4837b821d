"""The eks topology's cluster stack, asserted on the synthesized JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.synth import SynthOutput, only, resources
from tests.test_synth_single_node import assert_scoped

pytestmark = pytest.mark.synth
STACK = "rudder-ha-prod-eks-cluster"


@pytest.fixture(scope="module")
def stack(synth: SynthOutput) -> dict[str, Any]:
    return synth.stacks[STACK]


def test_cluster_has_its_own_state(stack: dict[str, Any]) -> None:
    s3 = stack["terraform"]["backend"]["s3"]
    assert s3["key"] == "rudder-ha/prod-eks/terraform-cluster.tfstate"
    assert s3["encrypt"] is True and s3["use_lockfile"] is True


def test_cluster_is_private_encrypted_logged_and_uses_access_entries(stack: dict[str, Any]) -> None:
    cluster = only(stack, "aws_eks_cluster")
    assert cluster["version"] == "1.35"
    assert cluster["access_config"] == {
        "authentication_mode": "API",
        "bootstrap_cluster_creator_admin_permissions": False,
    }
    vpc = cluster["vpc_config"]
    assert vpc["endpoint_private_access"] is True and vpc["endpoint_public_access"] is False
    assert len(vpc["subnet_ids"]) == 3
    (encryption,) = (
        [cluster["encryption_config"]]
        if isinstance(cluster["encryption_config"], dict)
        else cluster["encryption_config"]
    )
    assert encryption["resources"] == ["secrets"]
    assert encryption["provider"]["key_arn"].startswith("${aws_kms_key.")
    assert set(cluster["enabled_cluster_log_types"]) == {
        "api",
        "audit",
        "authenticator",
        "controllerManager",
        "scheduler",
    }
    group = next(
        g for g in resources(stack, "aws_cloudwatch_log_group") if g["name"] == "/aws/eks/rudder-ha-prod-eks/cluster"
    )
    assert group["kms_key_id"].startswith("${aws_kms_key.")
    admins = [e for e in resources(stack, "aws_eks_access_entry") if "platform-admin" in e["principal_arn"]]
    assert len(admins) == 1
    (policy,) = resources(stack, "aws_eks_access_policy_association")
    assert policy["policy_arn"].endswith("AmazonEKSClusterAdminPolicy")


def test_addons_with_pod_identity(stack: dict[str, Any]) -> None:
    addons = {a["addon_name"]: a for a in resources(stack, "aws_eks_addon")}
    assert set(addons) == {
        "vpc-cni",
        "coredns",
        "kube-proxy",
        "eks-pod-identity-agent",
        "aws-ebs-csi-driver",
        "amazon-cloudwatch-observability",
    }
    assert addons["vpc-cni"]["pod_identity_association"][0]["service_account"] == "aws-node"
    assert addons["aws-ebs-csi-driver"]["pod_identity_association"][0]["service_account"] == "ebs-csi-controller-sa"
    roles = {r["name"]: r for r in resources(stack, "aws_iam_role")}
    trust = json.loads(roles["rudder-ha-prod-eks-aws-ebs-csi-driver"]["assume_role_policy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert set(trust["Action"]) == {"sts:AssumeRole", "sts:TagSession"}
    assert any(d.startswith("aws_eks_node_group.") for d in addons["coredns"]["depends_on"])


def test_the_cni_enforces_network_policies(stack: dict[str, Any]) -> None:
    """Without the network policy agent EKS accepts the namespace's NetworkPolicies and enforces none."""
    addons = {a["addon_name"]: a for a in resources(stack, "aws_eks_addon")}
    assert json.loads(addons["vpc-cni"]["configuration_values"]) == {"enableNetworkPolicy": "true"}


def test_one_node_group_per_zone_with_imdsv2_and_a_drain_hook(synth: SynthOutput, stack: dict[str, Any]) -> None:
    groups = resources(stack, "aws_eks_node_group")
    zones = synth.configs["prod-eks"].network.availability_zones
    assert sorted(g["node_group_name"] for g in groups) == sorted(f"rudder-ha-prod-eks-{z}" for z in zones)
    assert all(len(g["subnet_ids"]) == 1 for g in groups)
    assert len({g["subnet_ids"][0] for g in groups}) == 3
    assert all(g["scaling_config"] == {"min_size": 1, "max_size": 3, "desired_size": 1} for g in groups)
    lt = only(stack, "aws_launch_template")
    assert lt["metadata_options"]["http_tokens"] == "required"
    assert lt["metadata_options"]["http_put_response_hop_limit"] == 1
    assert lt["block_device_mappings"][0]["ebs"]["encrypted"] == "true"
    hooks = resources(stack, "aws_autoscaling_lifecycle_hook")
    assert len(hooks) == 3
    for hook in hooks:
        assert hook["lifecycle_transition"] == "autoscaling:EC2_INSTANCE_TERMINATING"
        assert ".resources[0].autoscaling_groups[0].name" in hook["autoscaling_group_name"]
    subnets = resources(stack, "aws_subnet")
    assert all(s["tags"].get("kubernetes.io/role/elb") == "1" for s in subnets if s["tags"]["Tier"] == "public")


def test_node_role_joins_pulls_and_runs_session_manager_only(stack: dict[str, Any]) -> None:
    """No AmazonSSMManagedInstanceCore (every SSM parameter of the account): Session Manager and Run Command
    inline, and the narrowest image-pull policy. Pods never see the node role: IMDSv2 with hop limit 1 (a
    pod is one hop further) and EKS Pod Identity for the pods that call AWS."""
    role = next(k for k, r in stack["resource"]["aws_iam_role"].items() if r["name"] == "rudder-ha-prod-eks-eks-node")
    attached = sorted(
        a["policy_arn"].rsplit("/", 1)[1]
        for a in resources(stack, "aws_iam_role_policy_attachment")
        if a["role"] == f"${{aws_iam_role.{role}.name}}"
    )
    assert attached == ["AmazonEC2ContainerRegistryPullOnly", "AmazonEKSWorkerNodePolicy"]
    (inline,) = [p for p in resources(stack, "aws_iam_role_policy") if p["role"] == f"${{aws_iam_role.{role}.id}}"]
    assert inline["name"] == "ssm-agent"
    statements = json.loads(inline["policy"])["Statement"]
    for statement in statements:
        assert_scoped(statement)
    actions = {a for s in statements for a in s["Action"]}
    assert not [a for a in actions if a.startswith(("ssm:Get", "ssm:Put", "ssm:List", "ssm:Describe"))]
    groups = resources(stack, "aws_eks_node_group")
    assert all(f"aws_iam_role_policy.{k}" in g["depends_on"] for g in groups for k in _keys(stack, inline))


def _keys(stack: dict[str, Any], policy: dict[str, Any]) -> list[str]:
    return [k for k, p in stack["resource"]["aws_iam_role_policy"].items() if p is policy]


def test_node_drain_reuses_the_pipeline_with_the_eks_strategy(stack: dict[str, Any]) -> None:
    fn = next(f for f in resources(stack, "aws_lambda_function") if f["function_name"] == "rudder-ha-prod-eks-drain")
    env = fn["environment"]["variables"]
    assert env["DRAIN_STRATEGY"] == "eks"
    assert env["EKS_CLUSTER_NAME"].startswith("${aws_eks_cluster.")
    assert "DRAIN_CHECK_DOCUMENT" not in env
    assert fn["vpc_config"]["subnet_ids"] and fn["vpc_config"]["security_group_ids"]
    rule = next(r for r in resources(stack, "aws_cloudwatch_event_rule") if r["name"] == "rudder-ha-prod-eks-drain")
    names = json.loads(rule["event_pattern"])["detail"]["AutoScalingGroupName"]
    assert len(names) == 3 and all("autoscaling_groups[0].name" in n for n in names)
    (access,) = [e for e in resources(stack, "aws_eks_access_entry") if e.get("kubernetes_groups")]
    assert access["kubernetes_groups"] == ["rudder-ha:node-drainer"]
    assert resources(stack, "aws_ssm_document") == []
    drain_policies = [p for k, p in stack["resource"]["aws_iam_role_policy"].items() if k.startswith("drain_function")]
    assert {p["name"] for p in drain_policies} == {"least-privilege", "vpc-access"}
    assert not [a for a in resources(stack, "aws_iam_role_policy_attachment") if "drain_function" in a["role"]]
    for policy in drain_policies:
        for statement in json.loads(policy["policy"])["Statement"]:
            assert_scoped(statement)
    ingress = [
        r
        for r in resources(stack, "aws_vpc_security_group_ingress_rule")
        if "cluster_security_group_id" in r["security_group_id"]
    ]
    assert len(ingress) == 1 and ingress[0]["from_port"] == 443


def test_node_groups_follow_the_cluster_and_update_one_zone_at_a_time(stack: dict[str, Any]) -> None:
    """A version or launch-template change replaces one node at a time in one AZ at a time, and does not fail
    on EKS's 15-minute eviction window: the terminating lifecycle hook and the drain Lambda hold each retired
    node until its backend pods have drained (README, EKS: node upgrades)."""
    (cluster_key,) = stack["resource"]["aws_eks_cluster"]
    groups = stack["resource"]["aws_eks_node_group"]
    keys = sorted(groups, key=lambda k: groups[k]["node_group_name"])
    for i, key in enumerate(keys):
        group = groups[key]
        assert group["version"] == f"${{aws_eks_cluster.{cluster_key}.version}}"
        assert group["force_update_version"] is True
        assert group["update_config"] == {"max_unavailable": 1}
        if i:
            assert f"aws_eks_node_group.{keys[i - 1]}" in group["depends_on"]
    hooks = resources(stack, "aws_autoscaling_lifecycle_hook")
    assert len(hooks) == len(keys) and all(
        h["lifecycle_transition"] == "autoscaling:EC2_INSTANCE_TERMINATING" for h in hooks
    )
