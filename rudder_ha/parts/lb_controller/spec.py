"""The AWS Load Balancer Controller of the eks topology: its Helm chart pin, Helm values, and the IAM policy
of its EKS Pod Identity role, shared with :mod:`rudder_ha.parts.lb_controller.cdktf`. cdktf only (the eks
topology has no Pulumi renderer), hence no ``PART``; nothing here imports a front end."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rudder_ha.common.policies import allow_statement
from rudder_ha.parts.eks_cluster.spec import KUBE_SYSTEM

NAMESPACE = KUBE_SYSTEM
REPOSITORY = "https://aws.github.io/eks-charts"
CHART = "aws-load-balancer-controller"
VERSION = "1.13.0"
"""Chart 1.13.0 = controller v2.13.0 (target type ip, readiness gates, TLS 1.3 policies)."""
SERVICE_ACCOUNT = "aws-load-balancer-controller"
REPLICAS = 2

CLUSTER_TAG = "elbv2.k8s.aws/cluster"
"""The tag the controller puts on every load balancer, target group, listener, rule and security
group it creates, valued with the cluster name; the policy only lets it change what carries it."""

DESCRIBE_ACTIONS = frozenset(
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
"""The controller's read-only calls; none of them accepts a resource ARN (Service Authorization Reference), so
they take ``*`` (each is in :data:`rudder_ha.common.policies.ACTIONS_WITHOUT_RESOURCES`).
``ec2:GetSecurityGroupsForVpc`` does take one, the VPC: it is granted on the cluster's VPC only."""

LISTENER_AND_RULE_ACTIONS = (
    "elasticloadbalancing:AddListenerCertificates",
    "elasticloadbalancing:DeleteListener",
    "elasticloadbalancing:ModifyListener",
    "elasticloadbalancing:RemoveListenerCertificates",
    "elasticloadbalancing:CreateRule",
    "elasticloadbalancing:DeleteRule",
    "elasticloadbalancing:ModifyRule",
)
"""Calls on an existing listener or rule (authorized on that listener or rule)."""


@dataclass(frozen=True)
class LbControllerProps:
    """Props of :func:`rudder_ha.parts.lb_controller.cdktf.lb_controller`. Values may be Terraform tokens."""

    cluster_name: str
    region: str
    partition: str
    account: str
    vpc_id: str
    """Given to the chart, not discovered: pods cannot reach IMDS (IMDSv2, hop limit 1)."""
    waf_web_acl_arn: str | None = None
    """The WAFv2 web ACL the controller may attach to its ALBs; none, no WAF permission at all."""


def role_name(cluster_name: str) -> str:
    """The controller's Pod Identity role."""
    return f"{cluster_name}-lb-controller"


def lb_controller_policy(
    *, cluster_name: str, region: str, partition: str, account: str, vpc_id: str, waf_web_acl_arn: str | None
) -> dict:
    """What the AWS Load Balancer Controller needs for ALBs from Ingresses, and no more.

    Written from AWS's reference policy (``docs/install/iam_policy.json`` of kubernetes-sigs/
    aws-load-balancer-controller), narrowed: only ``app`` load balancers, resources of this region and
    account, security groups only in the cluster's VPC, and every create/modify/delete only on resources
    tagged ``elbv2.k8s.aws/cluster=<cluster>`` (or tagged so in the create request). Shield, WAF Classic
    and Cognito are turned off in the chart, so none of their permissions is granted; WAFv2 only when the
    environment names a web ACL. ACM discovery is not needed: the Ingress names its certificate.

    Listeners and rules: the reference policy lets the controller create, change and delete listeners and
    rules of any load balancer in the account. Here a listener is created only on a load balancer tagged
    for this cluster, and a listener or rule is changed or deleted (and a rule created on a listener) only
    when it carries the cluster tag itself: the Service Authorization Reference documents
    ``aws:ResourceTag`` on the ``loadbalancer/app``, ``listener/app`` and ``listener-rule/app`` resource
    types these calls are authorized on, and the controller tags the listeners and rules it creates
    (``TagOnCreate``). Every ``elasticloadbalancing`` call here thus has a tag condition; the only ones
    left on ``*`` are the Describe calls, which take no resource.
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
        allow_statement(
            "ElbServiceLinkedRole",
            ["iam:CreateServiceLinkedRole"],
            f"arn:{partition}:iam::{account}:role/aws-service-role/elasticloadbalancing.amazonaws.com/"
            "AWSServiceRoleForElasticLoadBalancing",
            {"StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}},
        ),
        # Describe* calls of EC2 and ELB take no resource ARN (Service Authorization Reference).
        allow_statement("Discover", sorted(DESCRIBE_ACTIONS), "*"),
        # GetSecurityGroupsForVpc is authorized on the VPC it lists: the cluster's.
        allow_statement("SecurityGroupsOfClusterVpc", ["ec2:GetSecurityGroupsForVpc"], f"{ec2}:vpc/{vpc_id}"),
        allow_statement(
            "BackendSecurityGroupRules",
            ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"],
            security_groups,
            {"ArnEquals": {"ec2:Vpc": f"{ec2}:vpc/{vpc_id}"}},
        ),
        allow_statement("CreateSecurityGroup", ["ec2:CreateSecurityGroup"], security_groups, tagged_in_request),
        # CreateSecurityGroup is also authorized on the VPC it is made in: the cluster's only.
        allow_statement("CreateSecurityGroupInClusterVpc", ["ec2:CreateSecurityGroup"], f"{ec2}:vpc/{vpc_id}"),
        allow_statement(
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
        allow_statement(
            "TagOwnSecurityGroups", ["ec2:CreateTags", "ec2:DeleteTags"], security_groups, keeps_cluster_tag
        ),
        allow_statement(
            "ManageOwnSecurityGroups",
            ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress", "ec2:DeleteSecurityGroup"],
            security_groups,
            ours,
        ),
        allow_statement(
            "CreateLoadBalancers",
            ["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup"],
            [load_balancers, target_groups],
            tagged_in_request,
        ),
        allow_statement(
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
        allow_statement(
            "TagOwnLoadBalancers",
            ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"],
            [load_balancers, target_groups, listeners, rules],
            keeps_cluster_tag,
        ),
        allow_statement(
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
        # A listener only on one of this cluster's load balancers (CreateListener is authorized on the
        # load balancer); listeners and rules changed only when they carry this cluster's tag.
        allow_statement(
            "CreateListenersOnOwnLoadBalancers", ["elasticloadbalancing:CreateListener"], load_balancers, ours
        ),
        allow_statement("ManageOwnListenersAndRules", list(LISTENER_AND_RULE_ACTIONS), [listeners, rules], ours),
    ]
    if waf_web_acl_arn:
        statements.append(
            allow_statement(
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


def policy(props: LbControllerProps) -> dict:
    """:func:`lb_controller_policy` for ``props``."""
    return lb_controller_policy(
        cluster_name=props.cluster_name,
        region=props.region,
        partition=props.partition,
        account=props.account,
        vpc_id=props.vpc_id,
        waf_web_acl_arn=props.waf_web_acl_arn,
    )


def helm_values(props: LbControllerProps) -> dict[str, Any]:
    """The chart's values, besides ``vpcId`` (a Terraform token, given as a ``set`` of the release)."""
    return {
        "clusterName": props.cluster_name,
        # Region and VPC given, not discovered: pods cannot reach IMDS (IMDSv2, hop limit 1).
        "region": props.region,
        "replicaCount": REPLICAS,
        "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT},
        "podDisruptionBudget": {"maxUnavailable": 1},
        "enableShield": False,
        "enableWaf": False,
        "enableWafv2": bool(props.waf_web_acl_arn),
        # Only Ingresses here: leave Services of type LoadBalancer to their own annotations.
        "enableServiceMutatorWebhook": False,
    }
