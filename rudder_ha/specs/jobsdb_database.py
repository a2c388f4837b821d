"""Names and settings of the RDS jobsdb (``jobsdb.mode: rds``), shared by the cdktf construct
(:mod:`rudder_ha.constructs.jobsdb_database`) and the Pulumi component
(:mod:`rudder_ha.pulumi_components.jobsdb_database`).

The settings dictionary holds keyword arguments whose names are the same for cdktf's ``DbInstance`` and
Pulumi's ``aws.rds.Instance``."""

from __future__ import annotations

import json
from typing import Any

from rudder_ha.config.model import JobsdbSettings

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
