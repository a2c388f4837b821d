"""The jobsdb on a Multi-AZ RDS PostgreSQL (``jobsdb.mode: rds``), so accepted events survive the loss of
the instance and of an availability zone (Pulumi counterpart of :mod:`rudder_ha.parts.jobsdb_database.cdktf`;
names and settings from :mod:`rudder_ha.parts.jobsdb_database.spec`)."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from rudder_ha.parts.jobsdb_database import spec
from rudder_ha.parts.jobsdb_database.spec import (
    ADMIN_USER,
    DATABASE_NAME,
    PARAMETERS,
    POSTGRES_PORT,
    JobsdbDatabaseProps,
)

__all__ = ["ADMIN_USER", "DATABASE_NAME", "PARAMETERS", "POSTGRES_PORT", "JobsdbDatabase", "JobsdbDatabaseProps"]


class JobsdbDatabase(pulumi.ComponentResource):
    """Multi-AZ, encrypted, backed-up PostgreSQL whose master password RDS keeps in Secrets Manager
    (``manage_master_user_password``): no password in config, user data or state.

    Where to connect is published, without secrets, as JSON in the SSM SecureString parameter
    ``/rudder-ha/<env>/jobsdb`` (host, port, database, admin secret ARN), which instances read at boot.
    Call :meth:`allow_from` with the instances' security group.

    Attributes: ``security_group``, ``instance``, ``connection_parameter``, ``address``, ``master_secret_arn``.
    """

    def __init__(self, name: str, props: JobsdbDatabaseProps, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("rudder-ha:jobsdb_database:JobsdbDatabase", name, None, opts)
        self._name = name
        child = pulumi.ResourceOptions(parent=self)
        s = props.settings
        db_name = spec.database_name(props.name_prefix)
        key = s.kms_key_arn or props.kms_key_arn
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-sg", **spec.security_group_args(db_name, props.vpc_id), opts=child
        )
        subnets = aws.rds.SubnetGroup(
            f"{name}-subnets",
            name=db_name,
            description=spec.SUBNET_GROUP_DESCRIPTION,
            subnet_ids=props.private_subnet_ids,
            opts=child,
        )
        parameters = aws.rds.ParameterGroup(
            f"{name}-parameters",
            **spec.parameter_group_args(db_name, s),
            parameters=[aws.rds.ParameterGroupParameterArgs(**p) for p in spec.parameter_group_parameters()],
            opts=child,
        )
        monitoring = aws.iam.Role(f"{name}-monitoring_role", **spec.monitoring_role_args(db_name), opts=child)
        aws.iam.RolePolicyAttachment(
            f"{name}-monitoring_policy", role=monitoring.name, policy_arn=spec.MONITORING_POLICY_ARN, opts=child
        )
        self.instance = aws.rds.Instance(
            f"{name}-db",
            **spec.instance_settings(s, db_name, key, props.final_snapshot),
            db_subnet_group_name=subnets.name,
            vpc_security_group_ids=[self.security_group.id],
            parameter_group_name=parameters.name,
            monitoring_role_arn=monitoring.arn,
            opts=child,
        )
        self.connection_parameter = aws.ssm.Parameter(
            f"{name}-connection",
            **spec.connection_parameter_args(props.connection_parameter, db_name, key),
            # Rendered as Terraform's jsonencode renders it, so both front ends store the same value.
            value=pulumi.Output.all(self.address, self.master_secret_arn).apply(
                lambda v: spec.terraform_jsonencode(spec.connection_document(v[0], v[1]))
            ),
            opts=child,
        )
        self.register_outputs({"address": self.address, "master_secret_arn": self.master_secret_arn})

    def allow_from(self, client_security_group_id: pulumi.Input[str]) -> aws.vpc.SecurityGroupIngressRule:
        """Lets instances in ``client_security_group_id`` (and nothing else) connect."""
        return aws.vpc.SecurityGroupIngressRule(
            f"{self._name}-ingress_postgres",
            **spec.ingress_rule_args(self.security_group.id, client_security_group_id),
            opts=pulumi.ResourceOptions(parent=self),
        )

    @property
    def address(self) -> pulumi.Output[str]:
        """The endpoint's host name (it follows a Multi-AZ failover)."""
        return self.instance.address

    @property
    def master_secret_arn(self) -> pulumi.Output[str]:
        """The Secrets Manager secret RDS manages for the admin user."""
        # RDS always reports the secret of a managed master password once the instance exists.
        return self.instance.master_user_secrets.apply(lambda secrets: secrets[0].secret_arn if secrets else None)
