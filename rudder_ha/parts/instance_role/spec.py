"""Names and policy documents of the data-plane instance role, shared by the cdktf construct
(:mod:`rudder_ha.parts.instance_role.cdktf`) and the Pulumi component (:mod:`rudder_ha.parts.instance_role.pulumi`).

Values may be Terraform tokens (cdktf) or plain strings resolved from Pulumi outputs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rudder_ha.common.policies import SSM_AGENT_POLICY_NAME, service_assume_role_policy, ssm_agent_policy
from rudder_ha.config.model import SecretRef
from rudder_ha.parts import Part

PART = Part("instance_role", "InstanceRole")
"""Renderers: :class:`rudder_ha.parts.instance_role.cdktf.InstanceRole` and its Pulumi twin."""

ROLE_DESCRIPTION = "rudder-ha data-plane instance"
SERVICE = "ec2.amazonaws.com"
"""The service that assumes the role."""
SSM_AGENT_POLICY = SSM_AGENT_POLICY_NAME
"""The inline policy giving the SSM agent Session Manager and Run Command (no SSH anywhere), written out in
:func:`rudder_ha.common.policies.ssm_agent_policy` in place of ``AmazonSSMManagedInstanceCore``, which would
let the instance read every SSM parameter of the account."""
SECRETS_POLICY_NAME = "read-workspace-token"
JOBSDB_POLICY_NAME = "read-jobsdb-connection"
SERVER_METRICS_POLICY_NAME = "publish-rudder-server-metrics"


@dataclass(frozen=True)
class InstanceRoleProps:
    """Props of ``InstanceRole`` (the cdktf construct and the Pulumi component alike)."""

    name_prefix: str
    region: str
    workspace_token: SecretRef
    server_metrics_namespace: str | None = None
    """The namespace the instance's CloudWatch agent publishes rudder-server's statsd metrics to (the only one
    it may put metrics in, :func:`server_metrics_policy`); None: no such policy."""


def role_name(name_prefix: str) -> str:
    """The role's (and the instance profile's) name."""
    return f"{name_prefix}-data-plane"


def role_args(name_prefix: str) -> dict[str, Any]:
    """The role's settings: name, description and the EC2 trust policy."""
    return {
        "name": role_name(name_prefix),
        "description": ROLE_DESCRIPTION,
        "assume_role_policy": service_assume_role_policy(SERVICE),
    }


def managed_policy_arn(partition: str, policy: str) -> str:
    """The ARN of an AWS managed policy."""
    return f"arn:{partition}:iam::aws:policy/{policy}"


def session_manager_policy(partition: str, region: str, account: str) -> dict:
    """Session Manager and Run Command for the instance, and no parameter, document or inventory access
    (:func:`rudder_ha.common.policies.ssm_agent_policy`)."""
    return ssm_agent_policy(partition, region, account)


def ssm_parameter_arn(partition: str, region: str, account: str, parameter_name: str) -> str:
    """The ARN of an SSM parameter whose name starts with ``/``."""
    return f"arn:{partition}:ssm:{region}:{account}:parameter{parameter_name}"


def workspace_token_policy(token: SecretRef, partition: str, region: str, account: str) -> dict:
    """Read access to exactly one secret, the workspace token (and its key, through that service only)."""
    statements: list[dict] = []
    if token.ssm_parameter:
        statements.append(
            {
                "Sid": "ReadWorkspaceToken",
                "Effect": "Allow",
                "Action": "ssm:GetParameter",
                "Resource": ssm_parameter_arn(partition, region, account, token.ssm_parameter),
            }
        )
    else:
        statements.append(
            {
                "Sid": "ReadWorkspaceToken",
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": token.secrets_manager_arn,
            }
        )
    if token.kms_key_arn:
        service = "ssm" if token.ssm_parameter else "secretsmanager"
        statements.append(
            {
                "Sid": "DecryptWorkspaceToken",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": token.kms_key_arn,
                "Condition": {"StringEquals": {"kms:ViaService": f"{service}.{region}.amazonaws.com"}},
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def jobsdb_connection_policy(
    parameter_name: str, admin_secret_arn: str, kms_key_arn: str, partition: str, region: str, account: str
) -> dict:
    """Read access to where the RDS jobsdb is and to its admin secret (for the fence agent)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadJobsdbConnection",
                "Effect": "Allow",
                "Action": "ssm:GetParameter",
                "Resource": ssm_parameter_arn(partition, region, account, parameter_name),
            },
            {
                "Sid": "ReadJobsdbAdminSecret",
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": admin_secret_arn,
            },
            {
                "Sid": "DecryptJobsdbAdminSecret",  # and the connection parameter
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": kms_key_arn,
                "Condition": {
                    "StringEquals": {
                        "kms:ViaService": [
                            f"secretsmanager.{region}.amazonaws.com",
                            f"ssm.{region}.amazonaws.com",
                        ]
                    }
                },
            },
        ],
    }


def server_metrics_policy(namespace: str) -> dict:
    """``cloudwatch:PutMetricData`` into one namespace: the action takes no resource ARN, so ``Resource`` is
    ``*`` and the ``cloudwatch:namespace`` condition is what holds it to rudder-server's metrics."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PublishRudderServerMetrics",
                "Effect": "Allow",
                "Action": "cloudwatch:PutMetricData",
                "Resource": "*",
                "Condition": {"StringEquals": {"cloudwatch:namespace": namespace}},
            }
        ],
    }
