"""IAM and resource-policy documents as JSON, shared by the cdktf constructs and the Pulumi components.

Nothing here imports a front end: values may be Terraform tokens (cdktf) or plain strings resolved from
Pulumi outputs, and the documents come out the same.
"""

from __future__ import annotations

import json


def policy_json(document: dict) -> str:
    """A policy document as stable JSON (tokens inside stay Terraform expressions)."""
    return json.dumps(document, sort_keys=False)


def deny_insecure_transport(action: str, resource: str | list[str]) -> dict:
    """The resource-policy statement refusing any request not made over TLS."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": action,
        "Resource": resource,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def service_assume_role_policy(service: str, conditions: dict | None = None) -> str:
    """A trust policy letting one AWS service (e.g. ``ec2.amazonaws.com``) assume the role."""
    statement: dict = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    if conditions:
        statement["Condition"] = conditions
    return policy_json({"Version": "2012-10-17", "Statement": [statement]})


def console_url(region: str, fragment: str) -> str:
    """A link to the AWS console page for a resource in ``region``."""
    return f"https://{region}.console.aws.amazon.com/{fragment}"


def allow_statement(sid: str, actions: list[str], resources: str | list[str], condition: dict | None = None) -> dict:
    """An ``Allow`` statement of an IAM policy; ``Condition`` only when one is given."""
    statement: dict = {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}
    if condition:
        statement["Condition"] = condition
    return statement


# --- Least privilege: what may take ``Resource: "*"``, which AWS managed policies may be attached -------------

ACTIONS_WITHOUT_RESOURCES: dict[str, str] = {
    # Session Manager and Run Command (the SSM agent on every instance of ours).
    "ssmmessages:CreateControlChannel": "Session Manager channel; SAR lists no resource type",
    "ssmmessages:CreateDataChannel": "Session Manager channel; SAR lists no resource type",
    "ssmmessages:OpenControlChannel": "Session Manager channel; SAR lists no resource type",
    "ssmmessages:OpenDataChannel": "Session Manager channel; SAR lists no resource type",
    "ec2messages:AcknowledgeMessage": "Run Command message; SAR lists no resource type",
    "ec2messages:DeleteMessage": "Run Command message; SAR lists no resource type",
    "ec2messages:FailMessage": "Run Command message; SAR lists no resource type",
    "ec2messages:GetEndpoint": "Run Command message; SAR lists no resource type",
    "ec2messages:GetMessages": "Run Command message; SAR lists no resource type",
    "ec2messages:SendReply": "Run Command message; SAR lists no resource type",
    # Telemetry.
    "xray:PutTraceSegments": "X-Ray has no resource-level permissions",
    "xray:PutTelemetryRecords": "X-Ray has no resource-level permissions",
    "cloudwatch:PutMetricData": "no resource type; held to one namespace by cloudwatch:namespace",
    # Read-only lookups (Describe/Get calls that take no ARN).
    "autoscaling:DescribeAutoScalingGroups": "Describe call: no resource type",
    "autoscaling:DescribeLifecycleHooks": "Describe call: no resource type",
    "autoscaling:DescribeWarmPool": "Describe call: no resource type",
    "ssm:GetCommandInvocation": "no resource type (the command id is not an ARN)",
    "ec2:DescribeAccountAttributes": "Describe call: no resource type",
    "ec2:DescribeAddresses": "Describe call: no resource type",
    "ec2:DescribeAvailabilityZones": "Describe call: no resource type",
    "ec2:DescribeInstances": "Describe call: no resource type",
    "ec2:DescribeInternetGateways": "Describe call: no resource type",
    "ec2:DescribeNetworkInterfaces": "Describe call: no resource type",
    "ec2:DescribeRouteTables": "Describe call: no resource type",
    "ec2:DescribeSecurityGroups": "Describe call: no resource type",
    "ec2:DescribeSubnets": "Describe call: no resource type",
    "ec2:DescribeTags": "Describe call: no resource type",
    "ec2:DescribeVpcs": "Describe call: no resource type",
    "ec2:DescribeNetworkAcls": "Describe call: no resource type",
    "ec2:DescribeManagedPrefixLists": "Describe call: no resource type",
    # The drill's FIS role (rudder_ha/parts/drill_experiment/).
    "ec2:InjectApiError": "FIS API-error injection: SAR lists no resource type; held to one FIS action and one "
    "group by ec2:FisActionId and ec2:FisTargetArns",
    "elasticloadbalancing:DescribeListenerAttributes": "Describe call: no resource type",
    "elasticloadbalancing:DescribeListenerCertificates": "Describe call: no resource type",
    "elasticloadbalancing:DescribeListeners": "Describe call: no resource type",
    "elasticloadbalancing:DescribeLoadBalancerAttributes": "Describe call: no resource type",
    "elasticloadbalancing:DescribeLoadBalancers": "Describe call: no resource type",
    "elasticloadbalancing:DescribeRules": "Describe call: no resource type",
    "elasticloadbalancing:DescribeSSLPolicies": "Describe call: no resource type",
    "elasticloadbalancing:DescribeTags": "Describe call: no resource type",
    "elasticloadbalancing:DescribeTargetGroupAttributes": "Describe call: no resource type",
    "elasticloadbalancing:DescribeTargetGroups": "Describe call: no resource type",
    "elasticloadbalancing:DescribeTargetHealth": "Describe call: no resource type",
}
"""The only actions an ``Allow`` statement of ours may grant on ``Resource: "*"``, each with why: the Service
Authorization Reference (SAR) lists no resource type for them, so no ARN could narrow them.
``tests/test_iam_least_privilege.py`` refuses ``"*"`` for any other action."""

AWS_MANAGED_POLICIES_ALLOWED: dict[str, str] = {
    "AmazonEKSClusterPolicy": "the EKS control plane's role; EKS documents exactly this policy and keeps it current",
    "AmazonEKSWorkerNodePolicy": "EKS nodes join the cluster with it (eks:DescribeCluster, ec2:Describe*); "
    "EKS documents it and changes it with new node features",
    "AmazonEC2ContainerRegistryPullOnly": "nodes pull the add-on and pause images from AWS-owned ECR registries in "
    "other accounts: pull-only (no list or describe), the narrowest one EKS documents",
    "AmazonEKS_CNI_Policy": "the vpc-cni add-on's Pod Identity role (ENIs and IPs on nodes), as EKS documents",
    "AmazonEBSCSIDriverPolicy": "the aws-ebs-csi-driver add-on's Pod Identity role; its tag conditions hold it to "
    "volumes and snapshots the driver made",
    "AmazonRDSEnhancedMonitoringRole": "RDS enhanced monitoring's role: writes only the RDSOSMetrics log group",
}
"""The AWS managed policies a role of ours may have (by name, after ``policy/`` or ``policy/service-role/``), each
with why; every other permission is an inline policy written here."""


SESSION_MANAGER_ACTIONS = [
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
]
"""What the SSM agent needs for Session Manager sessions."""
RUN_COMMAND_ACTIONS = [
    "ec2messages:AcknowledgeMessage",
    "ec2messages:DeleteMessage",
    "ec2messages:FailMessage",
    "ec2messages:GetEndpoint",
    "ec2messages:GetMessages",
    "ec2messages:SendReply",
]
"""What the SSM agent needs to receive and answer Run Command (the drain check, Image Builder's build steps)."""
SSM_AGENT_POLICY_NAME = "ssm-agent"
"""Name of the inline policy :func:`ssm_agent_policy` makes, on every instance role that has one."""


def ssm_agent_policy(partition: str, region: str, account: str) -> dict:
    """Session Manager and Run Command for an instance role, and nothing else: in place of the AWS managed
    ``AmazonSSMManagedInstanceCore``, which also grants ``ssm:GetParameter(s)`` on every parameter of the
    account (other environments' workspace tokens included), documents, State Manager associations,
    inventory, compliance, patching and Distributor, none of which is used here.

    ``ssm:UpdateInstanceInformation`` (the agent registering and reporting its health) takes the instance as its
    resource: held to EC2 instances of this account and region, called with credentials EC2 delivered to an
    instance (``ec2:SourceInstanceARN``; the SAR documents no tag condition for it). The ``ssmmessages`` and
    ``ec2messages`` calls take no resource (see :data:`ACTIONS_WITHOUT_RESOURCES`). The agent's State Manager
    poller (``ssm:ListInstanceAssociations``) is refused and logs so: no association targets our instances.
    """
    instances = f"arn:{partition}:ec2:{region}:{account}:instance/*"
    return {
        "Version": "2012-10-17",
        "Statement": [
            allow_statement(
                "RegisterWithSystemsManager",
                ["ssm:UpdateInstanceInformation"],
                instances,
                {"ArnLike": {"ec2:SourceInstanceARN": instances}},
            ),
            allow_statement("SessionManagerChannels", list(SESSION_MANAGER_ACTIONS), "*"),
            allow_statement("RunCommandMessages", list(RUN_COMMAND_ACTIONS), "*"),
        ],
    }
