"""What every rudder-ha S3 bucket shares (private, owner-enforced, versioned, encrypted, TLS-only, with a
lifecycle rule), as plain data for both front ends: :mod:`rudder_ha.parts.private_bucket.cdktf` (cdktf) and
:mod:`rudder_ha.parts.private_bucket.pulumi` (Pulumi)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rudder_ha.common.policies import deny_insecure_transport
from rudder_ha.common.refs import Ref

CHILD_IDS = ("bucket", "public_access", "ownership", "versioning", "encryption", "lifecycle", "policy")
"""The ids (cdktf) and logical-name suffixes (Pulumi) of the resources making up one private bucket."""

PUBLIC_ACCESS_BLOCK: dict[str, bool] = {
    "block_public_acls": True,
    "block_public_policy": True,
    "ignore_public_acls": True,
    "restrict_public_buckets": True,
}
"""Keyword arguments of the public-access block (the same names in cdktf and Pulumi)."""

OBJECT_OWNERSHIP = "BucketOwnerEnforced"
"""ACLs disabled: the bucket owner owns every object."""

VERSIONING_STATUS = "Enabled"

ABORT_INCOMPLETE_UPLOAD_DAYS = 1


def uses_kms(kms_key_arn: object | None) -> bool:
    """True when the bucket is encrypted with a customer key (SSE-KMS) rather than SSE-S3."""
    return kms_key_arn is not None and kms_key_arn != ""


def sse_algorithm(kms_key_arn: object | None) -> str:
    """``aws:kms`` with a key, ``AES256`` (SSE-S3) without one (ALB log delivery supports only the latter)."""
    return "aws:kms" if uses_kms(kms_key_arn) else "AES256"


def bucket_key_enabled(kms_key_arn: object | None) -> bool | None:
    """An S3 bucket key cuts KMS calls for SSE-KMS buckets; unset for SSE-S3."""
    return True if uses_kms(kms_key_arn) else None


@dataclass(frozen=True)
class Transition:
    """A lifecycle transition of current versions to ``storage_class`` after ``days`` days."""

    days: int
    storage_class: str


@dataclass(frozen=True)
class LifecycleRule:
    """The single lifecycle rule of a private bucket; it applies to every object (empty filter)."""

    id: str
    noncurrent_days: int
    expiration_days: int | None = None
    """Current versions expire after this many days; never when None (or 0)."""
    status: str = "Enabled"
    abort_incomplete_upload_days: int = ABORT_INCOMPLETE_UPLOAD_DAYS
    transition: Transition | None = None
    """Current versions move to another storage class after some days; never when None."""


@dataclass(frozen=True)
class PrivateBucketProps:
    """How one private bucket differs from the others (``add_private_bucket`` in both front ends)."""

    bucket_prefix: str
    lifecycle_rule_id: str
    noncurrent_days: int
    kms_key_arn: Ref | None = None
    """SSE-KMS with this key (and a bucket key); SSE-S3 when None (e.g. ALB log delivery needs it)."""
    expiration_days: int | None = None
    force_destroy: bool = False
    transition: Transition | None = None

    @property
    def lifecycle_rule(self) -> LifecycleRule:
        """The bucket's one lifecycle rule."""
        return LifecycleRule(
            id=self.lifecycle_rule_id,
            noncurrent_days=self.noncurrent_days,
            expiration_days=self.expiration_days,
            transition=self.transition,
        )

    @property
    def bucket_settings(self) -> dict[str, Any]:
        """Keyword arguments of the bucket itself (the same names in cdktf and Pulumi)."""
        return {"bucket_prefix": self.bucket_prefix, "force_destroy": self.force_destroy}

    @property
    def encryption_default(self) -> dict[str, Any]:
        """Keyword arguments of the encryption rule's ``apply_server_side_encryption_by_default`` block."""
        return {"sse_algorithm": sse_algorithm(self.kms_key_arn), "kms_master_key_id": self.kms_key_arn}


def bucket_policy(bucket_arn: str, statements: list[dict[str, Any]]) -> dict[str, Any]:
    """The bucket policy: the caller's ``statements`` followed by the deny of any non-TLS request."""
    return {
        "Version": "2012-10-17",
        "Statement": [*statements, deny_insecure_transport("s3:*", [bucket_arn, f"{bucket_arn}/*"])],
    }
