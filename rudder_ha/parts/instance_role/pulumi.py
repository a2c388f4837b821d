"""The IAM role and instance profile of a data-plane instance (Pulumi counterpart of
:mod:`rudder_ha.parts.instance_role.cdktf`; names and documents from :mod:`rudder_ha.parts.instance_role.spec`)."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from rudder_ha.common.policies import policy_json
from rudder_ha.parts.instance_role import spec
from rudder_ha.parts.instance_role.spec import InstanceRoleProps

__all__ = ["InstanceRole", "InstanceRoleProps"]


class InstanceRole(pulumi.ComponentResource):
    """Session Manager and Run Command (no SSH anywhere; no AWS managed policy) plus read access to exactly one
    secret, the workspace token.

    Attributes: ``role``, ``ssm_agent`` (the SSM agent's policy), ``policy`` (the workspace-token policy),
    ``profile``. :meth:`allow_jobsdb` adds
    read access to the RDS jobsdb's connection parameter and admin secret."""

    def __init__(self, name: str, props: InstanceRoleProps, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("rudder-ha:instance_role:InstanceRole", name, None, opts)
        self._name = name
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        self._partition = aws.get_partition_output(opts=invoke).partition
        self._account = aws.get_caller_identity_output(opts=invoke).account_id
        self._region = props.region
        self.role = aws.iam.Role(f"{name}-role", **spec.role_args(props.name_prefix), opts=child)
        self.ssm_agent = aws.iam.RolePolicy(
            f"{name}-ssm_agent",
            role=self.role.id,
            name=spec.SSM_AGENT_POLICY,
            policy=pulumi.Output.all(self._partition, self._account).apply(
                lambda v: policy_json(spec.session_manager_policy(v[0], props.region, v[1]))
            ),
            opts=child,
        )
        token = props.workspace_token
        self.policy = aws.iam.RolePolicy(
            f"{name}-secrets",
            role=self.role.id,
            name=spec.SECRETS_POLICY_NAME,
            policy=pulumi.Output.all(self._partition, self._account).apply(
                lambda v: policy_json(spec.workspace_token_policy(token, v[0], props.region, v[1]))
            ),
            opts=child,
        )
        if props.server_metrics_namespace:
            self.server_metrics = aws.iam.RolePolicy(
                f"{name}-server_metrics",
                role=self.role.id,
                name=spec.SERVER_METRICS_POLICY_NAME,
                policy=policy_json(spec.server_metrics_policy(props.server_metrics_namespace)),
                opts=child,
            )
        self.profile = aws.iam.InstanceProfile(
            f"{name}-profile", name=spec.role_name(props.name_prefix), role=self.role.name, opts=child
        )
        self.register_outputs({"role_arn": self.role.arn, "profile_arn": self.profile.arn})

    def allow_jobsdb(
        self, parameter_name: str, admin_secret_arn: pulumi.Input[str], kms_key_arn: pulumi.Input[str]
    ) -> aws.iam.RolePolicy:
        """Lets the instance read where the RDS jobsdb is and its admin secret (for the fence agent)."""
        region = self._region
        return aws.iam.RolePolicy(
            f"{self._name}-jobsdb",
            role=self.role.id,
            name=spec.JOBSDB_POLICY_NAME,
            policy=pulumi.Output.all(self._partition, self._account, admin_secret_arn, kms_key_arn).apply(
                lambda v: policy_json(spec.jobsdb_connection_policy(parameter_name, v[2], v[3], v[0], region, v[1]))
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
