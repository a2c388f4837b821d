"""Names and settings of the RDS jobsdb (``jobsdb.mode: rds``), shared by the cdktf construct
(:mod:`rudder_ha.parts.jobsdb_database.cdktf`) and the Pulumi component
(:mod:`rudder_ha.parts.jobsdb_database.pulumi`).

The settings dictionary holds keyword arguments whose names are the same for cdktf's ``DbInstance`` and
Pulumi's ``aws.rds.Instance``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rudder_ha.common.policies import service_assume_role_policy
from rudder_ha.common.refs import Ref
from rudder_ha.config.model import JobsdbSettings
from rudder_ha.parts import Part

PART = Part("jobsdb_database", "JobsdbDatabase")
"""Renderers: :class:`rudder_ha.parts.jobsdb_database.cdktf.JobsdbDatabase` and its Pulumi twin."""

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

MONITORING_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
MONITORING_SERVICE = "monitoring.rds.amazonaws.com"
INGRESS_DESCRIPTION = "PostgreSQL from the data plane"
SUBNET_GROUP_DESCRIPTION = "Managed by Terraform"
"""The Terraform provider's default, which the cdktf construct leaves unset; a front end whose default differs
(Pulumi: "Managed by Pulumi") sets it so both create the same subnet group."""
CONNECTION_PARAMETER_TYPE = "SecureString"
"""Holds no password (that stays in the admin secret), encrypted all the same."""


@dataclass(frozen=True)
class JobsdbDatabaseProps:
    """Props of ``JobsdbDatabase`` (the cdktf construct and the Pulumi component alike)."""

    name_prefix: str
    vpc_id: Ref
    private_subnet_ids: Sequence[Ref]
    settings: JobsdbSettings
    kms_key_arn: Ref
    """Encrypts storage, Performance Insights and the managed master secret (unless settings name a key)."""
    connection_parameter: str
    """SSM parameter name for the connection settings, e.g. ``/rudder-ha/prod/jobsdb``."""
    final_snapshot: bool = True


def database_name(name_prefix: str) -> str:
    """Identifier of the instance, and name of its security group, subnet group and prefix of the rest."""
    return f"{name_prefix}-jobsdb"


def monitoring_role_name(name: str) -> str:
    """The enhanced-monitoring role's name."""
    return f"{name}-monitoring"


def engine_major(settings: JobsdbSettings) -> str:
    """The PostgreSQL major version (``16`` of ``16.4``)."""
    return settings.engine_version.split(".")[0]


def parameter_group_name(name: str, settings: JobsdbSettings) -> str:
    """The parameter group's name (one per major version, as the family)."""
    return f"{name}-pg{engine_major(settings)}"


def parameter_group_family(settings: JobsdbSettings) -> str:
    """The parameter group family."""
    return f"postgres{engine_major(settings)}"


def parameter_apply_method(parameter: str) -> str | None:
    """``pending-reboot`` for static parameters; the provider's default (immediate) otherwise."""
    return "pending-reboot" if parameter == "rds.force_ssl" else None


def security_group_description(name: str) -> str:
    """The database security group's description."""
    return f"{name}: PostgreSQL from the data-plane instances only"


def parameter_group_description(name: str) -> str:
    """The parameter group's description."""
    return f"{name}: TLS only, fast dead-peer detection"


def connection_parameter_description(name: str) -> str:
    """The connection parameter's description."""
    return f"{name}: where the data plane connects"


def security_group_args(name: str, vpc_id: Ref) -> dict[str, Any]:
    """The database's security group (its one ingress rule comes from :func:`ingress_rule_args`)."""
    return {"name": name, "description": security_group_description(name), "vpc_id": vpc_id, "tags": {"Name": name}}


def ingress_rule_args(security_group_id: Ref, client_security_group_id: Ref) -> dict[str, Any]:
    """PostgreSQL from ``client_security_group_id`` (the data-plane instances) only."""
    return {
        "security_group_id": security_group_id,
        "referenced_security_group_id": client_security_group_id,
        "ip_protocol": "tcp",
        "from_port": POSTGRES_PORT,
        "to_port": POSTGRES_PORT,
        "description": INGRESS_DESCRIPTION,
    }


def parameter_group_args(name: str, settings: JobsdbSettings) -> dict[str, Any]:
    """The parameter group's name, family and description (its parameters: :func:`parameter_group_parameters`)."""
    return {
        "name": parameter_group_name(name, settings),
        "family": parameter_group_family(settings),
        "description": parameter_group_description(name),
    }


def parameter_group_parameters() -> list[dict[str, Any]]:
    """The :data:`PARAMETERS`, each with its apply method."""
    return [{"name": k, "value": v, "apply_method": parameter_apply_method(k)} for k, v in PARAMETERS.items()]


def monitoring_role_args(name: str) -> dict[str, Any]:
    """The enhanced-monitoring role, which RDS assumes."""
    return {"name": monitoring_role_name(name), "assume_role_policy": service_assume_role_policy(MONITORING_SERVICE)}


def connection_parameter_args(parameter_name: str, name: str, kms_key_arn: Ref) -> dict[str, Any]:
    """The connection parameter's settings apart from its value (:func:`connection_document`, rendered by each
    front end): a SecureString although it holds no password (that stays in the admin secret)."""
    return {
        "name": parameter_name,
        "type": CONNECTION_PARAMETER_TYPE,
        "key_id": kms_key_arn,
        "description": connection_parameter_description(name),
    }


def instance_settings(settings: JobsdbSettings, name: str, kms_key_arn: Any, final_snapshot: bool) -> dict[str, Any]:
    """The DB instance's settings that depend on neither the subnet group, the security group, the parameter
    group nor the monitoring role: Multi-AZ, encrypted, backed up, private, TLS-only CA, managed password."""
    return {
        "identifier": name,
        "engine": "postgres",
        "engine_version": settings.engine_version,
        "instance_class": settings.instance_class,
        "db_name": DATABASE_NAME,
        "username": ADMIN_USER,
        "manage_master_user_password": True,
        "master_user_secret_kms_key_id": kms_key_arn,
        "port": POSTGRES_PORT,
        "multi_az": settings.multi_az,
        "publicly_accessible": False,
        "storage_type": "gp3",
        "allocated_storage": settings.allocated_storage_gib,
        "max_allocated_storage": settings.max_allocated_storage_gib,
        "storage_encrypted": True,
        "kms_key_id": kms_key_arn,
        "backup_retention_period": settings.backup_retention_days,
        "backup_window": "02:00-03:00",
        "maintenance_window": "sun:03:30-sun:04:30",
        "copy_tags_to_snapshot": True,
        "deletion_protection": settings.deletion_protection,
        "skip_final_snapshot": not final_snapshot,
        "final_snapshot_identifier": f"{name}-final" if final_snapshot else None,
        "auto_minor_version_upgrade": True,
        "iam_database_authentication_enabled": True,
        "performance_insights_enabled": True,
        "performance_insights_kms_key_id": kms_key_arn,
        "performance_insights_retention_period": 7,
        "monitoring_interval": 30,
        "enabled_cloudwatch_logs_exports": ["postgresql", "upgrade"],
        "ca_cert_identifier": "rds-ca-rsa2048-g1",
        "apply_immediately": False,
    }


def connection_document(host: str, admin_secret_arn: str) -> dict[str, Any]:
    """What the connection parameter holds (no password): host, port, database, TLS, admin secret ARN."""
    return {
        "host": host,
        "port": POSTGRES_PORT,
        "dbname": DATABASE_NAME,
        "sslmode": "require",
        "admin_secret_arn": admin_secret_arn,
    }


def terraform_jsonencode(document: dict[str, Any]) -> str:
    """``document`` as Terraform's ``jsonencode`` writes it (keys sorted, no whitespace), so a front end
    that renders it itself stores the same parameter value as the cdktf stack."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
