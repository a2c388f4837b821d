"""The jobsdb on a Multi-AZ RDS PostgreSQL (``jobsdb.mode: rds``), so accepted events survive the loss of
the instance and of an availability zone (Pulumi counterpart of :mod:`rudder_ha.constructs.jobsdb_database`;
names and settings from :mod:`rudder_ha.specs.jobsdb_database`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from rudder_ha.config.model import JobsdbSettings
from rudder_ha.policies import service_assume_role_policy
from rudder_ha.specs import jobsdb_database as spec
from rudder_ha.specs.jobsdb_database import ADMIN_USER, DATABASE_NAME, PARAMETERS, POSTGRES_PORT

__all__ = ["ADMIN_USER", "DATABASE_NAME", "PARAMETERS", "POSTGRES_PORT", "JobsdbDatabase", "JobsdbDatabaseProps"]


@dataclass(frozen=True)
class JobsdbDatabaseProps:
    """Props of :class:`JobsdbDatabase`."""

    name_prefix: str
    vpc_id: pulumi.Input[str]
    private_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    settings: JobsdbSettings
    kms_key_arn: pulumi.Input[str]
    """Encrypts storage, Performance Insights and the managed master secret (unless settings name a key)."""
    connection_parameter: str
    """SSM parameter name for the connection settings, e.g. ``/rudder-ha/prod/jobsdb``."""
    final_snapshot: bool = True


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
            f"{name}-sg",
            name=db_name,
            description=spec.security_group_description(db_name),
            vpc_id=props.vpc_id,
            tags={"Name": db_name},
            opts=child,
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
            name=spec.parameter_group_name(db_name, s),
            family=spec.parameter_group_family(s),
            description=spec.parameter_group_description(db_name),
            parameters=[
                aws.rds.ParameterGroupParameterArgs(name=k, value=v, apply_method=spec.parameter_apply_method(k))
                for k, v in PARAMETERS.items()
            ],
            opts=child,
        )
        monitoring = aws.iam.Role(
            f"{name}-monitoring_role",
            name=spec.monitoring_role_name(db_name),
            assume_role_policy=service_assume_role_policy(spec.MONITORING_SERVICE),
            opts=child,
        )
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
            name=props.connection_parameter,
            # Holds no password (that stays in the admin secret), encrypted all the same.
            type=spec.CONNECTION_PARAMETER_TYPE,
            key_id=key,
            description=spec.connection_parameter_description(db_name),
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
            security_group_id=self.security_group.id,
            referenced_security_group_id=client_security_group_id,
            ip_protocol="tcp",
            from_port=POSTGRES_PORT,
            to_port=POSTGRES_PORT,
            description=spec.INGRESS_DESCRIPTION,
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
