"""The event archive's names, bucket settings and policies, shared by the cdktf construct
(:mod:`rudder_ha.parts.event_archive.cdktf`) and the Pulumi component (:mod:`rudder_ha.parts.event_archive.pulumi`).

rudder-server's archiver (``archiver/`` in its source) uploads every gateway event the processor picked up,
gzipped JSON lines per source and hour, to ``JOBS_BACKUP_BUCKET`` under ``JOBS_BACKUP_PREFIX``. It runs in a
container that ``rudder-imds-guard`` keeps off the instance metadata service, so it never holds the instance
role. Instead the host's ``rudder-archive-credentials`` assumes the *writer role* defined here (allowed: put
objects under the archive prefix, and make data keys with the environment key through S3, nothing else) and
serves its short-lived credentials to the container on localhost. The instance role only gets to read where
the archive is and to assume that role.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from rudder_ha.common.refs import Ref
from rudder_ha.config.model import EventArchiveSettings
from rudder_ha.parts import Part
from rudder_ha.parts.instance_role.spec import ssm_parameter_arn
from rudder_ha.parts.private_bucket.spec import Transition

PART = Part("event_archive", "EventArchive")
"""Renderers: :class:`rudder_ha.parts.event_archive.cdktf.EventArchive` and its Pulumi twin."""

ARCHIVE_PREFIX = "gateway-jobs"
"""``JOBS_BACKUP_PREFIX`` (and ``JOBS_BACKUP_DEFAULT_PREFIX``): every archive object's key starts here."""
LIFECYCLE_RULE_ID = "archive-transition-and-expiry"
NONCURRENT_DAYS = 7
"""The bucket is versioned (like every private bucket); a deleted or overwritten object stays a week."""
PARAMETER_TYPE = "SecureString"
WRITER_POLICY_NAME = "write-event-archive"
INSTANCE_POLICY_NAME = "use-event-archive"
WRITER_SESSION_SECONDS = 3600
"""The writer role's maximum session: ``rudder-archive-credentials`` renews well before it ends."""


@dataclass(frozen=True)
class EventArchiveProps:
    """Props of ``EventArchive`` (the cdktf construct and the Pulumi component alike)."""

    name_prefix: str
    environment: str
    region: str
    settings: EventArchiveSettings
    kms_key_arn: Ref
    """The environment key: encrypts the bucket (SSE-KMS with a bucket key) and the SSM parameter."""
    instance_role_arn: Ref
    """The only principal the writer role trusts."""


def archive_parameter(environment: str) -> str:
    """The SSM parameter telling the instance the bucket, prefix and writer role (read at backend start)."""
    return f"/rudder-ha/{environment}/event-archive"


def bucket_prefix(name_prefix: str) -> str:
    """The archive bucket's name prefix (S3 appends a unique suffix)."""
    return f"{name_prefix}-archive-"


def writer_role_name(name_prefix: str) -> str:
    """The role the archiver's uploads run as."""
    return f"{name_prefix}-event-archive-writer"


def bucket_args(props: EventArchiveProps) -> dict[str, Any]:
    """The fields of the bucket's ``PrivateBucketProps``: KMS-encrypted, with the configured lifecycle."""
    settings = props.settings
    return {
        "bucket_prefix": bucket_prefix(props.name_prefix),
        "lifecycle_rule_id": LIFECYCLE_RULE_ID,
        "noncurrent_days": NONCURRENT_DAYS,
        "kms_key_arn": props.kms_key_arn,
        "expiration_days": settings.expiration_days,
        "transition": Transition(days=settings.transition_days, storage_class=settings.transition_storage_class),
    }


def parameter_value(bucket_name: str, writer_role_arn: str) -> str:
    """The parameter's JSON: ``{"bucket", "prefix", "writer_role_arn"}`` (no secret in it)."""
    return json.dumps({"bucket": bucket_name, "prefix": ARCHIVE_PREFIX, "writer_role_arn": writer_role_arn})


def parameter_args(props: EventArchiveProps, value: Ref) -> dict[str, Any]:
    """The SSM parameter's settings, its value given."""
    return {
        "name": archive_parameter(props.environment),
        "type": PARAMETER_TYPE,
        "key_id": props.kms_key_arn,
        "description": f"{props.name_prefix}: where rudder-server archives gateway jobs",
        "value": value,
    }


def writer_role_args(name_prefix: str) -> dict[str, Any]:
    """The writer role's name, description and session limit (its trust: :func:`writer_trust_policy`)."""
    return {
        "name": writer_role_name(name_prefix),
        "description": "rudder-ha: rudder-server's archiver writing gateway jobs to the event archive",
        "max_session_duration": WRITER_SESSION_SECONDS,
    }


def writer_trust_policy(instance_role_arn: str) -> dict[str, Any]:
    """Only the instance role may assume the writer role."""
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": instance_role_arn}, "Action": "sts:AssumeRole"}],
    }


def writer_policy(bucket_arn: str, kms_key_arn: str, region: str) -> dict[str, Any]:
    """Put objects under the archive prefix, encrypted with the environment key through S3; nothing else.

    ``kms:GenerateDataKey`` makes each object's data key; ``kms:Decrypt`` is what S3 asks of the caller to
    complete a multipart upload under SSE-KMS (rudder-server's uploader switches to multipart above 5 MiB).
    Both only through S3 in this region, and only for this bucket (with a bucket key, S3's encryption context
    is the bucket's ARN). No read, list or delete: a leaked credential can add objects, not read events.
    """
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PutArchiveObjects",
                "Effect": "Allow",
                "Action": "s3:PutObject",
                "Resource": f"{bucket_arn}/{ARCHIVE_PREFIX}/*",
            },
            {
                "Sid": "EncryptArchiveObjects",
                "Effect": "Allow",
                "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                "Resource": kms_key_arn,
                "Condition": {
                    "StringEquals": {
                        "kms:ViaService": f"s3.{region}.amazonaws.com",
                        "kms:EncryptionContext:aws:s3:arn": bucket_arn,
                    }
                },
            },
        ],
    }


def instance_policy(
    writer_role_arn: str, kms_key_arn: str, environment: str, partition: str, region: str, account: str
) -> dict[str, Any]:
    """What the instance role needs: read the archive parameter (and decrypt it through SSM), assume the
    writer role. It cannot write to the bucket itself."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "FindEventArchive",
                "Effect": "Allow",
                "Action": "ssm:GetParameter",
                "Resource": ssm_parameter_arn(partition, region, account, archive_parameter(environment)),
            },
            {
                "Sid": "DecryptEventArchiveParameter",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": kms_key_arn,
                "Condition": {"StringEquals": {"kms:ViaService": f"ssm.{region}.amazonaws.com"}},
            },
            {
                "Sid": "AssumeArchiveWriter",
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Resource": writer_role_arn,
            },
        ],
    }


def bucket_statements(bucket_arn: str, writer_role_arn: str) -> list[dict[str, Any]]:
    """Besides the TLS-only deny: nobody but the writer role puts objects under the archive prefix."""
    return [
        {
            "Sid": "OnlyTheWriterRoleArchives",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": f"{bucket_arn}/{ARCHIVE_PREFIX}/*",
            "Condition": {"ArnNotEquals": {"aws:PrincipalArn": writer_role_arn}},
        }
    ]
