"""The parts every rudder-ha S3 bucket shares: private, owner-enforced, versioned, encrypted, TLS-only,
with a lifecycle rule. Added to the caller's scope under fixed ids, so resource addresses stay stable."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from cdktf_cdktf_provider_aws.s3_bucket_lifecycle_configuration import (
    S3BucketLifecycleConfiguration,
    S3BucketLifecycleConfigurationRule,
    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload,
    S3BucketLifecycleConfigurationRuleExpiration,
    S3BucketLifecycleConfigurationRuleFilter,
    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration,
)
from cdktf_cdktf_provider_aws.s3_bucket_ownership_controls import (
    S3BucketOwnershipControls,
    S3BucketOwnershipControlsRule,
)
from cdktf_cdktf_provider_aws.s3_bucket_policy import S3BucketPolicy
from cdktf_cdktf_provider_aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock
from cdktf_cdktf_provider_aws.s3_bucket_server_side_encryption_configuration import (
    S3BucketServerSideEncryptionConfigurationA,
    S3BucketServerSideEncryptionConfigurationRuleA,
    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA,
)
from cdktf_cdktf_provider_aws.s3_bucket_versioning import (
    S3BucketVersioningA,
    S3BucketVersioningVersioningConfiguration,
)
from constructs import Construct

from rudder_ha.constructs.naming import deny_insecure_transport, policy_json


@dataclass(frozen=True)
class PrivateBucketProps:
    """How one private bucket differs from the others."""

    bucket_prefix: str
    lifecycle_rule_id: str
    noncurrent_days: int
    kms_key_arn: str | None = None
    """SSE-KMS with this key (and a bucket key); SSE-S3 when None (e.g. ALB log delivery needs it)."""
    expiration_days: int | None = None
    force_destroy: bool = False


BucketStatements = Callable[[S3Bucket], list[dict]]
"""Builds extra bucket-policy statements once the bucket (and so its ARN) exists."""


def add_private_bucket(
    scope: Construct, props: PrivateBucketProps, statements: BucketStatements = lambda _bucket: []
) -> S3Bucket:
    """Adds the bucket and its settings to ``scope`` (ids: bucket, public_access, ownership, versioning,
    encryption, lifecycle, policy) and returns the bucket. ``statements`` adds to the TLS-only deny."""
    bucket = S3Bucket(scope, "bucket", bucket_prefix=props.bucket_prefix, force_destroy=props.force_destroy)
    S3BucketPublicAccessBlock(
        scope,
        "public_access",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
    )
    S3BucketOwnershipControls(
        scope, "ownership", bucket=bucket.id, rule=S3BucketOwnershipControlsRule(object_ownership="BucketOwnerEnforced")
    )
    S3BucketVersioningA(
        scope,
        "versioning",
        bucket=bucket.id,
        versioning_configuration=S3BucketVersioningVersioningConfiguration(status="Enabled"),
    )
    default = S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
        sse_algorithm="aws:kms" if props.kms_key_arn else "AES256", kms_master_key_id=props.kms_key_arn
    )
    S3BucketServerSideEncryptionConfigurationA(
        scope,
        "encryption",
        bucket=bucket.id,
        rule=[
            S3BucketServerSideEncryptionConfigurationRuleA(
                apply_server_side_encryption_by_default=default,
                bucket_key_enabled=True if props.kms_key_arn else None,
            )
        ],
    )
    S3BucketLifecycleConfiguration(
        scope,
        "lifecycle",
        bucket=bucket.id,
        rule=[
            S3BucketLifecycleConfigurationRule(
                id=props.lifecycle_rule_id,
                status="Enabled",
                filter=[S3BucketLifecycleConfigurationRuleFilter()],  # empty filter: every object
                expiration=[S3BucketLifecycleConfigurationRuleExpiration(days=props.expiration_days)]
                if props.expiration_days
                else None,
                noncurrent_version_expiration=[
                    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(noncurrent_days=props.noncurrent_days)
                ],
                abort_incomplete_multipart_upload=[
                    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(days_after_initiation=1)
                ],
            )
        ],
    )
    S3BucketPolicy(
        scope,
        "policy",
        bucket=bucket.id,
        policy=policy_json(
            {
                "Version": "2012-10-17",
                "Statement": [
                    *statements(bucket),
                    deny_insecure_transport("s3:*", [bucket.arn, f"{bucket.arn}/*"]),
                ],
            }
        ),
    )
    return bucket
