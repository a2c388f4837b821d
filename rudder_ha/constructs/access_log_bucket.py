"""An S3 bucket that receives the ALB's access logs."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_elb_service_account import DataAwsElbServiceAccount
from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from constructs import Construct

from rudder_ha.constructs.private_bucket import PrivateBucketProps, add_private_bucket
from rudder_ha.specs import access_log_bucket as spec


@dataclass(frozen=True)
class AccessLogBucketProps:
    """Props of :class:`AccessLogBucket`."""

    name_prefix: str
    retention_days: int
    log_prefix: str = spec.DEFAULT_LOG_PREFIX
    force_destroy: bool = False


class AccessLogBucket(Construct):
    """Private, versioned, encrypted (SSE-S3: the only encryption ALB log delivery supports), TLS-only,
    expiring after the retention period, with the delivery policy Elastic Load Balancing needs
    (both the regional ELB account of older regions and the log-delivery service principal)."""

    def __init__(self, scope: Construct, id_: str, props: AccessLogBucketProps) -> None:
        super().__init__(scope, id_)
        account = DataAwsCallerIdentity(self, "account")
        elb_account = DataAwsElbServiceAccount(self, "elb_account")
        self.log_prefix = props.log_prefix

        def delivery(bucket: S3Bucket) -> list[dict]:
            return spec.delivery_statements(bucket.arn, props.log_prefix, account.account_id, elb_account.arn)

        self.bucket = add_private_bucket(
            self,
            PrivateBucketProps(
                bucket_prefix=spec.bucket_prefix(props.name_prefix),
                lifecycle_rule_id=spec.LIFECYCLE_RULE_ID,
                noncurrent_days=spec.NONCURRENT_DAYS,
                expiration_days=props.retention_days,
                force_destroy=props.force_destroy,
            ),
            delivery,
        )
