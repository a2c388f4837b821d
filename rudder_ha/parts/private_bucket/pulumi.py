"""The parts every rudder-ha S3 bucket shares: private, owner-enforced, versioned, encrypted, TLS-only,
with a lifecycle rule. Pulumi counterpart of :mod:`rudder_ha.parts.private_bucket.cdktf`; the settings come
from :mod:`rudder_ha.parts.private_bucket.spec`, so both front ends build the same bucket."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from rudder_ha.common.policies import policy_json
from rudder_ha.parts.private_bucket import spec
from rudder_ha.parts.private_bucket.spec import PrivateBucketProps

__all__ = ["BucketStatements", "PrivateBucketProps", "add_private_bucket"]


BucketStatements = Callable[[aws.s3.Bucket], pulumi.Input[Sequence[pulumi.Input[dict[str, Any]]]]]
"""Builds extra bucket-policy statements from the bucket. May return plain dicts, dicts holding Outputs
(e.g. ``bucket.arn``, an account id), or an Output of the list: it is resolved before the policy is written."""


def _no_statements(_bucket: aws.s3.Bucket) -> list[dict[str, Any]]:
    return []


def add_private_bucket(
    scope: pulumi.Resource,
    name: str,
    props: PrivateBucketProps,
    statements: BucketStatements = _no_statements,
) -> aws.s3.Bucket:
    """Adds a private bucket and its settings as children of ``scope`` and returns the bucket.

    The Pulumi form of the cdktf ``add_private_bucket(scope, props, statements)``: ``name`` is the logical
    name of ``scope`` (a component resource), and the children are named ``f"{name}-<cdktf id>"`` with the
    cdktf ids ``bucket``, ``public_access``, ``ownership``, ``versioning``, ``encryption``, ``lifecycle`` and
    ``policy``. ``statements`` adds to the TLS-only deny in the bucket policy.

    Example (the instance-artifacts bucket)::

        self.bucket = add_private_bucket(
            self,
            name,
            PrivateBucketProps(
                bucket_prefix=f"{props.name_prefix}-artifacts-",
                lifecycle_rule_id="expire-old-versions",
                noncurrent_days=90,
                kms_key_arn=props.kms_key_arn,
            ),
        )
    """
    child = pulumi.ResourceOptions(parent=scope)
    bucket = aws.s3.Bucket(f"{name}-bucket", **props.bucket_settings, opts=child)
    aws.s3.BucketPublicAccessBlock(f"{name}-public_access", bucket=bucket.id, **spec.PUBLIC_ACCESS_BLOCK, opts=child)
    aws.s3.BucketOwnershipControls(
        f"{name}-ownership",
        bucket=bucket.id,
        rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership=spec.OBJECT_OWNERSHIP),
        opts=child,
    )
    aws.s3.BucketVersioning(
        f"{name}-versioning",
        bucket=bucket.id,
        versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status=spec.VERSIONING_STATUS),
        opts=child,
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-encryption",
        bucket=bucket.id,
        rules=[
            aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    **props.encryption_default
                ),
                bucket_key_enabled=spec.bucket_key_enabled(props.kms_key_arn),
            )
        ],
        opts=child,
    )
    rule = props.lifecycle_rule
    aws.s3.BucketLifecycleConfiguration(
        f"{name}-lifecycle",
        bucket=bucket.id,
        rules=[
            aws.s3.BucketLifecycleConfigurationRuleArgs(
                id=rule.id,
                status=rule.status,
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(),  # empty filter: every object
                expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=rule.expiration_days)
                if rule.expiration_days
                else None,
                transitions=[
                    aws.s3.BucketLifecycleConfigurationRuleTransitionArgs(
                        days=rule.transition.days, storage_class=rule.transition.storage_class
                    )
                ]
                if rule.transition
                else None,
                noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                    noncurrent_days=rule.noncurrent_days
                ),
                abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                    days_after_initiation=rule.abort_incomplete_upload_days
                ),
            )
        ],
        opts=child,
    )
    extra = pulumi.Output.from_input(statements(bucket))
    aws.s3.BucketPolicy(
        f"{name}-policy",
        bucket=bucket.id,
        policy=pulumi.Output.all(bucket.arn, extra).apply(
            lambda values: policy_json(spec.bucket_policy(values[0], list(values[1])))
        ),
        opts=child,
    )
    return bucket
