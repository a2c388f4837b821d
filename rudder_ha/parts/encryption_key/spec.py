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

ACCOUNT_ACTIONS = [
    # Administration (Terraform and operators, through IAM policies).
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListKeyRotations",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:RevokeGrant",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
    # Use, delegated to IAM policies (roles of this stack; the EC2 Image Builder and EBS service-linked roles'
    # AWS managed policies, which allow these through EC2 only).
    "kms:CreateGrant",
    "kms:Decrypt",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:RetireGrant",
]
"""What the account may do with the key through IAM policies: every operation a symmetric encryption key of one
region supports, by name, instead of ``kms:*``. Left out: asymmetric and HMAC operations (Sign, Verify,
GetPublicKey, GenerateMac, VerifyMac, DeriveSharedSecret, GenerateDataKeyPair*), imported key material and
multi-Region keys, none of which this key can have. ``kms:PutKeyPolicy`` stays, so the key can never become
unmanageable."""

SERVICE_ACTIONS: dict[str, list[str]] = {
    # CloudWatch Logs encrypts and decrypts log events of the environment's log groups.
    "logs": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
    # Alarms publishing to the encrypted topic; EventBridge rules sending to the encrypted queue and topic;
    # SNS delivering from the topic: each only makes and opens data keys.
    "cloudwatch": ["kms:Decrypt", "kms:GenerateDataKey*"],
    "events": ["kms:Decrypt", "kms:GenerateDataKey*"],
    "sns": ["kms:Decrypt", "kms:GenerateDataKey*"],
}
"""What each service principal may do with the key."""


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


def source_arn_pattern(service: str, partition: str, region: str, account_id: str, name_prefix: str) -> str | None:
    """The ARNs of this environment's resources a service uses the key for, when the service says which one it
    acts for (``aws:SourceArn``): EventBridge rules and SNS topics, all named ``<prefix>-...``."""
    if service == "events":
        return f"arn:{partition}:events:{region}:{account_id}:rule/{name_prefix}-*"
    if service == "sns":
        return f"arn:{partition}:sns:{region}:{account_id}:{name_prefix}-*"
    return None


def key_policy(
    partition: str, account_id: str, region: str, service_principals: Iterable[str], *, name_prefix: str
) -> dict[str, Any]:
    """The account administers the key and delegates its use to IAM policies (:data:`ACCOUNT_ACTIONS`, never
    ``kms:*``); each named service may use it for this environment only.

    ``Resource: "*"`` in a key policy is the key itself. Confused-deputy guards, per service:

    - ``logs``: the encryption context must name a log group of this account and region (what CloudWatch Logs
      documents; it sends no ``aws:SourceAccount``);
    - ``events`` and ``sns``: ``aws:SourceAccount`` is this account and ``aws:SourceArn`` one of this
      environment's rules or topics (``<prefix>-*``);
    - ``cloudwatch``: no condition. CloudWatch alarms publishing to an encrypted topic call KMS with no source
      account or ARN in the request context (a condition on them refuses the alarm), as AWS's own example key
      policy for this case shows; its actions are only Decrypt and GenerateDataKey*.
    """
    statements: list[dict[str, Any]] = [
        {
            "Sid": "AccountAdministers",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
            "Action": list(ACCOUNT_ACTIONS),
            "Resource": "*",
        }
    ]
    for service in service_principals:
        if service not in SERVICE_ACTIONS:
            raise ValueError(f"no key use is defined for the {service!r} service principal")
        statement: dict[str, Any] = {
            "Sid": f"{service.capitalize()}UsesKey",
            "Effect": "Allow",
            "Principal": {"Service": service_principal(service, region)},
            "Action": list(SERVICE_ACTIONS[service]),
            "Resource": "*",
        }
        if service == "logs":
            statement["Condition"] = {
                "ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:{partition}:logs:{region}:{account_id}:*"}
            }
        elif service != "cloudwatch":
            condition: dict[str, Any] = {"StringEquals": {"aws:SourceAccount": account_id}}
            source_arn = source_arn_pattern(service, partition, region, account_id, name_prefix)
            if source_arn:
                condition["ArnLike"] = {"aws:SourceArn": source_arn}
            statement["Condition"] = condition
        statements.append(statement)
    return {"Version": "2012-10-17", "Statement": statements}
