"""The IAM role and instance profile of a data-plane instance."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.iam_instance_profile import IamInstanceProfile
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from constructs import Construct

from rudder_ha.config.model import SecretRef
from rudder_ha.constructs.naming import policy_json, service_assume_role_policy


@dataclass(frozen=True)
class InstanceRoleProps:
    """Props of :class:`InstanceRole`."""

    name_prefix: str
    region: str
    workspace_token: SecretRef


class InstanceRole(Construct):
    """Session Manager access (no SSH anywhere) plus read access to exactly one secret: the workspace token."""

    def __init__(self, scope: Construct, id_: str, props: InstanceRoleProps) -> None:
        super().__init__(scope, id_)
        partition = DataAwsPartition(self, "partition").partition
        account = DataAwsCallerIdentity(self, "account").account_id
        self.role = IamRole(
            self,
            "role",
            name=f"{props.name_prefix}-data-plane",
            description="rudder-ha data-plane instance",
            assume_role_policy=service_assume_role_policy("ec2.amazonaws.com"),
        )
        IamRolePolicyAttachment(
            self,
            "ssm_core",
            role=self.role.name,
            policy_arn=f"arn:{partition}:iam::aws:policy/AmazonSSMManagedInstanceCore",
        )
        token = props.workspace_token
        statements: list[dict] = []
        if token.ssm_parameter:
            statements.append(
                {
                    "Sid": "ReadWorkspaceToken",
                    "Effect": "Allow",
                    "Action": "ssm:GetParameter",
                    "Resource": f"arn:{partition}:ssm:{props.region}:{account}:parameter{token.ssm_parameter}",
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
                    "Condition": {"StringEquals": {"kms:ViaService": f"{service}.{props.region}.amazonaws.com"}},
                }
            )
        self.policy = IamRolePolicy(
            self,
            "secrets",
            role=self.role.id,
            name="read-workspace-token",
            policy=policy_json({"Version": "2012-10-17", "Statement": statements}),
        )
        self._partition, self._account, self._region = partition, account, props.region
        self.profile = IamInstanceProfile(self, "profile", name=f"{props.name_prefix}-data-plane", role=self.role.name)

    def allow_jobsdb(self, parameter_name: str, admin_secret_arn: str, kms_key_arn: str) -> None:
        """Lets the instance read where the RDS jobsdb is and its admin secret (for the fence agent)."""
        IamRolePolicy(
            self,
            "jobsdb",
            role=self.role.id,
            name="read-jobsdb-connection",
            policy=policy_json(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "ReadJobsdbConnection",
                            "Effect": "Allow",
                            "Action": "ssm:GetParameter",
                            "Resource": (
                                f"arn:{self._partition}:ssm:{self._region}:{self._account}:parameter{parameter_name}"
                            ),
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
                                        f"secretsmanager.{self._region}.amazonaws.com",
                                        f"ssm.{self._region}.amazonaws.com",
                                    ]
                                }
                            },
                        },
                    ],
                }
            ),
        )
