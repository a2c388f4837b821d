"""The parts every rudder-ha S3 bucket shares: private, owner-enforced, versioned, encrypted, TLS-only,
with a lifecycle rule. Added to the caller's scope under fixed ids, so resource addresses stay stable."""

from __future__ import annotations

from collections.abc import Callable

from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from cdktf_cdktf_provider_aws.s3_bucket_lifecycle_configuration import (
    S3BucketLifecycleConfiguration,
    S3BucketLifecycleConfigurationRule,
    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload,
    S3BucketLifecycleConfigurationRuleExpiration,
    S3BucketLifecycleConfigurationRuleFilter,
    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration,
    S3BucketLifecycleConfigurationRuleTransition,
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

from rudder_ha.frontends.cdktf.naming import policy_json
from rudder_ha.parts.private_bucket import spec
from rudder_ha.parts.private_bucket.spec import PrivateBucketProps

__all__ = ["BucketStatements", "PrivateBucketProps", "add_private_bucket"]


BucketStatements = Callable[[S3Bucket], list[dict]]
"""Builds extra bucket-policy statements once the bucket (and so its ARN) exists."""


def add_private_bucket(
    scope: Construct, props: PrivateBucketProps, statements: BucketStatements = lambda _bucket: []
) -> S3Bucket:
    """Adds the bucket and its settings to ``scope`` (ids: bucket, public_access, ownership, versioning,
    encryption, lifecycle, policy) and returns the bucket. ``statements`` adds to the TLS-only deny."""
    bucket = S3Bucket(scope, "bucket", **props.bucket_settings)
    S3BucketPublicAccessBlock(scope, "public_access", bucket=bucket.id, **spec.PUBLIC_ACCESS_BLOCK)
    S3BucketOwnershipControls(
        scope, "ownership", bucket=bucket.id, rule=S3BucketOwnershipControlsRule(object_ownership=spec.OBJECT_OWNERSHIP)
    )
    S3BucketVersioningA(
        scope,
        "versioning",
        bucket=bucket.id,
        versioning_configuration=S3BucketVersioningVersioningConfiguration(status=spec.VERSIONING_STATUS),
    )
    default = S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
        **props.encryption_default
    )
    S3BucketServerSideEncryptionConfigurationA(
        scope,
        "encryption",
        bucket=bucket.id,
        rule=[
            S3BucketServerSideEncryptionConfigurationRuleA(
                apply_server_side_encryption_by_default=default,
                bucket_key_enabled=spec.bucket_key_enabled(props.kms_key_arn),
            )
        ],
    )
    rule = props.lifecycle_rule
    S3BucketLifecycleConfiguration(
        scope,
        "lifecycle",
        bucket=bucket.id,
        rule=[
            S3BucketLifecycleConfigurationRule(
                id=rule.id,
                status=rule.status,
                filter=[S3BucketLifecycleConfigurationRuleFilter()],  # empty filter: every object
                expiration=[S3BucketLifecycleConfigurationRuleExpiration(days=rule.expiration_days)]
                if rule.expiration_days
                else None,
                transition=[
                    S3BucketLifecycleConfigurationRuleTransition(
                        days=rule.transition.days, storage_class=rule.transition.storage_class
                    )
                ]
                if rule.transition
                else None,
                noncurrent_version_expiration=[
                    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(noncurrent_days=rule.noncurrent_days)
                ],
                abort_incomplete_multipart_upload=[
                    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(
                        days_after_initiation=rule.abort_incomplete_upload_days
                    )
                ],
            )
        ],
    )
    S3BucketPolicy(
        scope, "policy", bucket=bucket.id, policy=policy_json(spec.bucket_policy(bucket.arn, statements(bucket)))
    )
    return bucket
