"""The environment KMS key's description, alias and key policy, shared by
:mod:`rudder_ha.parts.encryption_key.cdktf` (cdktf) and :mod:`rudder_ha.parts.encryption_key.pulumi`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from rudder_ha.parts import Part

PART = Part("encryption_key", "EncryptionKey")
"""Renderers: :class:`rudder_ha.parts.encryption_key.cdktf.EncryptionKey` and its Pulumi twin."""

DEFAULT_SERVICE_PRINCIPALS = ("logs", "cloudwatch", "events", "sns")
DEFAULT_DELETION_WINDOW_DAYS = 30
SERVICE_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]


@dataclass(frozen=True)
class EncryptionKeyProps:
    """Props of the ``EncryptionKey`` construct (cdktf) and component (Pulumi)."""

    name_prefix: str
    region: str
    deletion_window_days: int = DEFAULT_DELETION_WINDOW_DAYS
    service_principals: tuple[str, ...] = DEFAULT_SERVICE_PRINCIPALS
    """Services (short names, e.g. ``logs``, ``sns``) allowed to use the key in this account."""


def description(name_prefix: str) -> str:
    """The key's description."""
    return f"{name_prefix}: logs, queues, topics and tables"


def key_settings(props: EncryptionKeyProps) -> dict[str, Any]:
    """Keyword arguments of the KMS key (the same names in cdktf and Pulumi), besides its policy."""
    return {
        "description": description(props.name_prefix),
        "enable_key_rotation": True,
        "deletion_window_in_days": props.deletion_window_days,
    }


def alias_name(name_prefix: str) -> str:
    """The key's alias."""
    return f"alias/{name_prefix}"


def service_principal(service: str, region: str) -> str:
    """The principal of a service short name (CloudWatch Logs has a regional one)."""
    return f"logs.{region}.amazonaws.com" if service == "logs" else f"{service}.amazonaws.com"


def key_policy(partition: str, account_id: str, region: str, service_principals: Iterable[str]) -> dict[str, Any]:
    """The account administers the key; each named service may use it, scoped to this account."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "AccountAdministers",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]
    for service in service_principals:
        statement: dict[str, Any] = {
            "Sid": f"{service.capitalize()}UsesKey",
            "Effect": "Allow",
            "Principal": {"Service": service_principal(service, region)},
            "Action": list(SERVICE_ACTIONS),
            "Resource": "*",
        }
        if service == "logs":
            statement["Condition"] = {
                "ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:{partition}:logs:{region}:{account_id}:*"}
            }
        elif service != "cloudwatch":
            # CloudWatch alarms publishing to an encrypted topic call KMS without a source-account
            # context, so that statement stays unconditioned (AWS's own example key policy).
            statement["Condition"] = {"StringEquals": {"aws:SourceAccount": account_id}}
        statements.append(statement)
    return {"Version": "2012-10-17", "Statement": statements}
