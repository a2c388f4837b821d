"""The IAM role and instance profile of a data-plane instance."""

from __future__ import annotations

from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.iam_instance_profile import IamInstanceProfile
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from constructs import Construct

from rudder_ha.frontends.cdktf.naming import policy_json
from rudder_ha.parts.instance_role import spec
from rudder_ha.parts.instance_role.spec import InstanceRoleProps

__all__ = ["InstanceRole", "InstanceRoleProps"]


class InstanceRole(Construct):
    """Session Manager and Run Command (no SSH anywhere; no AWS managed policy) plus read access to exactly one
    secret, the workspace token (and, with :meth:`allow_jobsdb`, the RDS jobsdb's connection parameter and
    admin secret). Nothing else of SSM: no other parameter, document or inventory."""

    def __init__(self, scope: Construct, id_: str, props: InstanceRoleProps) -> None:
        super().__init__(scope, id_)
        partition = DataAwsPartition(self, "partition").partition
        account = DataAwsCallerIdentity(self, "account").account_id
        self.role = IamRole(self, "role", **spec.role_args(props.name_prefix))
        self.ssm_agent = IamRolePolicy(
            self,
            "ssm_agent",
            role=self.role.id,
            name=spec.SSM_AGENT_POLICY,
            policy=policy_json(spec.session_manager_policy(partition, props.region, account)),
        )
        self.policy = IamRolePolicy(
            self,
            "secrets",
            role=self.role.id,
            name=spec.SECRETS_POLICY_NAME,
            policy=policy_json(spec.workspace_token_policy(props.workspace_token, partition, props.region, account)),
        )
        self._partition, self._account, self._region = partition, account, props.region
        if props.server_metrics_namespace:
            self.server_metrics = IamRolePolicy(
                self,
                "server_metrics",
                role=self.role.id,
                name=spec.SERVER_METRICS_POLICY_NAME,
                policy=policy_json(spec.server_metrics_policy(props.server_metrics_namespace)),
            )
        self.profile = IamInstanceProfile(self, "profile", name=spec.role_name(props.name_prefix), role=self.role.name)

    def allow_jobsdb(self, parameter_name: str, admin_secret_arn: str, kms_key_arn: str) -> None:
        """Lets the instance read where the RDS jobsdb is and its admin secret (for the fence agent)."""
        IamRolePolicy(
            self,
            "jobsdb",
            role=self.role.id,
            name=spec.JOBSDB_POLICY_NAME,
            policy=policy_json(
                spec.jobsdb_connection_policy(
                    parameter_name, admin_secret_arn, kms_key_arn, self._partition, self._region, self._account
                )
            ),
        )
