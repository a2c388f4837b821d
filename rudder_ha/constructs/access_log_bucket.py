"""An S3 bucket that receives the ALB's access logs."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_elb_service_account import DataAwsElbServiceAccount
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

from rudder_ha.constructs.naming import policy_json


@dataclass(frozen=True)
class AccessLogBucketProps:
    """Props of :class:`AccessLogBucket`."""

    name_prefix: str
    retention_days: int
    log_prefix: str = "alb"
    force_destroy: bool = False


class AccessLogBucket(Construct):
    """Private, versioned, encrypted (SSE-S3: the only encryption ALB log delivery supports), TLS-only,
    expiring after the retention period, with the delivery policy Elastic Load Balancing needs
    (both the regional ELB account of older regions and the log-delivery service principal)."""

    def __init__(self, scope: Construct, id_: str, props: AccessLogBucketProps) -> None:
        super().__init__(scope, id_)
        account = DataAwsCallerIdentity(self, "account")
        elb_account = DataAwsElbServiceAccount(self, "elb_account")
        self.bucket = S3Bucket(
            self,
            "bucket",
            bucket_prefix=f"{props.name_prefix}-alb-logs-",
            force_destroy=props.force_destroy,
        )
        self.log_prefix = props.log_prefix
        S3BucketPublicAccessBlock(
            self,
            "public_access",
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        )
        S3BucketOwnershipControls(
            self,
            "ownership",
            bucket=self.bucket.id,
            rule=S3BucketOwnershipControlsRule(object_ownership="BucketOwnerEnforced"),
        )
        S3BucketVersioningA(
            self,
            "versioning",
            bucket=self.bucket.id,
            versioning_configuration=S3BucketVersioningVersioningConfiguration(status="Enabled"),
        )
        S3BucketServerSideEncryptionConfigurationA(
            self,
            "encryption",
            bucket=self.bucket.id,
            rule=[
                S3BucketServerSideEncryptionConfigurationRuleA(
                    apply_server_side_encryption_by_default=(
                        S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                            sse_algorithm="AES256"
                        )
                    )
                )
            ],
        )
        S3BucketLifecycleConfiguration(
            self,
            "lifecycle",
            bucket=self.bucket.id,
            rule=[
                S3BucketLifecycleConfigurationRule(
                    id="expire-access-logs",
                    status="Enabled",
                    filter=[S3BucketLifecycleConfigurationRuleFilter()],  # empty filter: every object
                    expiration=[S3BucketLifecycleConfigurationRuleExpiration(days=props.retention_days)],
                    noncurrent_version_expiration=[
                        S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(noncurrent_days=7)
                    ],
                    abort_incomplete_multipart_upload=[
                        S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(days_after_initiation=1)
                    ],
                )
            ],
        )
        objects = f"{self.bucket.arn}/{props.log_prefix}/AWSLogs/{account.account_id}/*"
        S3BucketPolicy(
            self,
            "policy",
            bucket=self.bucket.id,
            policy=policy_json(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "ElbAccountDelivers",
                            "Effect": "Allow",
                            "Principal": {"AWS": elb_account.arn},
                            "Action": "s3:PutObject",
                            "Resource": objects,
                        },
                        {
                            "Sid": "LogDeliveryServiceDelivers",
                            "Effect": "Allow",
                            "Principal": {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"},
                            "Action": "s3:PutObject",
                            "Resource": objects,
                        },
                        {
                            "Sid": "DenyInsecureTransport",
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "s3:*",
                            "Resource": [self.bucket.arn, f"{self.bucket.arn}/*"],
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        },
                    ],
                }
            ),
        )
