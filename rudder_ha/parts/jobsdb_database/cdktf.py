"""The jobsdb on a Multi-AZ RDS PostgreSQL (``jobsdb.mode: rds``), so accepted events survive the
loss of the instance and of an availability zone."""

from __future__ import annotations

from cdktf import Fn
from cdktf_cdktf_provider_aws.db_instance import DbInstance
from cdktf_cdktf_provider_aws.db_parameter_group import DbParameterGroup, DbParameterGroupParameter
from cdktf_cdktf_provider_aws.db_subnet_group import DbSubnetGroup
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.ssm_parameter import SsmParameter
from cdktf_cdktf_provider_aws.vpc_security_group_ingress_rule import VpcSecurityGroupIngressRule
from constructs import Construct

from rudder_ha.parts.jobsdb_database import spec
from rudder_ha.parts.jobsdb_database.spec import (
    ADMIN_USER,
    DATABASE_NAME,
    PARAMETERS,
    POSTGRES_PORT,
    JobsdbDatabaseProps,
)

__all__ = ["ADMIN_USER", "DATABASE_NAME", "PARAMETERS", "POSTGRES_PORT", "JobsdbDatabase", "JobsdbDatabaseProps"]


class JobsdbDatabase(Construct):
    """Multi-AZ, encrypted, backed-up PostgreSQL whose master password RDS keeps in Secrets Manager
    (``manage_master_user_password``): no password in config, user data or Terraform state.

    Where to connect is published, without secrets, as JSON in the SSM SecureString parameter
    ``/rudder-ha/<env>/jobsdb`` (host, port, database, admin secret ARN), which instances read at boot:
    the user data stays free of Terraform values. Call :meth:`allow_from` with the instances' group."""

    def __init__(self, scope: Construct, id_: str, props: JobsdbDatabaseProps) -> None:
        super().__init__(scope, id_)
        s = props.settings
        name = spec.database_name(props.name_prefix)
        key = s.kms_key_arn or props.kms_key_arn
        self.security_group = SecurityGroup(self, "sg", **spec.security_group_args(name, props.vpc_id))
        subnets = DbSubnetGroup(self, "subnets", name=name, subnet_ids=props.private_subnet_ids)
        parameters = DbParameterGroup(
            self,
            "parameters",
            **spec.parameter_group_args(name, s),
            parameter=[DbParameterGroupParameter(**p) for p in spec.parameter_group_parameters()],
        )
        monitoring = IamRole(self, "monitoring_role", **spec.monitoring_role_args(name))
        IamRolePolicyAttachment(
            self,
            "monitoring_policy",
            role=monitoring.name,
            policy_arn=spec.MONITORING_POLICY_ARN,
        )
        self.instance = DbInstance(
            self,
            "db",
            **spec.instance_settings(s, name, key, props.final_snapshot),
            db_subnet_group_name=subnets.name,
            vpc_security_group_ids=[self.security_group.id],
            parameter_group_name=parameters.name,
            monitoring_role_arn=monitoring.arn,
        )
        self.connection_parameter = SsmParameter(
            self,
            "connection",
            **spec.connection_parameter_args(props.connection_parameter, name, key),
            value=Fn.jsonencode(spec.connection_document(self.instance.address, self.master_secret_arn)),
        )

    def allow_from(self, client_security_group_id: str) -> None:
        """Lets instances in ``client_security_group_id`` (and nothing else) connect."""
        VpcSecurityGroupIngressRule(
            self, "ingress_postgres", **spec.ingress_rule_args(self.security_group.id, client_security_group_id)
        )

    @property
    def address(self) -> str:
        """The endpoint's host name (it follows a Multi-AZ failover)."""
        return self.instance.address

    @property
    def master_secret_arn(self) -> str:
        """The Secrets Manager secret RDS manages for the admin user."""
        return self.instance.master_user_secret.get(0).secret_arn
