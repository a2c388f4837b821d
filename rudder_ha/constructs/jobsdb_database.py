"""The jobsdb on a Multi-AZ RDS PostgreSQL (``jobsdb.mode: rds``), so accepted events survive the
loss of the instance and of an availability zone."""

from __future__ import annotations

from dataclasses import dataclass

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

from rudder_ha.config.model import JobsdbSettings
from rudder_ha.constructs.naming import service_assume_role_policy

POSTGRES_PORT = 5432
DATABASE_NAME = "jobsdb"
ADMIN_USER = "rudder_admin"

# Server settings that matter to a jobsdb with a fenced writer (PostgreSQL documentation, chapter 20):
PARAMETERS = {
    "rds.force_ssl": "1",  # no plaintext sessions
    # Find dead peers (a partitioned or frozen instance) in about a minute, not the kernel's two hours.
    "tcp_keepalives_idle": "30",
    "tcp_keepalives_interval": "10",
    "tcp_keepalives_count": "3",
    # A session stuck in an open transaction would hold locks the next writer needs.
    "idle_in_transaction_session_timeout": "300000",
    "log_connections": "1",
    "log_disconnections": "1",
    "log_lock_waits": "1",
}


@dataclass(frozen=True)
class JobsdbDatabaseProps:
    """Props of :class:`JobsdbDatabase`."""

    name_prefix: str
    vpc_id: str
    private_subnet_ids: list[str]
    settings: JobsdbSettings
    kms_key_arn: str
    """Encrypts storage, Performance Insights and the managed master secret (unless settings name a key)."""
    connection_parameter: str
    """SSM parameter name for the connection settings, e.g. ``/rudder-ha/prod/jobsdb``."""
    final_snapshot: bool = True


class JobsdbDatabase(Construct):
    """Multi-AZ, encrypted, backed-up PostgreSQL whose master password RDS keeps in Secrets Manager
    (``manage_master_user_password``): no password in config, user data or Terraform state.

    Where to connect is published, without secrets, as JSON in the SSM SecureString parameter
    ``/rudder-ha/<env>/jobsdb`` (host, port, database, admin secret ARN), which instances read at boot:
    the user data stays free of Terraform values. Call :meth:`allow_from` with the instances' group."""

    def __init__(self, scope: Construct, id_: str, props: JobsdbDatabaseProps) -> None:
        super().__init__(scope, id_)
        s = props.settings
        name = f"{props.name_prefix}-jobsdb"
        key = s.kms_key_arn or props.kms_key_arn
        major = s.engine_version.split(".")[0]
        self.security_group = SecurityGroup(
            self,
            "sg",
            name=name,
            description=f"{name}: PostgreSQL from the data-plane instances only",
            vpc_id=props.vpc_id,
            tags={"Name": name},
        )
        subnets = DbSubnetGroup(self, "subnets", name=name, subnet_ids=props.private_subnet_ids)
        parameters = DbParameterGroup(
            self,
            "parameters",
            name=f"{name}-pg{major}",
            family=f"postgres{major}",
            description=f"{name}: TLS only, fast dead-peer detection",
            parameter=[
                DbParameterGroupParameter(
                    name=k, value=v, apply_method="pending-reboot" if k == "rds.force_ssl" else None
                )
                for k, v in PARAMETERS.items()
            ],
        )
        monitoring = IamRole(
            self,
            "monitoring_role",
            name=f"{name}-monitoring",
            assume_role_policy=service_assume_role_policy("monitoring.rds.amazonaws.com"),
        )
        IamRolePolicyAttachment(
            self,
            "monitoring_policy",
            role=monitoring.name,
            policy_arn="arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole",
        )
        self.instance = DbInstance(
            self,
            "db",
            identifier=name,
            engine="postgres",
            engine_version=s.engine_version,
            instance_class=s.instance_class,
            db_name=DATABASE_NAME,
            username=ADMIN_USER,
            manage_master_user_password=True,
            master_user_secret_kms_key_id=key,
            port=POSTGRES_PORT,
            multi_az=s.multi_az,
            db_subnet_group_name=subnets.name,
            vpc_security_group_ids=[self.security_group.id],
            parameter_group_name=parameters.name,
            publicly_accessible=False,
            storage_type="gp3",
            allocated_storage=s.allocated_storage_gib,
            max_allocated_storage=s.max_allocated_storage_gib,
            storage_encrypted=True,
            kms_key_id=key,
            backup_retention_period=s.backup_retention_days,
            backup_window="02:00-03:00",
            maintenance_window="sun:03:30-sun:04:30",
            copy_tags_to_snapshot=True,
            deletion_protection=s.deletion_protection,
            skip_final_snapshot=not props.final_snapshot,
            final_snapshot_identifier=f"{name}-final" if props.final_snapshot else None,
            auto_minor_version_upgrade=True,
            iam_database_authentication_enabled=True,
            performance_insights_enabled=True,
            performance_insights_kms_key_id=key,
            performance_insights_retention_period=7,
            monitoring_interval=30,
            monitoring_role_arn=monitoring.arn,
            enabled_cloudwatch_logs_exports=["postgresql", "upgrade"],
            ca_cert_identifier="rds-ca-rsa2048-g1",
            apply_immediately=False,
        )
        self.connection_parameter = SsmParameter(
            self,
            "connection",
            name=props.connection_parameter,
            # Holds no password (that stays in the admin secret), encrypted all the same.
            type="SecureString",
            key_id=key,
            description=f"{name}: where the data plane connects",
            value=Fn.jsonencode(
                {
                    "host": self.instance.address,
                    "port": POSTGRES_PORT,
                    "dbname": DATABASE_NAME,
                    "sslmode": "require",
                    "admin_secret_arn": self.master_secret_arn,
                }
            ),
        )

    def allow_from(self, client_security_group_id: str) -> None:
        """Lets instances in ``client_security_group_id`` (and nothing else) connect."""
        VpcSecurityGroupIngressRule(
            self,
            "ingress_postgres",
            security_group_id=self.security_group.id,
            referenced_security_group_id=client_security_group_id,
            ip_protocol="tcp",
            from_port=POSTGRES_PORT,
            to_port=POSTGRES_PORT,
            description="PostgreSQL from the data plane",
        )

    @property
    def address(self) -> str:
        """The endpoint's host name (it follows a Multi-AZ failover)."""
        return self.instance.address

    @property
    def master_secret_arn(self) -> str:
        """The Secrets Manager secret RDS manages for the admin user."""
        return self.instance.master_user_secret.get(0).secret_arn
